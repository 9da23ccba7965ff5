// The node's side of /shoal/logs/1, over an in-process stream pair with a scripted executor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../shared/logger.js';
import type { MessageStream } from '../../../shared/p2p/host.js';
import { type LogsFrame, type LogsRequest, parseLogsFrame, PROTOCOL_LOGS } from '../../../shared/protocol/logs.js';
import { serveLogStream } from '../../../worker/agent/log-server.js';
import { localStreamPair } from '../../../worker/agent/local-stream.js';
import type { LogEntry, LogOptions } from '../../../worker/executor/executor.js';
import { FakeExecutor, settle, task } from '../agent/fixtures.js';

const log = createLogger({ level: 'silent' });
const at = (s: number): string => new Date(Date.UTC(2024, 4, 1, 12, 0, s)).toISOString();

function request(over: Partial<LogsRequest> = {}): LogsRequest {
  return { type: 'request', taskIds: ['a', 'b'], follow: false, stdout: true, stderr: true, ...over };
}

/** Serve one stream; returns the manager's end and the server's completion. */
function serve(x: FakeExecutor, highWater = 256): { m: MessageStream; served: Promise<void> } {
  const [m, node] = localStreamPair('node', 'manager', { protocol: PROTOCOL_LOGS, highWater });
  return { m, served: serveLogStream(node, x, { logger: log, batchDelayMs: 1 }) };
}

async function readAll(m: MessageStream): Promise<LogsFrame[]> {
  const frames: LogsFrame[] = [];
  for (;;) {
    const r = await m.read();
    if (r.done) return frames;
    const f = parseLogsFrame(r.value);
    frames.push(f);
    if (f.type === 'end') return frames;
  }
}

const lines = (frames: readonly LogsFrame[]): string[] =>
  frames.flatMap((f) => (f.type === 'entries' ? f.entries.map((e) => `${e.taskId}/${e.stream}:${Buffer.from(e.line).toString().trimEnd()}`) : []));

function started(...ids: string[]): FakeExecutor {
  const x = new FakeExecutor();
  for (const id of ids) void x.start(task(id));
  return x;
}

describe('log server', () => {
  it('merges the tasks by time, filters streams, and ends with an end frame', async () => {
    const x = started('a', 'b');
    x.write('a', 'stdout', 'a1\n', at(1));
    x.write('b', 'stdout', 'b2\n', at(2));
    x.write('a', 'stderr', 'a3\n', at(3));
    x.write('b', 'stdout', 'b4\n', at(4));
    let { m, served } = serve(x);
    m.send(request());
    let frames = await readAll(m);
    await served;
    assert.deepEqual(lines(frames), ['a/1:a1', 'b/1:b2', 'a/2:a3', 'b/1:b4']);
    assert.equal(frames.at(-1)!.type, 'end');

    ({ m, served } = serve(x));
    m.send(request({ stderr: false, tail: 1 }));
    frames = await readAll(m);
    await served;
    assert.deepEqual(lines(frames), ['b/1:b4'], 'tail per task, then stdout only: a’s last line was stderr');
  });

  it('following: sends new lines as they are written, and stops when the manager closes its end', async () => {
    const x = started('a');
    x.write('a', 'stdout', 'old\n', at(1));
    const { m, served } = serve(x);
    m.send(request({ taskIds: ['a'], follow: true }));
    const first = parseLogsFrame((await m.read()).value);
    assert.deepEqual(lines([first]), ['a/1:old']);
    x.write('a', 'stdout', 'new\n', at(2));
    const second = parseLogsFrame((await m.read()).value);
    assert.deepEqual(lines([second]), ['a/1:new']);
    await m.close();
    await served;
    x.write('a', 'stdout', 'after\n', at(3));
    await settle();
  });

  it('following ends with the end frame once every task has exited', async () => {
    const x = started('a', 'b');
    const { m, served } = serve(x);
    m.send(request({ follow: true }));
    await settle();
    x.write('b', 'stdout', 'bye\n', at(1));
    x.exit('a', 0);
    x.exit('b', 0);
    const frames = await readAll(m);
    await served;
    assert.deepEqual(lines(frames), ['b/1:bye']);
    assert.equal(frames.at(-1)!.type, 'end');
  });

  it('a task whose output fails is an error frame for that task; the others go on', async () => {
    class Failing extends FakeExecutor {
      override async *logs(taskId: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogEntry> {
        if (taskId === 'b') throw new Error('log file is gone');
        yield* super.logs(taskId, opts, signal);
      }
    }
    const x = new Failing();
    void x.start(task('a'));
    x.write('a', 'stdout', 'fine\n', at(1));
    const { m, served } = serve(x);
    m.send(request());
    const frames = await readAll(m);
    await served;
    assert.deepEqual(lines(frames), ['a/1:fine']);
    assert.deepEqual(frames.find((f) => f.type === 'error'), { type: 'error', taskId: 'b', message: 'log file is gone' });
    assert.equal(frames.at(-1)!.type, 'end');
  });

  it('a bad request is answered with an error frame, then the stream closes', async () => {
    const { m, served } = serve(new FakeExecutor());
    m.send({ type: 'request', taskIds: 'all' });
    const frames = await readAll(m);
    await served;
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.type, 'error');
    assert.match((frames[0] as { message: string }).message, /bad logs request: logs request.taskIds must be a list/);
  });

  it('reads the executor no faster than the manager drains the stream', async () => {
    let produced = 0;
    class Endless extends FakeExecutor {
      override async *logs(): AsyncIterable<LogEntry> {
        for (let i = 0; i < 1_000_000; i++) {
          produced++;
          yield { stream: 'stdout', time: at(0), line: Buffer.from(`line ${i} ${'x'.repeat(80)}\n`) };
        }
      }
    }
    const { m, served } = serve(new Endless(), 2);
    m.send(request({ taskIds: ['a'] }));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    const stalled = produced;
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.equal(produced, stalled, 'nothing more is read while the manager reads nothing');
    assert.ok(produced < 100_000, `read ${produced} lines ahead`);
    m.abort(new Error('manager gone'));
    await served;
  });
});
