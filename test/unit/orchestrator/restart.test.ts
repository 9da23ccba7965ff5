import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileReplicated } from '../../../manager/orchestrator/replicated.js';
import { endedOnItsOwn, restartPolicyOf, restartsBefore, shouldRestart } from '../../../manager/orchestrator/restart.js';
import type { RestartPolicy, TaskRecord, TaskState } from '../../../shared/model/index.js';
import { applyPlan, idSource, live, node, nodes, ns, report, SECOND, service, START, task } from './fixtures.js';

const N = nodes(node('a'), node('b'));
const gen = (t: TaskRecord): number => t.Internal.SpecVersion;

function policy(p: RestartPolicy, replicas = 1) {
  const template = { ContainerSpec: { Image: 'sim/app:1' }, RestartPolicy: p };
  return { svc: service({ TaskTemplate: template, Mode: { Replicated: { Replicas: replicas } } }), spec: template };
}

test('defaults: condition any, delay 5 s, unlimited attempts, unbounded window', () => {
  assert.deepEqual(restartPolicyOf({}), { condition: 'any', delayMs: 5000, maxAttempts: 0, windowMs: 0 });
  assert.deepEqual(restartPolicyOf({ RestartPolicy: { Condition: 'none', Delay: ns(250), MaxAttempts: 3, Window: ns(60_000) } }), {
    condition: 'none',
    delayMs: 250,
    maxAttempts: 3,
    windowMs: 60_000,
  });
});

test('what counts as ending on its own', () => {
  const cases: Array<[TaskState, TaskState, boolean]> = [
    ['failed', 'running', true],
    ['complete', 'running', true],
    ['shutdown', 'running', true],
    ['rejected', 'ready', true],
    ['running', 'running', false],
    ['shutdown', 'shutdown', false], // the cluster stopped it
    ['failed', 'shutdown', true], // the workload failed: whoever asked what later
  ];
  for (const [state, desired, expected] of cases) assert.equal(endedOnItsOwn(task({ state, desired }), false), expected, `${state}/${desired}`);
});

test('conditions: any restarts after success and failure, on-failure only after failure, none never', () => {
  const table: Array<[RestartPolicy['Condition'], TaskState, boolean]> = [
    ['any', 'complete', true],
    ['any', 'failed', true],
    ['on-failure', 'complete', false],
    ['on-failure', 'failed', true],
    ['on-failure', 'rejected', true],
    ['none', 'failed', false],
    ['none', 'complete', false],
  ];
  for (const [condition, state, expected] of table) {
    const t = task({ slot: 1, state, spec: { RestartPolicy: { Condition: condition } } });
    assert.equal(shouldRestart(t, [t], gen, false), expected, `${condition} after ${state}`);
  }
});

test('a failed task is shut down and its slot gets a new task in desired ready; it starts once the delay has passed', () => {
  const { svc, spec } = policy({ Condition: 'any', Delay: ns(10 * SECOND) });
  let tasks = [task({ id: 'old', slot: 1, node: 'a', spec, state: 'failed', at: START })];
  const first = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(first.updates.map((t) => [t.ID, t.DesiredState]), [['old', 'shutdown']]);
  assert.deepEqual(
    first.creates.map((t) => [t.Slot, t.DesiredState]),
    [[1, 'ready']],
  );
  tasks = applyPlan(tasks, first, START);

  // The next round (triggered by that commit) knows when to look again.
  const waiting = reconcileReplicated({ service: svc, tasks, nodes: N, now: START + 1, newId: idSource('x') });
  assert.deepEqual(waiting.creates, []);
  assert.deepEqual(waiting.updates, []);
  assert.equal(waiting.wakeAt, START + 10 * SECOND);

  const due = reconcileReplicated({ service: svc, tasks, nodes: N, now: START + 10 * SECOND, newId: idSource('x') });
  assert.deepEqual(due.updates.map((t) => [t.ID, t.DesiredState]), [['new0001', 'running']]);
  assert.equal(due.wakeAt, undefined);
});

test('a zero delay creates the restarted task in desired running', () => {
  const { svc, spec } = policy({ Delay: 0 });
  const tasks = [task({ slot: 1, node: 'a', spec, state: 'complete' })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(
    plan.creates.map((t) => t.DesiredState),
    ['running'],
  );
});

test('condition none: the slot stays used up (no refill) until the spec changes', () => {
  const { svc, spec } = policy({ Condition: 'none' }, 2);
  let tasks = [task({ id: 'done', slot: 1, node: 'a', spec, state: 'complete' }), task({ slot: 2, node: 'b', spec })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['done', 'shutdown']]);
  assert.deepEqual(plan.creates, []);
  tasks = applyPlan(tasks, plan, START);
  assert.deepEqual(reconcileReplicated({ service: svc, tasks, nodes: N, now: START + SECOND, newId: idSource() }), { creates: [], updates: [] });

  // Scaling down drops the used-up slot before any running one.
  const smaller = { ...svc, Spec: { ...svc.Spec, Mode: { Replicated: { Replicas: 1 } } } };
  assert.deepEqual(reconcileReplicated({ service: smaller, tasks, nodes: N, now: START + SECOND, newId: idSource() }), { creates: [], updates: [] });

  // A new spec generation runs the slot again (with the new spec), as a Docker service update does.
  const updated = { ...svc, Internal: { SpecVersion: 2 } };
  const again = reconcileReplicated({ service: updated, tasks, nodes: N, now: START + SECOND, newId: idSource() });
  assert.deepEqual(
    again.creates.map((t) => [t.Slot, t.DesiredState, t.Internal.SpecVersion]),
    [[1, 'running', 2]],
  );
});

test('MaxAttempts: the slot is restarted that many times, then left alone', () => {
  const { svc } = policy({ MaxAttempts: 2, Delay: 0 });
  let tasks: TaskRecord[] = [];
  let now = START;
  tasks = applyPlan(tasks, reconcileReplicated({ service: svc, tasks, nodes: N, now, newId: idSource('a') }), now);
  let restarts = 0;
  for (let round = 0; round < 5; round++) {
    const running = live(tasks);
    if (running.length === 0) break;
    now += SECOND;
    tasks = report(tasks, running[0]!.ID, { state: 'failed', at: now });
    const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now, newId: idSource(`r${round}-`) });
    restarts += plan.creates.length;
    tasks = applyPlan(tasks, plan, now);
  }
  assert.equal(restarts, 2);
  assert.equal(tasks.length, 3);
  assert.deepEqual(live(tasks), []);
});

test('Window: only restarts within the window before the failure count', () => {
  const spec = { RestartPolicy: { MaxAttempts: 2, Window: ns(60 * SECOND) } };
  // Attempts created at 0 s (first), 10 s and 20 s (restarts); the last one failed at 30 s.
  const slot = [
    task({ slot: 1, spec, created: START, state: 'failed', desired: 'shutdown', at: START + 5 * SECOND }),
    task({ slot: 1, spec, created: START + 10 * SECOND, state: 'failed', desired: 'shutdown', at: START + 15 * SECOND }),
    task({ id: 'last', slot: 1, spec, created: START + 20 * SECOND, state: 'failed', at: START + 30 * SECOND }),
  ];
  const last = slot[2]!;
  assert.equal(restartsBefore(last, slot, gen, 60_000), 2);
  assert.equal(shouldRestart(last, slot, gen, false), false);
  // The same failure 75 s after the start: the restart at 10 s has left the window.
  const late = { ...last, Status: { ...last.Status, Timestamp: slot[0]!.Status.Timestamp.replace('12:00:05', '12:01:15') } };
  assert.equal(restartsBefore(late, slot, gen, 60_000), 1);
  assert.equal(shouldRestart(late, slot, gen, false), true);
});

test('a new spec generation starts the restart count afresh', () => {
  const spec = { RestartPolicy: { MaxAttempts: 1 } };
  const slot = [
    task({ slot: 1, spec, specVersion: 1, created: START, state: 'failed', desired: 'shutdown' }),
    task({ slot: 1, spec, specVersion: 1, created: START + 1, state: 'failed', desired: 'shutdown' }),
    task({ id: 'v2', slot: 1, spec, specVersion: 2, created: START + 2, state: 'failed' }),
  ];
  assert.equal(shouldRestart(slot[1]!, slot, gen, false), false);
  assert.equal(shouldRestart(slot[2]!, slot, gen, false), true);
});

test('the count survives history cleanup: with the oldest attempts reaped, MaxAttempts + 1 tasks still decide', () => {
  const spec = { RestartPolicy: { MaxAttempts: 2 } };
  // Attempts 3..5 of a slot whose first two were reaped: the last of them must not be restarted.
  const kept = [3, 4, 5].map((i) => task({ slot: 1, spec, created: START + i, state: 'failed', desired: i === 5 ? 'running' : 'shutdown' }));
  assert.equal(shouldRestart(kept[2]!, kept, gen, false), false);
});

test('a failing task in a start-first slot is stopped but not restarted while its partner runs', () => {
  const svc = service({ specVersion: 2 });
  const tasks = [task({ id: 'old', slot: 1, node: 'a', specVersion: 1 }), task({ id: 'new', slot: 1, node: 'b', specVersion: 2, state: 'failed' })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['new', 'shutdown']]);
  assert.deepEqual(plan.creates, []);
});

test('a restart owed to a slot that a scale down removes is dropped instead of a running slot', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 1 } } });
  const tasks = [task({ id: 'ok', slot: 1, node: 'a' }), task({ id: 'dead', slot: 2, node: 'b', state: 'failed' })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['dead', 'shutdown']]);
  assert.deepEqual(plan.creates, []);
});

test('a restart that was stopped before its delay ran out is not promoted', () => {
  const svc = service();
  const tasks = [task({ slot: 1, desired: 'shutdown', state: 'pending' }), task({ slot: 1, desired: 'ready', state: 'pending', created: START + 1 })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START + 60 * SECOND, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => t.DesiredState), ['running']);
});
