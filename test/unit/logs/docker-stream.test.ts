// What the logs endpoints send: Docker's multiplexed frames, details and timestamps as dockerd writes them, and the query they accept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detailsOf, dockerLogFrames, muxFrame, queryEscape, renderLine, STDERR, SYSTEMERR } from '../../../manager/logs/docker-stream.js';
import { NO_STREAM_MESSAGE, parseLogsHttpQuery, parseTail, parseTimestampMs } from '../../../manager/logs/http-query.js';
import type { LogEvent, LogLine } from '../../../manager/logs/types.js';

const line = (over: Partial<LogLine> = {}): LogLine => ({
  kind: 'line',
  taskId: 'task1',
  serviceId: 'svc1',
  nodeId: 'node1',
  stream: 'stdout',
  time: '2024-05-01T12:00:00.5Z',
  line: Buffer.from('hello world\n'),
  ...over,
});

async function* events(list: readonly LogEvent[]): AsyncGenerator<LogEvent> {
  yield* list;
}

describe('docker log stream', () => {
  it('a frame is the 8-byte header (type, 0, 0, 0, big-endian size) and the payload', () => {
    const f = muxFrame(STDERR, Buffer.from('abc'));
    assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 3]);
    assert.equal(f.subarray(8).toString(), 'abc');
  });

  it("query escaping is Go's url.QueryEscape", () => {
    assert.equal(queryEscape('a b+c/d=e,f'), 'a+b%2Bc%2Fd%3De%2Cf');
    assert.equal(queryEscape("it's (ok)*!"), 'it%27s+%28ok%29%2A%21');
    assert.equal(queryEscape('com.docker.swarm.node.id'), 'com.docker.swarm.node.id');
  });

  it('details are the swarm context attrs, sorted by key', () => {
    assert.equal(detailsOf(line()), 'com.docker.swarm.node.id=node1,com.docker.swarm.service.id=svc1,com.docker.swarm.task.id=task1');
  });

  it('a line is "[timestamp ][details ]line", timestamps in RFC3339NanoFixed', () => {
    assert.equal(renderLine(line(), { details: false, timestamps: false }).toString(), 'hello world\n');
    assert.equal(renderLine(line(), { details: false, timestamps: true }).toString(), '2024-05-01T12:00:00.500000000Z hello world\n');
    assert.equal(
      renderLine(line(), { details: true, timestamps: true }).toString(),
      '2024-05-01T12:00:00.500000000Z com.docker.swarm.node.id=node1,com.docker.swarm.service.id=svc1,com.docker.swarm.task.id=task1 hello world\n',
    );
  });

  it('one frame per line; warnings become one error frame at the end, after every line', async () => {
    const frames: Buffer[] = [];
    for await (const f of dockerLogFrames(
      events([{ kind: 'warning', message: 'node w2 is not available' }, line(), line({ stream: 'stderr', line: Buffer.from('oops\n') }), { kind: 'warning', message: 'task t9 on node w1: gone' }]),
      { details: false, timestamps: false },
    )) {
      frames.push(f);
    }
    assert.deepEqual(frames.map((f) => f[0]), [1, 2, SYSTEMERR]);
    assert.equal(
      frames[2]!.subarray(8).toString(),
      'Error grabbing logs: warning: incomplete log stream. some logs could not be retrieved for the following reasons: node w2 is not available, task t9 on node w1: gone\n',
    );
  });

  it('a stream that breaks midway ends with its error in an error frame', async () => {
    async function* broken(): AsyncGenerator<LogEvent> {
      yield line();
      throw new Error('store closed');
    }
    const frames: Buffer[] = [];
    for await (const f of dockerLogFrames(broken(), { details: false, timestamps: false })) frames.push(f);
    assert.deepEqual(frames.map((f) => f[0]), [1, SYSTEMERR]);
    assert.match(frames[1]!.toString(), /store closed/);
  });
});

describe('logs query', () => {
  it('needs at least one of stdout and stderr, with dockerd’s message', () => {
    assert.throws(() => parseLogsHttpQuery({}), { message: NO_STREAM_MESSAGE, status: 400 } as object);
    assert.throws(() => parseLogsHttpQuery({ stdout: '0', stderr: 'false' }), { message: NO_STREAM_MESSAGE } as object);
    const p = parseLogsHttpQuery({ stdout: '1', follow: 'true', details: '1', timestamps: 'yes', tail: '2', since: '1714564800.25' });
    assert.deepEqual(p.query, { follow: true, stdout: true, stderr: false, tail: 2, sinceMs: 1714564800250 });
    assert.deepEqual(p.format, { details: true, timestamps: true });
  });

  it('tail: all, empty, or a count', () => {
    assert.equal(parseTail(undefined), undefined);
    assert.equal(parseTail('all'), undefined);
    assert.equal(parseTail('0'), 0);
    assert.equal(parseTail('10'), 10);
    assert.throws(() => parseTail('-1'), /negative tail values not supported/);
    assert.throws(() => parseTail('ten'), /tail value must be a positive integer or "all"/);
  });

  it('since and until: unix seconds with an optional fraction', () => {
    assert.equal(parseTimestampMs('since', ''), undefined);
    assert.equal(parseTimestampMs('since', '0'), 0);
    assert.equal(parseTimestampMs('since', '1714564800'), 1714564800000);
    assert.equal(parseTimestampMs('since', '1714564800.000000001'), 1714564800000.000001);
    assert.equal(parseTimestampMs('since', '1714564800.5'), 1714564800500);
    assert.throws(() => parseTimestampMs('since', '10m'), /could not parse since timestamp: strconv.ParseInt: parsing "10m": invalid syntax/);
    assert.throws(() => parseTimestampMs('until', '1.x'), /could not parse until timestamp/);
  });
});
