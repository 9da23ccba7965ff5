import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../shared/random.js';

function sample(seed: number, n = 100): number[] {
  const r = new SeededRandom(seed);
  return Array.from({ length: n }, () => r.next());
}

test('SeededRandom: the same seed gives the same sequence', () => {
  assert.deepEqual(sample(42), sample(42));
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  for (let i = 0; i < 100; i++) {
    assert.equal(a.int(1000), b.int(1000));
    assert.equal(a.chance(0.3), b.chance(0.3));
    assert.equal(a.pick(['x', 'y', 'z']), b.pick(['x', 'y', 'z']));
  }
});

test('SeededRandom: different seeds give different sequences', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 50; seed++) seen.add(sample(seed, 8).join(','));
  assert.equal(seen.size, 50);
});

test('SeededRandom: next() stays in [0, 1)', () => {
  for (const x of sample(3, 10_000)) assert.ok(x >= 0 && x < 1, `out of range: ${x}`);
});

test('SeededRandom: int(n) stays in [0, n) and reaches every value', () => {
  const r = new SeededRandom(11);
  for (const n of [1, 2, 3, 10, 97]) {
    const hits = new Set<number>();
    for (let i = 0; i < n * 200; i++) {
      const v = r.int(n);
      assert.ok(Number.isInteger(v) && v >= 0 && v < n, `int(${n}) gave ${v}`);
      hits.add(v);
    }
    assert.equal(hits.size, n, `int(${n}) should reach all ${n} values`);
  }
});

test('SeededRandom: int rejects bounds that are not positive integers', () => {
  const r = new SeededRandom(1);
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => r.int(bad), RangeError);
});

test('SeededRandom: chance follows its probability at the extremes', () => {
  const r = new SeededRandom(5);
  for (let i = 0; i < 1000; i++) {
    assert.equal(r.chance(0), false);
    assert.equal(r.chance(1), true);
  }
});

test('SeededRandom: pick rejects an empty array', () => {
  assert.throws(() => new SeededRandom(1).pick([]), RangeError);
});
