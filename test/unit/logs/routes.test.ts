// GET /services/{id}/logs and /tasks/{id}/logs on the HTTP API, against a backend serving scripted events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEvent, LogsQuery, LogTarget } from '../../../manager/logs/types.js';
import { NotFoundError } from '../../../shared/errors.js';
import { MuxDecoder } from '../../../cli/logs/mux.js';
import { FakeBackend } from '../api/fake-backend.js';
import { harness, messageOf } from '../api/helpers.js';

class LogsBackend extends FakeBackend {
  readonly asked: Array<{ target: LogTarget; query: LogsQuery }> = [];
  events: LogEvent[] = [];

  async logs(target: LogTarget, query: LogsQuery): Promise<AsyncIterable<LogEvent>> {
    this.asked.push({ target, query });
    if (target.ref === 'nope') throw new NotFoundError(`${target.kind} nope not found`);
    const events = this.events;
    return (async function* () {
      yield* events;
    })();
  }
}

const line = (stream: 'stdout' | 'stderr', text: string): LogEvent => ({
  kind: 'line',
  taskId: 't1',
  serviceId: 's1',
  nodeId: 'n1',
  stream,
  time: '2024-05-01T12:00:00Z',
  line: Buffer.from(text),
});

function frames(body: Buffer): string[] {
  return new MuxDecoder().push(body).map((f) => `${f.stream}:${f.payload.toString()}`);
}

describe('logs routes', () => {
  it('stream every line as a multiplexed frame, with Docker’s headers and details', async () => {
    const backend = new LogsBackend();
    backend.events = [line('stdout', 'out\n'), line('stderr', 'err\n')];
    const { server } = harness({ backend });
    const res = await server.inject({ method: 'GET', url: '/v1.47/services/web/logs?stdout=1&stderr=1&details=1&tail=5&since=1714564800.5&follow=0' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    assert.ok(res.headers['api-version'], 'the usual API headers');
    assert.deepEqual(frames(res.rawPayload), [
      'stdout:com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 out\n',
      'stderr:com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 err\n',
    ]);
    assert.deepEqual(backend.asked[0], {
      target: { kind: 'service', ref: 'web' },
      query: { follow: false, stdout: true, stderr: true, tail: 5, sinceMs: 1714564800500 },
    });
    await server.close();
  });

  it('task logs; older API versions get raw-stream as their content type', async () => {
    const backend = new LogsBackend();
    backend.events = [line('stdout', 'x\n'), { kind: 'warning', message: 'node w2 is not available' }];
    const { server } = harness({ backend });
    const res = await server.inject({ method: 'GET', url: '/v1.41/tasks/t1/logs?stdout=true&timestamps=1' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.docker.raw-stream');
    assert.deepEqual(frames(res.rawPayload), [
      'stdout:2024-05-01T12:00:00.000000000Z x\n',
      'error:Error grabbing logs: warning: incomplete log stream. some logs could not be retrieved for the following reasons: node w2 is not available\n',
    ]);
    assert.equal(backend.asked[0]!.target.kind, 'task');
    await server.close();
  });

  it('refusals are ordinary error answers: no stream chosen, bad tail or since, unknown target', async () => {
    const backend = new LogsBackend();
    const { server } = harness({ backend });
    const noStream = await server.inject({ method: 'GET', url: '/services/web/logs' });
    assert.equal(noStream.statusCode, 400);
    assert.equal(messageOf(noStream), 'Bad parameters: you must choose at least one stream');
    const tail = await server.inject({ method: 'GET', url: '/services/web/logs?stdout=1&tail=-2' });
    assert.equal(tail.statusCode, 400);
    assert.equal(messageOf(tail), 'negative tail values not supported');
    const since = await server.inject({ method: 'GET', url: '/services/web/logs?stdout=1&since=10m' });
    assert.equal(since.statusCode, 400);
    const missing = await server.inject({ method: 'GET', url: '/tasks/nope/logs?stdout=1' });
    assert.equal(missing.statusCode, 404);
    assert.equal(messageOf(missing), 'task nope not found');
    assert.equal(missing.headers['content-type'], 'application/json');
    await server.close();
  });

  it('a backend without logs answers 501', async () => {
    const { server } = harness();
    const res = await server.inject({ method: 'GET', url: '/services/web/logs?stdout=1' });
    assert.equal(res.statusCode, 501);
    assert.equal(messageOf(res), 'this daemon cannot serve logs');
    await server.close();
  });
});
