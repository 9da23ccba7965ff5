import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planReap, type ReapInput } from '../../../manager/orchestrator/reaper.js';
import type { TaskRecord, TaskState } from '../../../shared/model/index.js';
import { node, nodes, service, START, task } from './fixtures.js';

const N = nodes(node('a'), node('b'), node('down', { state: 'down' }), node('unknown', { state: 'unknown' }));

function reap(over: Partial<ReapInput> & { tasks: TaskRecord[] }): string[] {
  return planReap({ service: service(), nodes: N, retentionLimit: 5, now: START, ...over })
    .map((t) => t.ID)
    .sort();
}

/** A slot's history: `n` stopped tasks (oldest first, IDs h1..hn) then, optionally, the running one. */
function history(n: number, slot = 1, withRunning = true): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (let i = 1; i <= n; i++) out.push(task({ id: `s${slot}h${i}`, slot, node: 'a', state: 'failed', desired: 'shutdown', created: START + i * 1000 }));
  if (withRunning) out.push(task({ id: `s${slot}run`, slot, node: 'a', created: START + (n + 1) * 1000 }));
  return out;
}

test('keeps TaskHistoryRetentionLimit tasks per slot, the running one included, deleting the oldest', () => {
  assert.deepEqual(reap({ tasks: history(4) }), []);
  assert.deepEqual(reap({ tasks: history(6) }), ['s1h1', 's1h2']);
  const two = service({ Mode: { Replicated: { Replicas: 2 } } });
  assert.deepEqual(reap({ service: two, tasks: [...history(6, 1), ...history(5, 2)] }), ['s1h1', 's1h2', 's2h1']);
});

test('a negative limit keeps all history; zero keeps none but the slot’s newest task', () => {
  assert.deepEqual(reap({ tasks: history(8), retentionLimit: -1 }), []);
  assert.deepEqual(reap({ tasks: history(3), retentionLimit: 0 }), ['s1h1', 's1h2', 's1h3']);
  // A slot used up under the restart policy: its last task is all that says so.
  assert.deepEqual(reap({ tasks: history(3, 1, false), retentionLimit: 0 }), ['s1h1', 's1h2']);
});

test('with MaxAttempts the slot keeps MaxAttempts + 1 tasks so restarts can still be counted', () => {
  const svc = service({ TaskTemplate: { RestartPolicy: { MaxAttempts: 7 } } });
  assert.deepEqual(reap({ service: svc, tasks: history(7) }), []);
  assert.deepEqual(reap({ service: svc, tasks: history(8) }), ['s1h1']);
});

test('never deletes a task the orchestrator has not dealt with, nor one that still runs', () => {
  const tasks = [
    ...history(5),
    task({ id: 'failed-unhandled', slot: 1, node: 'a', state: 'failed', desired: 'running', created: START }),
    task({ id: 'stopping', slot: 1, node: 'a', state: 'running', desired: 'shutdown', created: START }),
  ];
  assert.deepEqual(reap({ tasks, retentionLimit: 0 }), ['s1h1', 's1h2', 's1h3', 's1h4', 's1h5']);
});

test('a task stopped by the cluster on a node that was then removed counts as stopped', () => {
  const two = service({ Mode: { Replicated: { Replicas: 1 } } });
  const tasks = [
    task({ id: 'lost', slot: 1, node: 'zz', state: 'running', desired: 'shutdown', created: START }),
    task({ id: 'on-down', slot: 1, node: 'down', state: 'running', desired: 'shutdown', created: START + 1 }),
    task({ id: 'now', slot: 1, node: 'a', created: START + 2 }),
  ];
  assert.deepEqual(reap({ service: two, tasks, retentionLimit: 1 }), ['lost']);
});

test('tasks desired "remove" are deleted once stopped, never placed, or on a node that is gone, down or unknown', () => {
  const remove = (id: string, state: TaskState, nodeId?: string): TaskRecord => task({ id, state, desired: 'remove', ...(nodeId ? { node: nodeId } : {}), serviceId: 'gone' });
  const tasks = [
    remove('stopped', 'shutdown', 'a'),
    remove('pending', 'pending'),
    remove('on-down', 'running', 'down'),
    remove('on-unknown', 'running', 'unknown'),
    remove('on-removed', 'running', 'zz'),
    remove('still-running', 'running', 'a'),
    remove('assigned', 'assigned', 'b'),
  ];
  assert.deepEqual(reap({ service: undefined, tasks }), ['on-down', 'on-removed', 'on-unknown', 'pending', 'stopped']);
});

test('a deleted service’s tasks not yet desired "remove" are left to the orchestrator', () => {
  assert.deepEqual(reap({ service: undefined, tasks: [task({ state: 'failed', desired: 'shutdown' })] }), []);
});

test('the history of slots a scale down gave up is deleted once their tasks stopped', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 1 } } });
  const tasks = [
    task({ id: 'kept', slot: 1, node: 'a' }),
    task({ id: 'kept-old', slot: 1, node: 'a', state: 'failed', desired: 'shutdown' }),
    task({ id: 'gone-stopped', slot: 2, node: 'b', state: 'shutdown', desired: 'shutdown' }),
    task({ id: 'gone-stopping', slot: 3, node: 'b', state: 'running', desired: 'shutdown' }),
  ];
  assert.deepEqual(reap({ service: svc, tasks }), ['gone-stopped']);
});

test('a slot owed a restart, or used up under the restart policy, keeps its history', () => {
  const svc = service({ Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { RestartPolicy: { Condition: 'on-failure' } } });
  const tasks = [
    task({ id: 'done', slot: 1, node: 'a', state: 'complete', desired: 'shutdown', spec: { RestartPolicy: { Condition: 'on-failure' } } }),
    task({ id: 'failed', slot: 2, node: 'a', state: 'failed', desired: 'shutdown', spec: { RestartPolicy: { Condition: 'on-failure' } } }),
  ];
  assert.deepEqual(reap({ service: svc, tasks }), []);
});

test('global services keep history per node, and lose that of removed nodes', () => {
  const svc = service({ Mode: { Global: {} } });
  const perNode = (nodeId: string, n: number): TaskRecord[] =>
    Array.from({ length: n }, (_, i) => task({ id: `${nodeId}${i + 1}`, node: nodeId, state: 'failed', desired: 'shutdown', created: START + i }));
  const tasks = [...perNode('a', 6), ...perNode('b', 5), ...perNode('zz', 2)];
  assert.deepEqual(reap({ service: svc, tasks }), ['a1', 'zz1', 'zz2']);
});

test('completed tasks of the current job execution are its record and stay; earlier executions are history', () => {
  const svc = service({ Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } }, jobIteration: 2 });
  const tasks = [
    task({ id: 'now', slot: 1, jobIteration: 2, state: 'complete', desired: 'complete', created: START + 10 }),
    task({ id: 'before', slot: 1, jobIteration: 1, state: 'complete', desired: 'complete', created: START + 5 }),
    task({ id: 'failed-before', slot: 1, jobIteration: 1, state: 'failed', desired: 'shutdown', created: START + 1 }),
  ];
  assert.deepEqual(reap({ service: svc, tasks, retentionLimit: 0 }), ['before', 'failed-before']);
});
