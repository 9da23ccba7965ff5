import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileGlobal } from '../../../manager/orchestrator/global.js';
import type { NodeRecord, TaskRecord } from '../../../shared/model/index.js';
import { applyPlan, idSource, live, node, nodes, ns, service, START, task } from './fixtures.js';

const globalSvc = (over: Parameters<typeof service>[0] = {}) => service({ Mode: { Global: {} }, ...over });

function converge(svc: ReturnType<typeof globalSvc>, tasks: TaskRecord[], ns: Map<string, NodeRecord>, now = START): TaskRecord[] {
  return applyPlan(tasks, reconcileGlobal({ service: svc, tasks, nodes: ns, now, newId: idSource(`g${now}-`) }), now);
}

test('one task per ready, active node, made for that node', () => {
  const svc = globalSvc();
  const ns3 = nodes(node('a'), node('b'), node('c'));
  const plan = reconcileGlobal({ service: svc, tasks: [], nodes: ns3, now: START, newId: idSource() });
  assert.deepEqual(
    plan.creates.map((t) => [t.NodeID, t.Slot, t.Name, t.DesiredState, t.Status.State]),
    [
      ['a', 0, 'web.a', 'running', 'pending'],
      ['b', 0, 'web.b', 'running', 'pending'],
      ['c', 0, 'web.c', 'running', 'pending'],
    ],
  );
  const tasks = applyPlan([], plan, START);
  assert.deepEqual(reconcileGlobal({ service: svc, tasks, nodes: ns3, now: START, newId: idSource() }), { creates: [], updates: [] });
});

test('a node joining gets a task; drained, down and removed nodes lose theirs without replacement', () => {
  const svc = globalSvc();
  let ns = nodes(node('a'), node('b'), node('c'), node('d'));
  let tasks = converge(svc, [], ns);
  ns = nodes(node('a', { availability: 'drain' }), node('b', { state: 'down' }), node('d'), node('e'));
  const plan = reconcileGlobal({ service: svc, tasks, nodes: ns, now: START + 1, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.NodeID, t.DesiredState]).sort(), [
    ['a', 'shutdown'],
    ['b', 'shutdown'],
    ['c', 'shutdown'],
  ]);
  assert.deepEqual(
    plan.creates.map((t) => t.NodeID),
    ['e'],
  );
  tasks = applyPlan(tasks, plan, START + 1);
  assert.deepEqual(live(tasks).map((t) => t.NodeID).sort(), ['d', 'e']);

  // The drained node comes back: it gets a fresh task (its old one was stopped by the cluster).
  ns = nodes(node('a'), node('b', { state: 'down' }), node('d'), node('e'));
  const back = reconcileGlobal({ service: svc, tasks, nodes: ns, now: START + 2, newId: idSource() });
  assert.deepEqual(
    back.creates.map((t) => t.NodeID),
    ['a'],
  );
});

test('a paused node keeps its task but a new paused or not-ready node gets none', () => {
  const svc = globalSvc();
  const tasks = converge(svc, [], nodes(node('a')));
  const ns = nodes(node('a', { availability: 'pause' }), node('b', { availability: 'pause' }), node('c', { state: 'unknown' }));
  assert.deepEqual(reconcileGlobal({ service: svc, tasks, nodes: ns, now: START, newId: idSource() }), { creates: [], updates: [] });
});

test('nodes follow the service constraints: a label change stops the task there and starts one where it now fits', () => {
  const template = { ContainerSpec: { Image: 'sim/app:1' }, Placement: { Constraints: ['node.labels.tier==edge'] } };
  const svc = globalSvc({ TaskTemplate: template });
  let ns = nodes(node('a', { labels: { tier: 'edge' } }), node('b'));
  const tasks = converge(svc, [], ns);
  assert.deepEqual(live(tasks).map((t) => t.NodeID), ['a']);
  ns = nodes(node('a'), node('b', { labels: { tier: 'edge' } }));
  const plan = reconcileGlobal({ service: svc, tasks, nodes: ns, now: START + 1, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.NodeID, t.DesiredState]), [['a', 'shutdown']]);
  assert.deepEqual(
    plan.creates.map((t) => t.NodeID),
    ['b'],
  );
});

test('a failed global task is restarted on the same node after the delay, per the restart policy', () => {
  const template = { ContainerSpec: { Image: 'sim/app:1' }, RestartPolicy: { Condition: 'on-failure' as const, Delay: ns(2000) } };
  const svc = globalSvc({ TaskTemplate: template });
  const ns2 = nodes(node('a'), node('b'));
  const tasks = [task({ id: 'fa', node: 'a', spec: template, state: 'failed' }), task({ id: 'cb', node: 'b', spec: template, state: 'complete' })];
  const plan = reconcileGlobal({ service: svc, tasks, nodes: ns2, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]).sort(), [
    ['cb', 'shutdown'],
    ['fa', 'shutdown'],
  ]);
  assert.deepEqual(
    plan.creates.map((t) => [t.NodeID, t.DesiredState]),
    [['a', 'ready']],
  );
});

test('a failed task on a node that is paused now is stopped and restarted only once the node is active again', () => {
  const svc = globalSvc();
  const tasks = [task({ id: 'f', node: 'a', state: 'failed' })];
  const paused = reconcileGlobal({ service: svc, tasks, nodes: nodes(node('a', { availability: 'pause' })), now: START, newId: idSource() });
  assert.deepEqual(paused.updates.map((t) => t.ID), ['f']);
  assert.deepEqual(paused.creates, []);
  const after = applyPlan(tasks, paused, START);
  const active = reconcileGlobal({ service: svc, tasks: after, nodes: nodes(node('a')), now: START + 1, newId: idSource() });
  assert.deepEqual(
    active.creates.map((t) => [t.NodeID, t.DesiredState]),
    [['a', 'ready']],
  );
});
