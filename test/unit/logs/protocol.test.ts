// The logs protocol's messages, times, and the ways sources are combined.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePayload, encodeFrame, FRAME_HEADER_BYTES } from '../../../shared/p2p/framing.js';
import {
  batches,
  entryWireBytes,
  formatLogTime,
  formatLogTimeFixed,
  fanIn,
  LOGS_BATCH_BYTES,
  logTimeNs,
  MAX_LOG_LINE_BYTES,
  MAX_LOGS_FRAME_BYTES,
  MAX_TASKS_PER_LOGS_REQUEST,
  mergeSorted,
  parseLogsFrame,
  parseLogsRequest,
  splitLine,
  type WireLogEntry,
} from '../../../shared/protocol/logs.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

/** What a frame looks like after msgpack and back, as the peer receives it. */
const overTheWire = (v: unknown): unknown => decodePayload(encodeFrame(v).subarray(FRAME_HEADER_BYTES));

describe('logs protocol messages', () => {
  it('a request survives the wire and validation; bad ones are refused with what is wrong', () => {
    const req = { type: 'request', taskIds: ['t1', 't2'], follow: true, tail: 5, sinceMs: 1.5, stdout: true, stderr: false };
    assert.deepEqual(parseLogsRequest(overTheWire(req)), req);
    assert.throws(() => parseLogsRequest({ ...req, tail: -1 }), /tail must be a whole number of at least 0/);
    assert.throws(() => parseLogsRequest({ ...req, tail: 1.5 }), /tail/);
    assert.throws(() => parseLogsRequest({ ...req, taskIds: [''] }), /taskIds\[0\] must be a task ID/);
    assert.throws(() => parseLogsRequest({ ...req, taskIds: new Array(MAX_TASKS_PER_LOGS_REQUEST + 1).fill('t') }), /at most 10000/);
    assert.throws(() => parseLogsRequest({ ...req, follow: 'yes' }), /follow must be true or false/);
    assert.throws(() => parseLogsRequest({ ...req, type: 'entries' }), /type must be "request"/);
    assert.throws(() => parseLogsRequest('hello'), /must be an object/);
  });

  it('frames: entries keep their bytes; errors and end; bad entries are refused', () => {
    const entry: WireLogEntry = { taskId: 't1', stream: 2, time: '2024-05-01T12:00:00.5Z', line: new Uint8Array([0xff, 0x00, 0x0a]) };
    const parsed = parseLogsFrame(overTheWire({ type: 'entries', entries: [entry] }));
    assert.equal(parsed.type, 'entries');
    if (parsed.type !== 'entries') return;
    assert.equal(parsed.entries[0]!.stream, 2);
    assert.deepEqual([...parsed.entries[0]!.line], [0xff, 0x00, 0x0a], 'binary lines arrive unchanged');
    assert.deepEqual(parseLogsFrame({ type: 'error', taskId: 't1', message: 'gone' }), { type: 'error', taskId: 't1', message: 'gone' });
    assert.deepEqual(parseLogsFrame({ type: 'end' }), { type: 'end' });
    assert.throws(() => parseLogsFrame({ type: 'entries', entries: [{ ...entry, stream: 3 }] }), /stream must be 1 \(stdout\) or 2 \(stderr\)/);
    assert.throws(() => parseLogsFrame({ type: 'entries', entries: [{ ...entry, time: 'yesterday' }] }), /RFC 3339/);
    assert.throws(() => parseLogsFrame({ type: 'entries', entries: [{ ...entry, line: 'text' }] }), /line must be bytes/);
    assert.throws(() => parseLogsFrame({ type: 'entries', entries: [{ ...entry, line: new Uint8Array(MAX_LOG_LINE_BYTES + 1) }] }), /line must be bytes/);
    assert.throws(() => parseLogsFrame({ type: 'nope' }), /entries, error or end/);
  });

  it('a full batch of maximal lines fits in one frame', () => {
    const line = new Uint8Array(MAX_LOG_LINE_BYTES);
    const e: WireLogEntry = { taskId: 'x'.repeat(25), stream: 1, time: '2024-05-01T12:00:00.123456789Z', line };
    const n = Math.floor(LOGS_BATCH_BYTES / entryWireBytes(e));
    const frame = encodeFrame({ type: 'entries', entries: new Array<WireLogEntry>(n).fill(e) });
    assert.ok(frame.byteLength - FRAME_HEADER_BYTES <= MAX_LOGS_FRAME_BYTES, `${frame.byteLength} bytes`);
  });

  it('splitLine cuts only lines over the bound', () => {
    assert.equal(splitLine(new Uint8Array(10), 10).length, 1);
    const parts = splitLine(new Uint8Array(25), 10);
    assert.deepEqual(parts.map((p) => p.byteLength), [10, 10, 5]);
  });
});

describe('log times', () => {
  it('orders RFC 3339 times to the nanosecond, whatever their zone or precision', () => {
    assert.equal(logTimeNs('1970-01-01T00:00:01Z'), 1_000_000_000n);
    assert.equal(logTimeNs('2024-05-01T12:00:00.000000001Z') - logTimeNs('2024-05-01T12:00:00Z'), 1n);
    assert.equal(logTimeNs('2024-05-01T14:00:00.5+02:00'), logTimeNs('2024-05-01T12:00:00.500000000Z'));
    assert.throws(() => logTimeNs('2024-05-01 12:00:00'), /not an RFC 3339 time/);
  });

  it("formats as Docker's RFC3339NanoFixed", () => {
    assert.equal(formatLogTimeFixed(logTimeNs('2024-05-01T12:00:00.5Z')), '2024-05-01T12:00:00.500000000Z');
    assert.equal(formatLogTimeFixed(logTimeNs('2024-05-01T12:00:00Z')), '2024-05-01T12:00:00.000000000Z');
    assert.equal(formatLogTime(Date.UTC(2024, 4, 1, 12), 3), '2024-05-01T12:00:00.000000003Z');
    assert.equal(formatLogTime(1.25), '1970-01-01T00:00:00.001250000Z');
  });
});

describe('combining sources', () => {
  it('mergeSorted interleaves sorted sources into one sorted sequence, the earlier source first on ties', async () => {
    const a = from([1, 4, 4, 9]);
    const b = from([2, 4, 10]);
    const c = from<number>([]);
    const tagged = await collect(mergeSorted([from([1, 4, 4, 9].map((v) => ({ v, s: 'a' }))), from([2, 4, 10].map((v) => ({ v, s: 'b' })))], (x) => BigInt(x.v)));
    assert.deepEqual(tagged.map((x) => `${x.v}${x.s}`), ['1a', '2b', '4a', '4a', '4b', '9a', '10b']);
    assert.deepEqual(await collect(mergeSorted([a, b, c], (x) => BigInt(x))), [1, 2, 4, 4, 4, 9, 10]);
  });

  it('mergeSorted reads each source one item ahead and closes them when the consumer stops', async () => {
    let pulled = 0;
    let closed = 0;
    async function* counting(n: number): AsyncGenerator<number> {
      try {
        for (let i = 0; i < n; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed++;
      }
    }
    for await (const v of mergeSorted([counting(100), counting(100)], (x) => BigInt(x))) {
      if (v === 1) break;
    }
    assert.ok(pulled <= 5, `pulled ${pulled} items to yield 3`);
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, 2, 'both sources closed');
  });

  it('fanIn yields items as they come', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<string> {
      await gate;
      yield 'slow';
    }
    const seen: string[] = [];
    for await (const v of fanIn([slow(), from(['a', 'b'])])) {
      seen.push(v);
      if (v === 'b') release();
    }
    assert.deepEqual(seen, ['a', 'b', 'slow']);
  });

  it('batches groups by weight, never over maxBytes, and sends a lone item after maxDelayMs', async () => {
    const sized = await collect(batches(from([3, 3, 3, 5, 1]), { maxBytes: 6, maxItems: 100, maxDelayMs: 1000, sizeOf: (n) => n }));
    assert.deepEqual(sized, [[3, 3], [3], [5, 1]]);
    assert.deepEqual(await collect(batches(from([1, 1, 1]), { maxBytes: 100, maxItems: 2, maxDelayMs: 1000, sizeOf: () => 1 })), [[1, 1], [1]]);

    let more: () => void = () => undefined;
    const later = new Promise<void>((r) => (more = r));
    async function* trickle(): AsyncGenerator<string> {
      yield 'first';
      await later;
      yield 'second';
    }
    const got: string[][] = [];
    for await (const b of batches(trickle(), { maxBytes: 100, maxItems: 100, maxDelayMs: 5, sizeOf: () => 1 })) {
      got.push(b);
      // The first batch left on its own, while the source still waited.
      if (got.length === 1) more();
    }
    assert.deepEqual(got, [['first'], ['second']]);
  });
});
