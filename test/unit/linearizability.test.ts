import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../shared/random.js';
import { checkKv, checkOperations, type KvInput, type Model, type Operation } from '../sim/linearizability.js';

// ---------------------------------------------------------------------------------
// Helpers

let nextId = 0;
function put(clientId: number, key: string, value: string, call: number, ret?: number): Operation {
  const op: Operation = { clientId, input: { kind: 'put', key, value }, call, id: nextId++ };
  if (ret !== undefined) {
    op.ret = ret;
    op.output = { kind: 'put' };
  }
  return op;
}
function get(clientId: number, key: string, value: string | undefined, call: number, ret?: number): Operation {
  const op: Operation = { clientId, input: { kind: 'get', key }, call, id: nextId++ };
  if (ret !== undefined) {
    op.ret = ret;
    op.output = { kind: 'get', value };
  }
  return op;
}

function assertOk(ops: Operation[]): void {
  const r = checkKv(ops);
  assert.equal(r.timedOut, undefined, 'unexpected timeout');
  assert.equal(r.ok, true, r.explanation);
}
function assertViolation(ops: Operation[], key: string): string {
  const r = checkKv(ops);
  assert.equal(r.timedOut, undefined, 'unexpected timeout');
  assert.equal(r.ok, false, 'expected a linearizability violation');
  assert.ok(r.explanation !== undefined);
  assert.ok(r.explanation.includes(`key ${JSON.stringify(key)}`), r.explanation);
  return r.explanation;
}

/**
 * A random history of an atomic KV store: every op gets a linearization point inside its
 * [call, ret] interval and the outputs come from applying the ops in that order. Integer
 * times make equal timestamps common. Some ops never return: those took effect at some
 * later point, or never; their client gives up at call + maxDur and moves on.
 */
function genHistory(
  rng: SeededRandom,
  opts: { ops: number; clients: number; keys: string[]; pendingProb?: number; maxGap?: number; maxDur?: number },
): Operation[] {
  const maxGap = opts.maxGap ?? 4;
  const maxDur = opts.maxDur ?? 10;
  const cursor = Array.from({ length: opts.clients }, () => rng.int(3));
  const ops: Operation[] = [];
  const lin: Array<{ at: number; op: Operation }> = [];
  for (let i = 0; i < opts.ops; i++) {
    const c = rng.int(opts.clients);
    const call = cursor[c]! + rng.int(maxGap);
    const dur = rng.int(maxDur + 1);
    const key = rng.pick(opts.keys);
    const input: KvInput = rng.chance(0.5) ? { kind: 'put', key, value: `v${i}` } : { kind: 'get', key };
    const op: Operation = { clientId: c, input, call, id: i };
    ops.push(op);
    if (rng.chance(opts.pendingProb ?? 0)) {
      cursor[c] = call + maxDur; // timed out
      if (rng.chance(0.5)) lin.push({ at: call + rng.next() * maxDur * 3, op });
    } else {
      op.ret = call + dur;
      cursor[c] = op.ret;
      lin.push({ at: call + rng.next() * dur, op });
    }
  }
  lin.sort((a, b) => a.at - b.at || (a.op.id ?? 0) - (b.op.id ?? 0));
  const store = new Map<string, string>();
  for (const { op } of lin) {
    if (op.input.kind === 'put') {
      store.set(op.input.key, op.input.value);
      if (op.ret !== undefined) op.output = { kind: 'put' };
    } else if (op.ret !== undefined) {
      op.output = { kind: 'get', value: store.get(op.input.key) };
    }
  }
  return ops;
}

/** Linearizability straight from the definition, by exhaustive search (tiny histories only). */
function bruteForce(all: Operation[]): boolean {
  const ops = all.filter((o) => !(o.input.kind === 'get' && o.ret === undefined));
  const completed = (o: Operation): boolean => o.ret !== undefined;
  const nCompleted = ops.filter(completed).length;
  const used = ops.map(() => false);
  const store = new Map<string, string>();
  const rec = (done: number): boolean => {
    if (done === nCompleted) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      // o can be next only if no unplaced completed op returned strictly before o's call.
      if (ops.some((p, j) => !used[j] && p.ret !== undefined && p.ret < o.call)) continue;
      const before = store.get(o.input.key);
      if (o.input.kind === 'get') {
        if (o.output?.kind === 'get' && o.output.value !== before) continue;
      } else {
        store.set(o.input.key, o.input.value);
      }
      used[i] = true;
      if (rec(done + (completed(o) ? 1 : 0))) return true;
      used[i] = false;
      if (before === undefined) store.delete(o.input.key);
      else store.set(o.input.key, before);
    }
    return false;
  };
  return rec(0);
}

// ---------------------------------------------------------------------------------
// Basic behaviour

test('empty and sequential histories are linearizable', () => {
  assertOk([]);
  assertOk([
    get(0, 'x', undefined, 0, 1),
    put(0, 'x', '1', 2, 3),
    get(1, 'x', '1', 4, 5),
    put(1, 'x', '2', 6, 7),
    get(0, 'x', '2', 8, 9),
  ]);
});

test('a get overlapping a put may see either value', () => {
  for (const seen of [undefined, '1']) {
    assertOk([put(0, 'x', '1', 0, 10), get(1, 'x', seen, 5, 15)]);
  }
  // Old value first, then new value, both concurrent with the put.
  assertOk([put(0, 'x', '1', 0, 100), get(1, 'x', undefined, 10, 20), get(2, 'x', '1', 30, 40)]);
});

test('stale read after a completed put is a violation, explained with the key', () => {
  const explanation = assertViolation([put(0, 'x', '1', 0, 10), get(1, 'x', undefined, 20, 30)], 'x');
  assert.match(explanation, /get\(x\) -> undefined/);
  assert.match(explanation, /Last linearizable partial order/);
  // Reading the older of two values, after the newer put completed.
  assertViolation([put(0, 'x', '1', 0, 10), put(0, 'x', '2', 20, 30), get(1, 'x', '1', 40, 50)], 'x');
});

test('the explanation points at the op whose return first makes the history non-linearizable', () => {
  // Two impossible reads: the stale one returns at 30, the bogus one only at 100. While the
  // bogus read is still running its output is unknown, so the smallest failing prefix ends
  // at t=30 with the stale read.
  const explanation = assertViolation(
    [put(0, 'x', '1', 0, 10), get(1, 'x', 'zzz', 5, 100), get(2, 'x', undefined, 20, 30)],
    'x',
  );
  assert.match(explanation, /becomes non-linearizable when these return at t=30:\n {2}! #\d+ client 2 get\(x\) -> undefined \[20, 30\]\n/);
  assert.match(explanation, /client 1 get\(x\) -> \? \[5, 100\] \(still running then\)/);
  assert.match(explanation, /prefix at t=10 \(1 op\(s\)/);
});

test('reading a value that was never written is a violation', () => {
  assertViolation([put(0, 'x', '1', 0, 10), get(1, 'x', '7', 5, 15)], 'x');
  assertViolation([get(1, 'x', '7', 5, 15)], 'x');
});

test('two gets ordered in real time cannot see new then old', () => {
  const ops = [put(0, 'x', '1', 0, 100), get(1, 'x', '1', 10, 20), get(2, 'x', undefined, 30, 40)];
  const explanation = assertViolation(ops, 'x');
  // The smallest failing prefix ends when the second get returns; the first get is in the
  // last linearizable order.
  assert.match(explanation, /! #\d+ client 2 get\(x\) -> undefined \[30, 40\]/);
  assert.match(explanation, /1\. #\d+ client 0 put\(x, "1"\)/);
  assert.match(explanation, /2\. #\d+ client 1 get\(x\) -> "1"/);
  // If the two gets overlap, get2 may take effect before the put and get1 after it.
  assertOk([put(0, 'x', '1', 0, 100), get(1, 'x', '1', 10, 35), get(2, 'x', undefined, 30, 40)]);
});

test('equal timestamps count as concurrent (calls sort before returns)', () => {
  // put returns at 10 and the get is called at 10: concurrent, so the get may precede the put.
  assertOk([put(0, 'x', '1', 0, 10), get(1, 'x', undefined, 10, 20)]);
  // One tick later they are ordered, and the stale read is caught.
  assertViolation([put(0, 'x', '1', 0, 10), get(1, 'x', undefined, 11, 20)], 'x');
  // Zero-length ops are fine.
  assertOk([put(0, 'x', '1', 5, 5), get(1, 'x', '1', 5, 5)]);
});

// ---------------------------------------------------------------------------------
// Pending operations

test('a pending put whose value is observed later is linearizable', () => {
  assertOk([put(0, 'x', '1', 0), get(1, 'x', undefined, 5, 10), get(1, 'x', '1', 1000, 1001)]);
});

test('a pending put whose value is never observed is linearizable', () => {
  assertOk([put(0, 'x', '1', 0), get(1, 'x', undefined, 5, 10), get(1, 'x', undefined, 1000, 1001)]);
  // ... even when it is pending while a later completed put overwrites it.
  assertOk([put(0, 'x', '1', 0), put(1, 'x', '2', 50, 60), get(1, 'x', '2', 1000, 1001)]);
});

test('a pending put cannot take effect before its call, nor be observed and then un-observed', () => {
  assertViolation([get(1, 'x', '1', 0, 10), put(0, 'x', '1', 20)], 'x');
  assertViolation(
    [put(0, 'x', '1', 0), get(1, 'x', '1', 10, 20), get(1, 'x', undefined, 30, 40)],
    'x',
  );
});

test('a pending get gives no information and is dropped', () => {
  assertOk([put(0, 'x', '1', 0, 10), { clientId: 1, input: { kind: 'get', key: 'x' }, call: 20 }]);
  // A pending put's output may be missing too.
  assertOk([{ clientId: 0, input: { kind: 'put', key: 'x', value: '1' }, call: 0 }, get(1, 'x', '1', 5, 6)]);
});

// ---------------------------------------------------------------------------------
// Partitioning

test('a violation on one key among many is found and named', () => {
  const rng = new SeededRandom(7);
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  const ops = genHistory(rng, { ops: 400, clients: 5, keys });
  assertOk(ops);
  // Append a stale read on k13 well after everything else: it must see k13's final value.
  const end = Math.max(...ops.map((o) => o.ret ?? o.call)) + 10;
  ops.push(put(9, 'k13', 'fresh', end, end + 1));
  ops.push(get(9, 'k13', undefined, end + 2, end + 3));
  const explanation = assertViolation(ops, 'k13');
  assert.ok(!explanation.includes('key "k12"'), explanation);
});

test('keys are independent: a value written to another key does not satisfy a read', () => {
  assertViolation([put(0, 'y', '1', 0, 10), get(1, 'x', '1', 20, 30)], 'x');
});

// ---------------------------------------------------------------------------------
// Randomized

test('random atomic-register histories are linearizable; an impossible read is caught', () => {
  let futureMutations = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const rng = new SeededRandom(seed);
    const ops = genHistory(rng, { ops: 50, clients: 1 + rng.int(5), keys: ['a', 'b', 'c'].slice(0, 1 + rng.int(3)), pendingProb: 0.1 });
    const r = checkKv(ops);
    assert.equal(r.timedOut, undefined, `seed ${seed}: timed out`);
    assert.equal(r.ok, true, `seed ${seed}: ${r.explanation}`);

    const gets = ops.filter((o) => o.input.kind === 'get' && o.ret !== undefined);
    if (gets.length === 0) continue;
    const victim = rng.pick(gets);
    const original = victim.output;

    // 1. A value nobody ever wrote.
    victim.output = { kind: 'get', value: 'never-written' };
    const bad = checkKv(ops);
    assert.equal(bad.ok, false, `seed ${seed}: mutated read accepted`);
    assert.equal(bad.timedOut, undefined);
    assert.ok(bad.explanation?.includes(`key ${JSON.stringify(victim.input.key)}`), bad.explanation);

    // 2. A value written only by a put (values are unique) called after the get returned.
    const future = ops.find(
      (o) => o.input.kind === 'put' && o.input.key === victim.input.key && o.call > victim.ret!,
    );
    if (future !== undefined && future.input.kind === 'put') {
      futureMutations++;
      victim.output = { kind: 'get', value: future.input.value };
      assert.equal(checkKv(ops).ok, false, `seed ${seed}: read from the future accepted`);
    }
    victim.output = original;
    assert.equal(checkKv(ops).ok, true, `seed ${seed}: restored history rejected`);
  }
  assert.ok(futureMutations > 50, `only ${futureMutations} future-read mutations were exercised`);
});

test('agrees with a brute-force search on small random histories (random outputs)', () => {
  const rng = new SeededRandom(12345);
  let yes = 0;
  let no = 0;
  for (let trial = 0; trial < 3000; trial++) {
    const n = 1 + rng.int(7);
    const keys = ['x', 'y'].slice(0, 1 + rng.int(2));
    const ops: Operation[] = [];
    for (let i = 0; i < n; i++) {
      const call = rng.int(8);
      const key = rng.pick(keys);
      const pending = rng.chance(0.2);
      const ret = pending ? undefined : call + rng.int(5);
      ops.push(
        rng.chance(0.5)
          ? put(rng.int(3), key, String(rng.int(3)), call, ret)
          : get(rng.int(3), key, rng.chance(0.3) ? undefined : String(rng.int(3)), call, ret),
      );
    }
    const expected = bruteForce(ops);
    const r = checkKv(ops);
    assert.equal(r.timedOut, undefined);
    assert.equal(r.ok, expected, `trial ${trial}: ${JSON.stringify(ops)}\n${r.explanation ?? ''}`);
    if (expected) yes++;
    else no++;
  }
  assert.ok(yes > 300 && no > 300, `unbalanced sample: ${yes} linearizable, ${no} not`);
});

// ---------------------------------------------------------------------------------
// Performance and timeouts

test('2,000 ops over 10 keys with 5 clients check without timing out', () => {
  const rng = new SeededRandom(2024);
  const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
  const ops = genHistory(rng, { ops: 2000, clients: 5, keys, pendingProb: 0.05 });
  const r = checkKv(ops);
  assert.equal(r.timedOut, undefined);
  assert.equal(r.ok, true, r.explanation);
  // And a violation in a history this size is still found (and explained) in time.
  const last = Math.max(...ops.map((o) => o.ret ?? o.call));
  ops.push(put(0, 'key-3', 'late', last + 10, last + 11), get(1, 'key-3', 'v-not-written', last + 20, last + 21));
  const bad = checkKv(ops);
  assert.equal(bad.ok, false);
  assert.equal(bad.timedOut, undefined);
  assert.match(bad.explanation ?? '', /key "key-3"/);
});

test('a search that runs out of time reports timedOut, not ok', () => {
  // 40 fully concurrent puts and a concurrent read of a value nobody wrote: proving that
  // takes a search over all subsets of the puts.
  const ops: Operation[] = [];
  for (let i = 0; i < 40; i++) ops.push(put(i, 'x', `v${i}`, 0, 100));
  ops.push(get(99, 'x', 'nope', 0, 100));
  const r = checkKv(ops, { timeoutMs: 50 });
  assert.equal(r.timedOut, true);
  assert.equal(r.ok, false);
});

// ---------------------------------------------------------------------------------
// Generic engine

test('checkOperations works with a custom model (a counter, no partitioning)', () => {
  type CIn = { kind: 'inc' } | { kind: 'read' };
  const counter: Model<number, CIn, number> = {
    init: () => 0,
    step: (s, input, output) =>
      input.kind === 'inc' ? { ok: true, state: s + 1 } : { ok: output === undefined || output === s, state: s },
    equal: (a, b) => a === b,
    hash: (s) => String(s),
  };
  const inc = (call: number, ret?: number) => (ret === undefined ? { input: { kind: 'inc' as const }, call } : { input: { kind: 'inc' as const }, call, ret });
  const read = (v: number, call: number, ret: number) => ({ input: { kind: 'read' as const }, output: v, call, ret });
  assert.equal(checkOperations(counter, [inc(0, 10), inc(0, 10), read(1, 5, 15), read(2, 20, 30)]).ok, true);
  assert.equal(checkOperations(counter, [inc(0, 10), inc(0, 10), read(1, 20, 30)]).ok, false);
  // A pending inc may count or not.
  assert.equal(checkOperations(counter, [inc(0), read(0, 5, 6), read(1, 7, 8)]).ok, true);
  assert.equal(checkOperations(counter, [inc(0), read(0, 5, 6), read(2, 7, 8)]).ok, false);
  assert.throws(() => checkOperations(counter, [{ input: { kind: 'inc' }, call: 10, ret: 5 }]), RangeError);
});
