import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cRange } from '../../../manager/raft/storage/crc32c.js';
import { SeededRandom } from '../../../shared/random.js';

/** Bit-at-a-time reference: slow and obviously right. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

test('crc32c matches the published check values', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(crc32c(ascending), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c agrees with a bitwise reference at every length and alignment around the 8-byte stride', () => {
  const rng = new SeededRandom(42);
  const buf = Uint8Array.from({ length: 300 }, () => rng.int(256));
  for (let start = 0; start < 9; start++) {
    for (let length = 0; length <= 70; length++) {
      const slice = buf.subarray(start, start + length);
      assert.equal(crc32cRange(buf, start, start + length), referenceCrc32c(slice), `start ${start} length ${length}`);
      assert.equal(crc32c(slice), referenceCrc32c(slice));
    }
  }
});

test('crc32c continues from a seed as if the inputs were concatenated', () => {
  const rng = new SeededRandom(7);
  const whole = Uint8Array.from({ length: 1000 }, () => rng.int(256));
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    const seed = crc32c(whole.subarray(0, cut));
    assert.equal(crc32c(whole.subarray(cut), seed), crc32c(whole), `cut at ${cut}`);
    assert.equal(crc32cRange(whole, cut, whole.length, seed), crc32c(whole));
  }
});

test('crc32c detects every single-bit flip of a record-sized buffer', () => {
  const rng = new SeededRandom(3);
  const data = Uint8Array.from({ length: 64 }, () => rng.int(256));
  const good = crc32c(data);
  for (let bit = 0; bit < data.length * 8; bit++) {
    data[bit >> 3]! ^= 1 << (bit & 7);
    assert.notEqual(crc32c(data), good, `bit ${bit}`);
    data[bit >> 3]! ^= 1 << (bit & 7);
  }
});
