import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newObjectId, newRaftId, rfc3339Nano } from '../../../shared/ids.js';

function fixed(fill: number): (n: number) => Uint8Array {
  return (n) => new Uint8Array(n).fill(fill);
}

test('newObjectId: 25 base-36 characters, zero-padded, random', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const id = newObjectId();
    assert.match(id, /^[0-9a-z]{25}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 200, 'no collisions');
  assert.equal(newObjectId(fixed(0)), '0'.repeat(25));
  // The largest 128-bit value still fits in 25 characters (nothing is cut off).
  assert.equal(newObjectId(fixed(0xff)), (2n ** 128n - 1n).toString(36));
  assert.equal(newObjectId(fixed(0xff)).length, 25);
  // Uses 16 bytes: a different last byte gives a different id.
  const last = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    b[n - 1] = 1;
    return b;
  };
  assert.equal(newObjectId(last), `${'0'.repeat(24)}1`);
});

test('newRaftId: 48 random bits, never 0 (0 means "none" in Raft)', () => {
  assert.equal(newRaftId(fixed(0)), 1);
  assert.equal(newRaftId(fixed(0xff)), 2 ** 48 - 1);
  assert.ok(Number.isSafeInteger(newRaftId(fixed(0xff))));
  assert.equal(newRaftId(() => Uint8Array.from([0, 0, 0, 0, 1, 2])), 258);
  for (let i = 0; i < 100; i++) {
    const id = newRaftId();
    assert.ok(Number.isSafeInteger(id) && id > 0 && id < 2 ** 48, String(id));
  }
});

test('rfc3339Nano: nine fractional digits, UTC', () => {
  assert.equal(rfc3339Nano(0), '1970-01-01T00:00:00.000000000Z');
  assert.equal(rfc3339Nano(Date.UTC(2024, 1, 29, 13, 5, 7, 123)), '2024-02-29T13:05:07.123000000Z');
  const back = Date.parse(rfc3339Nano(1_700_000_000_456));
  assert.equal(back, 1_700_000_000_456);
});
