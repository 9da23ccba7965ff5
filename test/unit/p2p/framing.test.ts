import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecodeError, FrameTooLargeError } from '../../../shared/p2p/errors.js';
import { decodePayload, encodeFrame, encodeFrameParts, FRAME_HEADER_BYTES, FrameDecoder } from '../../../shared/p2p/framing.js';

const values: unknown[] = [
  { a: 1, b: 'two', c: [3, null, true], d: new Uint8Array([1, 2, 3]) },
  'plain string',
  42,
  [],
  { nested: { deep: { list: Array.from({ length: 100 }, (_, i) => i) } } },
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

test('frames round-trip when every frame arrives in one chunk', () => {
  const d = new FrameDecoder();
  const got = values.flatMap((v) => d.push(encodeFrame(v)).map((f) => f.value));
  assert.deepEqual(got, values);
  assert.equal(d.bufferedBytes, 0);
});

test('frames reassemble from chunks of every size, including byte by byte', () => {
  const stream = concat(values.map((v) => encodeFrame(v)));
  for (const size of [1, 2, 3, 5, 7, 64, stream.byteLength]) {
    const d = new FrameDecoder();
    const got: unknown[] = [];
    for (let o = 0; o < stream.byteLength; o += size) got.push(...d.push(stream.subarray(o, o + size)).map((f) => f.value));
    assert.deepEqual(got, values, `chunk size ${size}`);
    assert.equal(d.bufferedBytes, 0);
  }
});

test('a chunk holding several frames and part of the next yields the complete ones only', () => {
  const [a, b, c] = [encodeFrame('a'), encodeFrame('b'), encodeFrame({ c: 3 })];
  const d = new FrameDecoder();
  const first = concat([a, b, c.subarray(0, 3)]);
  assert.deepEqual(d.push(first).map((f) => f.value), ['a', 'b']);
  assert.equal(d.bufferedBytes, 3);
  assert.deepEqual(d.push(c.subarray(3)).map((f) => f.value), [{ c: 3 }]);
});

test('decoded frames report their payload size', () => {
  const [, payload] = encodeFrameParts({ x: 'y' });
  const [f] = new FrameDecoder().push(encodeFrame({ x: 'y' }));
  assert.equal(f!.bytes, payload.byteLength);
});

test('an oversized frame is refused from its header alone, and the decoder stays failed', () => {
  const d = new FrameDecoder(1024);
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, 0xfffffff0);
  assert.throws(() => d.push(header), (err: unknown) => {
    assert.ok(err instanceof FrameTooLargeError);
    assert.equal(err.code, 'frame_too_large');
    assert.equal(err.status, 413);
    assert.equal(err.frameBytes, 0xfffffff0);
    assert.equal(err.maxBytes, 1024);
    return true;
  });
  assert.equal(d.bufferedBytes, 0, 'nothing of the oversized frame is held');
  assert.throws(() => d.push(encodeFrame('fine')), FrameTooLargeError, 'framing is lost for good');
});

test('a frame exactly at the limit passes; one byte more does not', () => {
  const [, payload] = encodeFrameParts('x'.repeat(100));
  const atLimit = new FrameDecoder(payload.byteLength);
  assert.equal(atLimit.push(encodeFrame('x'.repeat(100)))[0]!.value, 'x'.repeat(100));
  assert.throws(() => new FrameDecoder(payload.byteLength - 1).push(encodeFrame('x'.repeat(100))), FrameTooLargeError);
});

test('encoding refuses a value over the limit instead of sending what the peer would reject', () => {
  assert.throws(() => encodeFrame(new Uint8Array(2000), 1000), FrameTooLargeError);
});

test('garbage payloads and zero-length frames are typed decode errors', () => {
  const garbage = new Uint8Array([0, 0, 0, 3, 0xdc, 0xff, 0xff]); // array16 announcing 65535 items, then nothing
  assert.throws(() => new FrameDecoder().push(garbage), FrameDecodeError);
  const trailing = new Uint8Array([0, 0, 0, 2, 0x01, 0x02]); // two values in one frame
  assert.throws(() => new FrameDecoder().push(trailing), FrameDecodeError);
  assert.throws(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 0])), FrameDecodeError);
  assert.throws(() => decodePayload(new Uint8Array(0)), FrameDecodeError);
});

test('random bytes never crash the decoder with anything but typed errors', () => {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 500; i++) {
    const bytes = new Uint8Array(1 + (rand() % 64)).map(() => rand() & 0xff);
    const d = new FrameDecoder(64);
    try {
      d.push(bytes);
    } catch (err) {
      assert.ok(err instanceof FrameDecodeError || err instanceof FrameTooLargeError, `unexpected ${String(err)}`);
    }
  }
});
