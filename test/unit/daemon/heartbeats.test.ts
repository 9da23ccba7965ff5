import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeartbeatTracker, planStatusChanges, type NodeLiveness } from '../../../manager/dispatcher/heartbeats.js';

const P = 1000;

test('a node is alive up to exactly 3 missed periods, down just after', () => {
  const t = new HeartbeatTracker();
  t.seen('a', 10_000);
  assert.equal(t.isAlive('a', 10_000, P), true);
  assert.equal(t.isAlive('a', 10_000 + 3 * P, P), true, 'at exactly 3 periods of silence it is still alive');
  assert.equal(t.isAlive('a', 10_000 + 3 * P + 1, P), false, 'past 3 periods it is down');
  // The rule scales with the period the cluster runs with.
  assert.equal(t.isAlive('a', 10_000 + 3 * 5000, 5000), true);
  assert.equal(t.isAlive('a', 10_000 + 3 * 5000 + 1, 5000), false);
  // A heartbeat restarts the count.
  t.seen('a', 20_000);
  assert.equal(t.isAlive('a', 20_000 + 3 * P, P), true);
  assert.equal(t.isAlive('never-seen', 0, P), false);
});

test('the number of missed periods is configurable', () => {
  const t = new HeartbeatTracker(1);
  t.seen('a', 0);
  assert.equal(t.isAlive('a', P, P), true);
  assert.equal(t.isAlive('a', P + 1, P), false);
});

test('forget drops a node; reset gives every listed node a fresh grace period and drops the rest', () => {
  const t = new HeartbeatTracker();
  t.seen('a', 0);
  t.seen('gone', 0);
  t.forget('a');
  assert.equal(t.isAlive('a', 0, P), false);
  t.reset(['a', 'b'], 50_000);
  assert.equal(t.isAlive('a', 50_000 + 3 * P, P), true);
  assert.equal(t.isAlive('b', 50_000 + 3 * P, P), true);
  assert.equal(t.isAlive('b', 50_000 + 3 * P + 1, P), false);
  assert.equal(t.isAlive('gone', 50_000, P), false, 'reset forgets nodes it was not given');
});

function plan(nodes: NodeLiveness[], t: HeartbeatTracker, now: number, self = 'leader'): { down: string[]; ready: string[] } {
  return planStatusChanges(nodes, t, now, P, self);
}

test('planStatusChanges: silent ready nodes go down, heard-from nodes come back', () => {
  const t = new HeartbeatTracker();
  t.seen('w1', 0);
  t.seen('w2', 0);
  t.seen('w3', 0);
  const nodes: NodeLiveness[] = [
    { id: 'leader', state: 'ready' },
    { id: 'w1', state: 'ready' },
    { id: 'w2', state: 'down' },
    { id: 'w3', state: 'ready' },
  ];
  assert.deepEqual(plan(nodes, t, 3 * P), { down: [], ready: ['w2'] }, 'w2 heartbeats again: ready');
  t.seen('w3', 2 * P);
  assert.deepEqual(plan(nodes, t, 3 * P + 1), { down: ['w1'], ready: [] }, 'w1 missed 3 periods; w2 (already down) stays out');
  // Idempotent: once the store says down, nothing more to do.
  assert.deepEqual(plan([{ id: 'w1', state: 'down' }], t, 10 * P), { down: [], ready: [] });
  // Only ready nodes are marked down; other states stay as they are.
  assert.deepEqual(plan([{ id: 'x', state: 'unknown' }], t, 10 * P), { down: [], ready: [] });
});

test('planStatusChanges: the leader itself is never marked down, and is marked ready', () => {
  const t = new HeartbeatTracker();
  assert.deepEqual(plan([{ id: 'leader', state: 'ready' }], t, 1e9), { down: [], ready: [] }, 'never heard from, still alive');
  assert.deepEqual(plan([{ id: 'leader', state: 'down' }], t, 1e9), { down: [], ready: ['leader'] });
  t.seen('leader', 0);
  assert.deepEqual(plan([{ id: 'leader', state: 'ready' }], t, 1e9), { down: [], ready: [] });
});

test('after a leader change, down nodes stay down until they send a heartbeat', () => {
  // A new leader resets the tracker with every node it knows.
  const t = new HeartbeatTracker();
  const nodes: NodeLiveness[] = [
    { id: 'leader', state: 'ready' },
    { id: 'alive', state: 'ready' },
    { id: 'dead', state: 'down' },
  ];
  t.reset(
    nodes.map((n) => n.id),
    1000,
  );
  // The grace period keeps ready nodes ready, but it is not a heartbeat: the dead node must
  // not be reported ready on the strength of it.
  assert.deepEqual(plan(nodes, t, 1200), { down: [], ready: [] });
  assert.deepEqual(plan(nodes, t, 1000 + 3 * P), { down: [], ready: [] });
  t.seen('alive', 1500);
  assert.equal(t.heard('alive'), true);
  assert.equal(t.heard('dead'), false);
  assert.deepEqual(plan(nodes, t, 1000 + 3 * P + 1), { down: [], ready: [] }, 'alive heartbeated; dead is down already');
  // A node that was on grace and never heartbeated goes down after the grace period.
  const graced: NodeLiveness[] = [{ id: 'silent', state: 'ready' }];
  t.reset(['silent'], 0);
  assert.deepEqual(plan(graced, t, 3 * P), { down: [], ready: [] });
  assert.deepEqual(plan(graced, t, 3 * P + 1), { down: ['silent'], ready: [] });
  // And the dead node, once it heartbeats, is ready again.
  t.seen('alive', 9000);
  t.seen('dead', 9000);
  assert.deepEqual(plan(nodes, t, 9100), { down: [], ready: ['dead'] });
});

test('reset clears what was heard before: heard() needs a heartbeat after the reset', () => {
  const t = new HeartbeatTracker();
  t.seen('a', 0);
  assert.equal(t.heard('a'), true);
  t.reset(['a'], 10);
  assert.equal(t.heard('a'), false);
  t.seen('a', 20);
  assert.equal(t.heard('a'), true);
  t.forget('a');
  assert.equal(t.heard('a'), false);
});
