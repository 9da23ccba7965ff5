import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepOrder, reconcileReplicated } from '../../../manager/orchestrator/replicated.js';
import type { SlotReport } from '../../../manager/orchestrator/slots.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import { applyPlan, idSource, live, node, nodes, service, slotsOf, START, task } from './fixtures.js';

const N = nodes(node('a'), node('b'), node('c'));

test('a new service gets one pending task per replica, made as the lifecycle doc says', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 3 } }, specVersion: 4 });
  const plan = reconcileReplicated({ service: svc, tasks: [], nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates, []);
  assert.deepEqual(
    plan.creates.map((t) => [t.ID, t.Slot, t.Name, t.DesiredState, t.Status.State, t.Status.Message, t.Internal.SpecVersion, t.NodeID]),
    [
      ['new0001', 1, 'web.1', 'running', 'pending', 'pending task scheduling', 4, undefined],
      ['new0002', 2, 'web.2', 'running', 'pending', 'pending task scheduling', 4, undefined],
      ['new0003', 3, 'web.3', 'running', 'pending', 'pending task scheduling', 4, undefined],
    ],
  );
  assert.equal(plan.creates[0]!.ServiceID, 'svc1');
  assert.equal(plan.creates[0]!.Spec, svc.Spec.TaskTemplate);
  assert.equal(plan.wakeAt, undefined);
});

test('no mode means one replica; reconciling a converged service changes nothing', () => {
  const svc = service({ Mode: undefined });
  let tasks: TaskRecord[] = [];
  tasks = applyPlan(tasks, reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() }), START);
  assert.equal(tasks.length, 1);
  const again = reconcileReplicated({ service: svc, tasks, nodes: N, now: START + 1000, newId: idSource('x') });
  assert.deepEqual(again, { creates: [], updates: [] });
});

test('scale up fills the lowest free slot numbers, reusing slots that only hold history', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 4 } } });
  const tasks = [
    task({ slot: 1, node: 'a' }),
    task({ slot: 2, node: 'a', state: 'shutdown', desired: 'shutdown' }), // scaled away earlier
    task({ slot: 5, node: 'b' }),
  ];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(slotsOf(plan.creates as TaskRecord[]), [2, 3]);
  assert.deepEqual(plan.updates, []);
});

test('scale down removes whole slots from the most loaded nodes first', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 3 } } });
  const tasks = [
    task({ id: 'a1', slot: 1, node: 'a' }),
    task({ id: 'a2', slot: 2, node: 'a' }),
    task({ id: 'a3', slot: 3, node: 'a' }),
    task({ id: 'a4', slot: 4, node: 'a' }),
    task({ id: 'b1', slot: 5, node: 'b' }),
    task({ id: 'c1', slot: 6, node: 'c' }),
  ];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.creates, []);
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]).sort(), [
    ['a2', 'shutdown'],
    ['a3', 'shutdown'],
    ['a4', 'shutdown'],
  ]);
  const after = applyPlan(tasks, plan, START);
  assert.deepEqual(live(after).map((t) => t.NodeID).sort(), ['a', 'b', 'c']);
  assert.deepEqual(reconcileReplicated({ service: svc, tasks: after, nodes: N, now: START, newId: idSource() }), { creates: [], updates: [] });
});

test('scale down takes tasks that are not running yet (and unplaced ones) before running ones', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 2 } } });
  const tasks = [
    task({ id: 'run-a', slot: 1, node: 'a', state: 'running' }),
    task({ id: 'prep-a', slot: 2, node: 'a', state: 'preparing' }),
    task({ id: 'run-b', slot: 3, node: 'b', state: 'running' }),
    task({ id: 'pending', slot: 4, state: 'pending' }),
  ];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => t.ID).sort(), ['pending', 'prep-a']);
});

test('keepOrder numbers each slot as the nth copy on its node, running tasks counted first', () => {
  const slot = (n: number, t: TaskRecord): { slot: number; report: SlotReport } => ({ slot: n, report: { kind: 'live', live: [t], tasks: [t] } });
  const order = keepOrder([
    slot(1, task({ node: 'a', state: 'starting' })),
    slot(2, task({ node: 'a', state: 'running' })),
    slot(3, task({ node: 'b', state: 'running' })),
    slot(4, task({ node: 'a', state: 'running' })),
  ]);
  // a: 2 (1st), 4 (2nd), 1 (3rd, not running); b: 3 (1st).
  assert.deepEqual(
    order.map((s) => s.slot),
    [2, 3, 4, 1],
  );
});

test('tasks on a drained, down or removed node are shut down and replaced in the same slot at once', () => {
  const ns = nodes(node('a'), node('b', { availability: 'drain' }), node('c', { state: 'down' }));
  const svc = service({ Mode: { Replicated: { Replicas: 4 } } });
  const tasks = [
    task({ id: 'ok', slot: 1, node: 'a' }),
    task({ id: 'drained', slot: 2, node: 'b' }),
    task({ id: 'down', slot: 3, node: 'c' }),
    task({ id: 'gone', slot: 4, node: 'zz', state: 'assigned' }),
  ];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: ns, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]).sort(), [
    ['down', 'shutdown'],
    ['drained', 'shutdown'],
    ['gone', 'shutdown'],
  ]);
  assert.deepEqual(
    plan.creates.map((t) => [t.Slot, t.DesiredState, t.NodeID]),
    [
      [2, 'running', undefined],
      [3, 'running', undefined],
      [4, 'running', undefined],
    ],
  );
});

test('a paused node, or one whose state is not known yet, keeps its tasks', () => {
  const ns = nodes(node('a', { availability: 'pause' }), node('b', { state: 'unknown' }), node('c', { state: 'disconnected' }));
  const svc = service({ Mode: { Replicated: { Replicas: 3 } } });
  const tasks = [task({ slot: 1, node: 'a' }), task({ slot: 2, node: 'b' }), task({ slot: 3, node: 'c' })];
  assert.deepEqual(reconcileReplicated({ service: svc, tasks, nodes: ns, now: START, newId: idSource() }), { creates: [], updates: [] });
});

test('a task whose node no longer satisfies its constraints is evicted and replaced', () => {
  const constrained = { ContainerSpec: { Image: 'sim/app:1' }, Placement: { Constraints: ['node.labels.zone==eu'] } };
  const svc = service({ TaskTemplate: constrained, Mode: { Replicated: { Replicas: 2 } } });
  const ns = nodes(node('a', { labels: { zone: 'eu' } }), node('b', { labels: {} }));
  const tasks = [task({ id: 'stays', slot: 1, node: 'a', spec: constrained }), task({ id: 'evicted', slot: 2, node: 'b', spec: constrained })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: ns, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['evicted', 'shutdown']]);
  assert.deepEqual(
    plan.creates.map((t) => [t.Slot, t.DesiredState]),
    [[2, 'running']],
  );
});

test('eviction judges a task by the constraints it was placed with; new constraints are the updater’s business', () => {
  const svc = service({ TaskTemplate: { Placement: { Constraints: ['node.role==manager'] } }, specVersion: 2 });
  const tasks = [task({ slot: 1, node: 'a', specVersion: 1 })];
  assert.deepEqual(reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() }), { creates: [], updates: [] });
});

test('a start-first slot (old and new generation both meant to run) is left alone', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 1 } }, specVersion: 2 });
  const tasks = [task({ slot: 1, node: 'a', specVersion: 1 }), task({ slot: 1, node: 'b', state: 'starting', specVersion: 2 })];
  assert.deepEqual(reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() }), { creates: [], updates: [] });
});

test('two tasks of the current generation in one slot (a retried proposal that committed twice): the one further along stays', () => {
  const svc = service();
  const tasks = [task({ id: 'early', slot: 1, node: 'a', state: 'pending' }), task({ id: 'late', slot: 1, node: 'b', state: 'running', created: START + 5 })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['early', 'shutdown']]);
  assert.deepEqual(plan.creates, []);
});

test('a task without a slot cannot belong to a replicated service and is stopped', () => {
  const svc = service();
  const tasks = [task({ id: 'stray', slot: 0, node: 'a' }), task({ slot: 1, node: 'a' })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => t.ID), ['stray']);
  assert.deepEqual(plan.creates, []);
});

test('scale to zero stops everything; desired states never move backwards', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 0 } } });
  const tasks = [task({ slot: 1, node: 'a' }), task({ slot: 2, node: 'b', desired: 'shutdown', state: 'running' })];
  const plan = reconcileReplicated({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.Slot, t.DesiredState]), [[1, 'shutdown']]);
  assert.deepEqual(plan.creates, []);
});
