import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileGlobalJob } from '../../../manager/orchestrator/global.js';
import { reconcileReplicatedJob } from '../../../manager/orchestrator/jobs.js';
import { jobCountsOf } from '../../../manager/orchestrator/mode.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import { applyPlan, idSource, node, nodes, report, service, START, task } from './fixtures.js';

const N = nodes(node('a'), node('b'));

function job(maxConcurrent: number | undefined, totalCompletions: number | undefined, over: Parameters<typeof service>[0] = {}) {
  return service({ Mode: { ReplicatedJob: { MaxConcurrent: maxConcurrent, TotalCompletions: totalCompletions } }, jobIteration: 0, ...over });
}

test("Docker's job defaults: MaxConcurrent 1, TotalCompletions = MaxConcurrent", () => {
  assert.deepEqual(jobCountsOf({ TaskTemplate: {}, Mode: { ReplicatedJob: {} } }), { maxConcurrent: 1, totalCompletions: 1 });
  assert.deepEqual(jobCountsOf({ TaskTemplate: {}, Mode: { ReplicatedJob: { MaxConcurrent: 3 } } }), { maxConcurrent: 3, totalCompletions: 3 });
});

test('a replicated job runs TotalCompletions tasks, at most MaxConcurrent at once, until all completed', () => {
  const svc = job(2, 5);
  let tasks: TaskRecord[] = [];
  let now = START;
  const step = (): void => {
    tasks = applyPlan(tasks, reconcileReplicatedJob({ service: svc, tasks, nodes: N, now, newId: idSource(`j${now}-`) }), now);
  };
  step();
  assert.deepEqual(
    tasks.map((t) => [t.Slot, t.DesiredState, t.JobIteration?.Index]),
    [
      [1, 'complete', 0],
      [2, 'complete', 0],
    ],
  );
  for (let i = 0; i < 10; i++) {
    const running = tasks.filter((t) => t.Status.State === 'pending');
    if (running.length === 0) break;
    now += 1000;
    tasks = report(tasks, running[0]!.ID, { state: 'complete', at: now });
    step();
    assert.ok(tasks.filter((t) => t.Status.State === 'pending').length <= 2, 'never more than MaxConcurrent at once');
  }
  assert.deepEqual(
    tasks.map((t) => t.Slot).sort(),
    [1, 2, 3, 4, 5],
  );
  assert.ok(tasks.every((t) => t.Status.State === 'complete' && t.DesiredState === 'complete'));
  assert.deepEqual(reconcileReplicatedJob({ service: svc, tasks, nodes: N, now, newId: idSource() }), { creates: [], updates: [] });
});

test('a failed job task is restarted in its slot (after the delay); a completed one never is', () => {
  const svc = job(2, 2);
  const tasks = [task({ id: 'f', slot: 1, jobIteration: 0, state: 'failed', desired: 'complete' }), task({ id: 'c', slot: 2, jobIteration: 0, state: 'complete', desired: 'complete' })];
  const plan = reconcileReplicatedJob({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['f', 'shutdown']]);
  assert.deepEqual(
    plan.creates.map((t) => [t.Slot, t.DesiredState, t.JobIteration?.Index]),
    [[1, 'ready', 0]],
  );
  // Once the delay is over the restarted task is desired complete, like every job task.
  const after = applyPlan(tasks, plan, START);
  const later = reconcileReplicatedJob({ service: svc, tasks: after, nodes: N, now: START + 5000, newId: idSource() });
  assert.deepEqual(
    later.updates.map((t) => t.DesiredState),
    ['complete'],
  );
});

test('a job slot whose task failed for good (condition none) stays failed and the others still run', () => {
  const svc = job(1, 2, { TaskTemplate: { RestartPolicy: { Condition: 'none' } } });
  const tasks = [task({ slot: 1, jobIteration: 0, state: 'failed', desired: 'complete', spec: { RestartPolicy: { Condition: 'none' } } })];
  const plan = reconcileReplicatedJob({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(
    plan.creates.map((t) => t.Slot),
    [2],
  );
});

test('a new execution of the job stops the old one and starts over', () => {
  const svc = job(1, 1, { jobIteration: 1 });
  const tasks = [task({ id: 'old-done', slot: 1, jobIteration: 0, state: 'complete', desired: 'complete' }), task({ id: 'old-run', slot: 1, jobIteration: 0, state: 'running', desired: 'complete', created: START + 1 })];
  const plan = reconcileReplicatedJob({ service: svc, tasks, nodes: N, now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => [t.ID, t.DesiredState]), [['old-run', 'shutdown']]);
  assert.deepEqual(
    plan.creates.map((t) => [t.Slot, t.JobIteration?.Index]),
    [[1, 1]],
  );
});

test('a job task on a drained node is replaced at once', () => {
  const svc = job(1, 1);
  const tasks = [task({ id: 'x', slot: 1, node: 'a', jobIteration: 0, state: 'running', desired: 'complete' })];
  const plan = reconcileReplicatedJob({ service: svc, tasks, nodes: nodes(node('a', { availability: 'drain' })), now: START, newId: idSource() });
  assert.deepEqual(plan.updates.map((t) => t.ID), ['x']);
  assert.deepEqual(
    plan.creates.map((t) => [t.Slot, t.DesiredState]),
    [[1, 'complete']],
  );
});

test('a global job runs once on every eligible node, including nodes that join later', () => {
  const svc = service({ Mode: { GlobalJob: {} }, jobIteration: 3 });
  let tasks = applyPlan([], reconcileGlobalJob({ service: svc, tasks: [], nodes: N, now: START, newId: idSource('g') }), START);
  assert.deepEqual(
    tasks.map((t) => [t.NodeID, t.DesiredState, t.JobIteration?.Index]),
    [
      ['a', 'complete', 3],
      ['b', 'complete', 3],
    ],
  );
  tasks = report(tasks, tasks[0]!.ID, { state: 'complete' });
  tasks = report(tasks, tasks[1]!.ID, { state: 'complete' });
  const grown = nodes(node('a'), node('b'), node('c'));
  const plan = reconcileGlobalJob({ service: svc, tasks, nodes: grown, now: START + 1, newId: idSource('h') });
  assert.deepEqual(plan.updates, []);
  assert.deepEqual(
    plan.creates.map((t) => t.NodeID),
    ['c'],
  );
  // Completed tasks stay as they are when their node is drained later.
  const drained = nodes(node('a', { availability: 'drain' }), node('b'), node('c'));
  const tasks2 = applyPlan(tasks, plan, START + 1);
  assert.deepEqual(reconcileGlobalJob({ service: svc, tasks: tasks2, nodes: drained, now: START + 2, newId: idSource() }), { creates: [], updates: [] });
});
