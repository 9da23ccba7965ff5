// The updater's pure decisions: one service and its tasks at one instant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planUpdate, type UpdateInput, type UpdatePlan } from '../../../manager/orchestrator/update/index.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import { at, BASE, ids, NS_PER_MS, oldTasks, SEC, service, task, updating } from './fixtures.js';

function plan(input: Omit<UpdateInput, 'now' | 'newId'> & { now?: number }): UpdatePlan {
  return planUpdate({ newId: ids(), ...input, now: BASE + (input.now ?? 0) });
}

const slots = (p: UpdatePlan): string[] => p.steps.filter((s) => s.create).map((s) => s.slot);
const shutdowns = (p: UpdatePlan): string[] => p.steps.flatMap((s) => s.shutdown.map((t) => t.ID)).sort();

/** Slots 1..n: replaced ones hold an old task shut down plus the given new task; the rest run generation 1. */
function midUpdate(n: number, replaced: Record<number, TaskRecord>): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (let slot = 1; slot <= n; slot++) {
    const repl = replaced[slot];
    if (repl) {
      out.push(task(`old${slot}`, { slot, desired: 'shutdown', state: 'shutdown' }), repl);
    } else {
      out.push(task(`old${slot}`, { slot }));
    }
  }
  return out;
}

const up = (id: string, slot: number, writtenMs: number): TaskRecord => task(id, { slot, version: 2, written: writtenMs });
const starting = (id: string, slot: number): TaskRecord => task(id, { slot, version: 2, state: 'pending' });
const failed = (id: string, slot: number, writtenMs: number): TaskRecord => task(id, { slot, version: 2, state: 'failed', written: writtenMs });

test('Parallelism slots are replaced at once, lowest slots first; stop-first shuts the old task down in the same step', () => {
  const s = service({ replicas: 6, status: updating(), update: { Parallelism: 2 } });
  const p = plan({ service: s, tasks: oldTasks(6), now: SEC });
  assert.deepEqual(slots(p), ['1', '2']);
  const [first] = p.steps;
  assert.deepEqual(first!.shutdown.map((t) => t.ID), ['old1']);
  const created = first!.create!;
  assert.equal(created.Slot, 1);
  assert.equal(created.Name, 'web.1');
  assert.equal(created.ServiceID, 'svc1');
  assert.equal(created.Internal.SpecVersion, 2);
  assert.equal(created.Spec.ContainerSpec?.Image, 'web:2');
  assert.equal(created.DesiredState, 'running');
  assert.deepEqual(created.Status, { Timestamp: at(SEC), State: 'pending', Message: 'pending task scheduling' });
  assert.equal(p.service, undefined, 'the update was announced by the API: no service write');
});

test('Parallelism 0 replaces every slot at once', () => {
  const s = service({ replicas: 6, status: updating(), update: { Parallelism: 0 } });
  assert.deepEqual(slots(plan({ service: s, tasks: oldTasks(6) })), ['1', '2', '3', '4', '5', '6']);
});

test('without an UpdateConfig, Docker defaults apply: one slot at a time', () => {
  const s = service({ replicas: 3, status: updating() });
  assert.deepEqual(slots(plan({ service: s, tasks: oldTasks(3) })), ['1']);
});

test('a replacement that is not up yet holds its worker; one that came up frees it', () => {
  const s = service({ replicas: 6, status: updating(), update: { Parallelism: 2 } });
  const inFlight = midUpdate(6, { 1: starting('new1', 1), 2: starting('new2', 2) });
  assert.deepEqual(plan({ service: s, tasks: inFlight, now: 2 * SEC }).steps, []);
  const oneUp = midUpdate(6, { 1: up('new1', 1, 2 * SEC), 2: starting('new2', 2) });
  assert.deepEqual(slots(plan({ service: s, tasks: oneUp, now: 2 * SEC })), ['3']);
});

test('Delay: a worker waits Delay after its task came up, and the plan says when to look again', () => {
  const s = service({ replicas: 6, status: updating(), update: { Parallelism: 2, Delay: 10 * SEC * NS_PER_MS } });
  const tasks = midUpdate(6, { 1: up('new1', 1, 2 * SEC), 2: starting('new2', 2) });
  const waiting = plan({ service: s, tasks, now: 5 * SEC });
  assert.deepEqual(waiting.steps, []);
  assert.equal(waiting.wakeAt, BASE + 12 * SEC);
  assert.deepEqual(slots(plan({ service: s, tasks, now: 12 * SEC })), ['3']);
});

test('start-first: the new task starts beside the old one, which is shut down only once the new one is up', () => {
  const s = service({ replicas: 3, status: updating(), update: { Parallelism: 1, Order: 'start-first' } });
  const first = plan({ service: s, tasks: oldTasks(3) });
  assert.deepEqual(slots(first), ['1']);
  assert.deepEqual(first.steps[0]!.shutdown, [], 'nothing stops before its replacement is up');

  const both = [...oldTasks(3), starting('new1', 1)];
  assert.deepEqual(plan({ service: s, tasks: both }).steps, [], 'old1 keeps running while new1 starts');

  const newUp = [...oldTasks(3), up('new1', 1, SEC)];
  const next = plan({ service: s, tasks: newUp, now: SEC });
  assert.deepEqual(shutdowns(next), ['old1']);
  assert.deepEqual(slots(next), ['2']);
  // The step that stops old1 stops nothing else and creates nothing: up tasks never drop below the replicas.
  assert.deepEqual(next.steps.find((x) => x.slot === '1'), { slot: '1', shutdown: [oldTasks(3)[0]] });
});

test('start-first never has fewer tasks up than replicas, whatever the parallelism', () => {
  const s = service({ replicas: 4, status: updating(), update: { Parallelism: 0, Order: 'start-first' } });
  let tasks = oldTasks(4);
  const isUpNow = (t: TaskRecord): boolean => t.DesiredState === 'running' && t.Status.State === 'running';
  const newId = ids();
  for (let round = 0; round < 4; round++) {
    const p = planUpdate({ service: s, tasks, now: BASE + round * SEC, newId });
    const stopping = new Set(shutdowns(p));
    tasks = tasks.map((t) => (stopping.has(t.ID) ? { ...t, DesiredState: 'shutdown' as const } : t));
    for (const step of p.steps) if (step.create) tasks.push({ ...task(step.create.ID, { slot: step.create.Slot!, version: 2, state: 'pending' }) });
    assert.ok(tasks.filter(isUpNow).length >= 4, `round ${round}: fewer than 4 up`);
    // The agents: one new task comes up per round.
    const next = tasks.find((t) => t.Internal.SpecVersion === 2 && t.Status.State === 'pending');
    if (next) tasks = tasks.map((t) => (t === next ? up(t.ID, t.Slot!, round * SEC) : t));
  }
});

test('health gating: a running task with a healthcheck is up only once healthy', () => {
  const hc = { ContainerSpec: { Image: 'web:2', HealthCheck: { Test: ['CMD', 'true'] } } };
  const s = service({ replicas: 2, status: updating(), update: { Order: 'start-first' }, task: hc });
  const newTask = (health: 'starting' | 'healthy'): TaskRecord => task('new1', { slot: 1, version: 2, healthcheck: true, health, written: SEC });
  const unhealthyYet = plan({ service: s, tasks: [...oldTasks(2), newTask('starting')], now: SEC });
  assert.deepEqual(unhealthyYet.steps, [], 'running but starting: old1 stays, and slot 2 waits for the worker');
  const healthy = plan({ service: s, tasks: [...oldTasks(2), newTask('healthy')], now: SEC });
  assert.deepEqual(shutdowns(healthy), ['old1']);
  assert.deepEqual(slots(healthy), ['2']);
});

test('a new task that fails before it is up pauses the update (FailureAction pause, ratio 0)', () => {
  const s = service({ replicas: 3, status: updating(), update: { Parallelism: 1 } });
  const p = plan({ service: s, tasks: midUpdate(3, { 1: failed('new1', 1, 2 * SEC) }), now: 2 * SEC });
  assert.deepEqual(p.steps, []);
  assert.equal(p.outcome, 'paused');
  assert.deepEqual(p.service?.UpdateStatus, {
    State: 'paused',
    StartedAt: at(0),
    Message: 'update paused due to failure or early termination of task new1',
  });
});

test('Monitor: a failure within Monitor of coming up counts; one after it does not', () => {
  const s = service({ replicas: 3, status: updating(), update: { Parallelism: 1, Monitor: 5 * SEC * NS_PER_MS } });
  const upSince = new Map([['new1', 2 * SEC + BASE]]);
  const early = plan({ service: s, tasks: midUpdate(3, { 1: failed('new1', 1, 6 * SEC) }), upSince, now: 6 * SEC });
  assert.equal(early.outcome, 'paused');
  const late = plan({ service: s, tasks: midUpdate(3, { 1: failed('new1', 1, 8 * SEC) }), upSince, now: 8 * SEC });
  assert.equal(late.outcome, undefined);
  assert.deepEqual(slots(late), ['2'], 'the slot finished when new1 came up: the update goes on');
});

test('an unhealthy new task counts as a failure', () => {
  const hc = { ContainerSpec: { Image: 'web:2', HealthCheck: { Test: ['CMD', 'true'] } } };
  const s = service({ replicas: 2, status: updating(), task: hc });
  const sick = task('new1', { slot: 1, version: 2, healthcheck: true, health: 'unhealthy', written: SEC });
  const p = plan({ service: s, tasks: [task('old1', { slot: 1, desired: 'shutdown', state: 'shutdown' }), sick, task('old2', { slot: 2 })] });
  assert.equal(p.service?.UpdateStatus?.State, 'paused');
});

test('MaxFailureRatio: failed slots over the slots being updated must exceed the ratio', () => {
  const s = service({ replicas: 10, status: updating(), update: { Parallelism: 0, MaxFailureRatio: 0.2 } });
  const two = midUpdate(10, { 1: failed('f1', 1, SEC), 2: failed('f2', 2, SEC) });
  const p2 = plan({ service: s, tasks: two, now: SEC });
  assert.equal(p2.outcome, undefined, '2/10 is not above 0.2');
  const three = midUpdate(10, { 1: failed('f1', 1, SEC), 2: failed('f2', 2, SEC), 3: failed('f3', 3, 2 * SEC) });
  const p3 = plan({ service: s, tasks: three, now: 2 * SEC });
  assert.equal(p3.outcome, 'paused');
  assert.match(p3.service!.UpdateStatus!.Message!, /task f3$/, 'the failure that tipped the ratio is named');
});

test('the orchestrator restarting one bad slot counts as one failed slot', () => {
  const s = service({ replicas: 10, status: updating(), update: { Parallelism: 1, MaxFailureRatio: 0.1 } });
  const tasks = [...midUpdate(10, { 1: failed('f1', 1, SEC) }), failed('f1b', 1, 2 * SEC), failed('f1c', 1, 3 * SEC)];
  assert.equal(plan({ service: s, tasks, now: 3 * SEC }).outcome, undefined);
});

test('FailureAction continue: failures do not stop the update, which completes after the last slot', () => {
  const s = service({ replicas: 2, status: updating(), update: { FailureAction: 'continue', Monitor: 0 } });
  const p = plan({ service: s, tasks: midUpdate(2, { 1: failed('f1', 1, SEC) }), now: SEC });
  assert.deepEqual(slots(p), ['2']);
  const done = plan({ service: s, tasks: midUpdate(2, { 1: failed('f1', 1, SEC), 2: failed('f2', 2, 2 * SEC) }), now: 2 * SEC });
  assert.equal(done.outcome, 'completed');
});

test('FailureAction rollback: the service goes back to PreviousSpec under a new generation', () => {
  const s = service({ replicas: 3, version: 2, previousImage: 'web:1', status: updating(), update: { FailureAction: 'rollback' } });
  const p = plan({ service: s, tasks: midUpdate(3, { 1: failed('new1', 1, SEC) }), now: SEC });
  assert.equal(p.outcome, 'rolled_back');
  assert.deepEqual(p.steps, []);
  const back = p.service!;
  assert.equal(back.Spec.TaskTemplate.ContainerSpec?.Image, 'web:1');
  assert.equal(back.PreviousSpec?.TaskTemplate.ContainerSpec?.Image, 'web:2');
  assert.equal(back.Internal.SpecVersion, 3);
  assert.deepEqual(back.UpdateStatus, {
    State: 'rollback_started',
    StartedAt: at(0),
    Message: 'update rolled back due to failure or early termination of task new1',
  });
});

test('a rollback replaces only the updated tasks, under RollbackConfig, and completes as rollback_completed', () => {
  // Generation 3 is generation 1's spec again: slots 3-6 never changed and stay.
  const s = service({
    replicas: 6,
    version: 3,
    image: 'web:1',
    status: { State: 'rollback_started', StartedAt: at(0), Message: 'manually requested rollback' },
    update: { Parallelism: 1 },
    rollback: { Parallelism: 2, Monitor: SEC * NS_PER_MS },
  });
  const tasks = midUpdate(6, { 1: up('new1', 1, SEC), 2: up('new2', 2, SEC) });
  const p = plan({ service: s, tasks, now: 2 * SEC });
  assert.deepEqual(slots(p), ['1', '2']);
  assert.deepEqual(shutdowns(p), ['new1', 'new2']);
  assert.equal(p.steps[0]!.create!.Spec.ContainerSpec?.Image, 'web:1');
  assert.equal(p.steps[0]!.create!.Internal.SpecVersion, 3);

  const rolled = [
    ...midUpdate(6, {}).slice(2 * 1),
    task('new1', { slot: 1, version: 2, desired: 'shutdown', state: 'shutdown' }),
    task('new2', { slot: 2, version: 2, desired: 'shutdown', state: 'shutdown' }),
    task('back1', { slot: 1, version: 3, image: 'web:1', written: 3 * SEC }),
    task('back2', { slot: 2, version: 3, image: 'web:1', written: 3 * SEC }),
  ];
  assert.equal(plan({ service: s, tasks: rolled, now: 3 * SEC }).wakeAt, BASE + 4 * SEC);
  const done = plan({ service: s, tasks: rolled, now: 4 * SEC });
  assert.equal(done.outcome, 'completed');
  assert.deepEqual(done.service?.UpdateStatus, { State: 'rollback_completed', StartedAt: at(0), CompletedAt: at(4 * SEC), Message: 'rollback completed' });
});

test('a failing rollback pauses as rollback_paused, even with FailureAction rollback (never roll back a rollback)', () => {
  for (const FailureAction of ['pause', 'rollback'] as const) {
    const s = service({ replicas: 2, version: 3, image: 'web:1', status: { State: 'rollback_started', StartedAt: at(0) }, rollback: { FailureAction } });
    const tasks = [task('new1', { slot: 1, version: 2, desired: 'shutdown', state: 'shutdown' }), task('back1', { slot: 1, version: 3, image: 'web:1', state: 'rejected', written: SEC }), task('new2', { slot: 2, version: 2 })];
    const p = plan({ service: s, tasks, now: SEC });
    assert.deepEqual(p.service?.UpdateStatus, { State: 'rollback_paused', StartedAt: at(0), Message: 'rollback paused due to failure or early termination of task back1' });
  }
});

test('completion waits Delay and Monitor after the last slot came up', () => {
  const s = service({ replicas: 3, status: updating(), update: { Parallelism: 0, Delay: SEC * NS_PER_MS, Monitor: 5 * SEC * NS_PER_MS } });
  const tasks = midUpdate(3, { 1: up('n1', 1, SEC), 2: up('n2', 2, 2 * SEC), 3: up('n3', 3, 3 * SEC) });
  const waiting = plan({ service: s, tasks, now: 8 * SEC });
  assert.equal(waiting.service, undefined);
  assert.equal(waiting.wakeAt, BASE + 9 * SEC);
  const done = plan({ service: s, tasks, now: 9 * SEC });
  assert.equal(done.outcome, 'completed');
  assert.deepEqual(done.service?.UpdateStatus, { State: 'completed', StartedAt: at(0), CompletedAt: at(9 * SEC), Message: 'update completed' });
});

test('a new leader continues mid-update from the store alone', () => {
  const s = service({ replicas: 6, status: updating(), update: { Parallelism: 3 } });
  // Slots 1-2 done, slot 3 in flight, no memory of when anything came up.
  const tasks = midUpdate(6, { 1: up('n1', 1, SEC), 2: up('n2', 2, SEC), 3: starting('n3', 3) });
  const p = planUpdate({ service: s, tasks, now: BASE + 10 * SEC, newId: ids() });
  assert.deepEqual(slots(p), ['4', '5']);
  assert.deepEqual(shutdowns(p), ['old4', 'old5']);
  // And the same input gives the same plan: nothing hidden in the planner.
  assert.deepEqual(planUpdate({ service: s, tasks, now: BASE + 10 * SEC, newId: ids() }), p);
});

test('a paused update moves nothing', () => {
  const s = service({ replicas: 3, status: { State: 'paused', StartedAt: at(0), Message: 'update paused due to failure or early termination of task x' } });
  assert.deepEqual(plan({ service: s, tasks: oldTasks(3) }), { steps: [] });
});

test('old tasks with no update announced start one (updating, update in progress)', () => {
  const s = service({ replicas: 2 });
  const p = plan({ service: s, tasks: oldTasks(2), now: 7 * SEC });
  assert.equal(p.outcome, 'started');
  assert.deepEqual(p.service?.UpdateStatus, { State: 'updating', StartedAt: at(7 * SEC), Message: 'update in progress' });
  assert.deepEqual(slots(p), ['1']);
});

test('a new generation that changes nothing a task runs replaces no task and completes at once', () => {
  // Generation 2 only changed, say, the replica count: the task spec is web:2 already.
  const s = service({ replicas: 2, status: updating() });
  const tasks = [task('a', { slot: 1, version: 1, image: 'web:2' }), task('b', { slot: 2, version: 1, image: 'web:2' })];
  const p = plan({ service: s, tasks, now: SEC });
  assert.deepEqual(p.steps, []);
  assert.equal(p.outcome, 'completed');
  assert.deepEqual(plan({ service: service({ replicas: 2 }), tasks }), { steps: [] });
});

test('global services are updated per node, only on nodes that can run tasks', () => {
  const s = service({ global: true, status: updating(), update: { Parallelism: 0 } });
  const tasks = ['n1', 'n2', 'n3'].map((node) => task(`old-${node}`, { node }));
  const p = plan({ service: s, tasks, eligibleNodes: new Set(['n1', 'n3']) });
  assert.deepEqual(slots(p), ['n1', 'n3']);
  const c = p.steps[0]!.create!;
  assert.equal(c.NodeID, 'n1');
  assert.equal(c.Slot, 0);
  assert.equal(c.Name, 'web.n1');
});

test('resuming a paused update ignores failures from before it was resumed and retries those slots', () => {
  const s = service({ replicas: 2, status: updating(100 * SEC), update: { Order: 'start-first' } });
  // Slot 1: old task still running beside a new one that failed before the resume.
  const tasks = [...oldTasks(2), failed('new1', 1, 50 * SEC)];
  const p = plan({ service: s, tasks, now: 101 * SEC });
  assert.equal(p.outcome, undefined);
  assert.deepEqual(slots(p), ['1']);
});

test('jobs are never rolled', () => {
  const s = { ...service({ status: updating() }), Spec: { ...service().Spec, Mode: { ReplicatedJob: { TotalCompletions: 3 } } } };
  assert.deepEqual(plan({ service: s, tasks: oldTasks(3) }), { steps: [] });
});

test('an old task beside an up replacement is shut down in any update state; current duplicates are left to the orchestrator', () => {
  const s = service({ replicas: 1, status: { State: 'completed', StartedAt: at(0), CompletedAt: at(SEC) } });
  // The orchestrator restarted a start-first replacement that had failed; it came up after the update completed.
  assert.deepEqual(shutdowns(plan({ service: s, tasks: [task('old1', { slot: 1 }), up('a', 1, SEC)], now: 2 * SEC })), ['old1']);
  assert.deepEqual(plan({ service: s, tasks: [up('a', 1, SEC), starting('b', 1)], now: 2 * SEC }).steps, []);
});
