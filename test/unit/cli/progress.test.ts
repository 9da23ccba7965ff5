// Convergence progress: docker's ServiceProgress decisions and its terminal rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvergenceWatch, progressBar, ProgressRenderer, truncError, type ProgressRecord } from '../../../cli/format/progress.js';
import type { Service, ServiceSpec, Task, TaskState } from '../../../shared/model/index.js';

function service(spec: Partial<ServiceSpec>, over: Partial<Service> = {}): Service {
  return {
    ID: 'svc1',
    Version: { Index: 3 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, ...spec },
    ...over,
  };
}

function task(slot: number, state: TaskState, over: Partial<Task> = {}): Task {
  return {
    ID: `t${slot}-${state}`,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: 'svc1',
    Slot: slot,
    NodeID: 'n1',
    Spec: {},
    Status: { Timestamp: '', State: state, Message: '' },
    DesiredState: 'running',
    ...over,
  };
}

function recorder(): { records: ProgressRecord[]; emit: (p: ProgressRecord) => void; lines: () => string[] } {
  const records: ProgressRecord[] = [];
  return {
    records,
    emit: (p) => void records.push(p),
    lines: () => records.map((r) => `${r.id}: ${r.message ?? r.action ?? ''}${r.total ? ` [${r.current}/${r.total}]` : ''}`),
  };
}

const nodes = new Set(['n1']);

test('replicated: slot lines, overall progress, then verify after the monitor period', () => {
  const r = recorder();
  const w = new ConvergenceWatch('svc1', r.emit);
  const s = service({ Mode: { Replicated: { Replicas: 3 } } });
  assert.deepEqual(w.onService(s, 0), { kind: 'continue' });
  assert.deepEqual(w.onTasks(s, [task(1, 'running'), task(2, 'preparing'), task(3, 'pending')], nodes, 0), { kind: 'continue' });
  assert.deepEqual(r.lines(), [
    'overall progress: 0 out of 3 tasks',
    '1/3:  ',
    '2/3:  ',
    '3/3:  ',
    '1/3: running   [9/9]',
    '2/3: preparing [6/9]',
    '3/3: pending   [3/9]',
    'overall progress: 1 out of 3 tasks',
  ]);
  r.records.length = 0;
  w.onService(s, 1000);
  w.onTasks(s, [task(1, 'running'), task(2, 'running'), task(3, 'running')], nodes, 1000);
  assert.deepEqual(r.lines(), [
    '1/3: running   [9/9]',
    '2/3: running   [9/9]',
    '3/3: running   [9/9]',
    'overall progress: 3 out of 3 tasks',
    'verify: Waiting 5 seconds to verify that tasks are stable...',
  ]);
  r.records.length = 0;
  assert.deepEqual(w.onService(s, 3500), { kind: 'continue' });
  w.onTasks(s, [task(1, 'running'), task(2, 'running'), task(3, 'running')], nodes, 3500);
  assert.deepEqual(r.lines(), ['verify: Waiting 3 seconds to verify that tasks are stable...']);
  r.records.length = 0;
  assert.deepEqual(w.onService(s, 6000), { kind: 'done' });
  assert.deepEqual(r.lines(), ['verify: Service svc1 converged']);
});

test('replicated: a failure after convergence restarts the wait; errors show in the slot line', () => {
  const r = recorder();
  const w = new ConvergenceWatch('svc1', r.emit);
  const s = service({ Mode: { Replicated: { Replicas: 1 } }, UpdateConfig: { Monitor: 2e9 } });
  w.onService(s, 0);
  w.onTasks(s, [task(1, 'running')], nodes, 0);
  r.records.length = 0;
  w.onService(s, 1000);
  const failed = task(1, 'pending', { Status: { Timestamp: '', State: 'pending', Message: '', Err: 'no suitable node (insufficient memory on 3 nodes)' } });
  w.onTasks(s, [failed, task(1, 'failed', { DesiredState: 'shutdown' })], nodes, 1000);
  assert.deepEqual(r.lines(), [
    '1/1: no suitable node (insufficient memory on 3 nodes)',
    'overall progress: 0 out of 1 tasks',
    'verify: Detected task failure',
  ]);
});

test('update status: paused and rollback_paused end the watch with docker\'s errors; rollbacks are announced', () => {
  const r = recorder();
  const w = new ConvergenceWatch('svc1', r.emit);
  const base = { Mode: { Replicated: { Replicas: 2 } } };
  const paused = service(base, { UpdateStatus: { State: 'paused', Message: 'update paused due to failure or early termination of task t1' } });
  assert.deepEqual(w.onService(paused, 0), {
    kind: 'failed',
    message: 'service update paused: update paused due to failure or early termination of task t1',
  });
  const rolling = service(base, { UpdateStatus: { State: 'rollback_started', Message: 'manually requested rollback' } });
  const w2 = new ConvergenceWatch('svc1', r.emit);
  r.records.length = 0;
  w2.onService(rolling, 0);
  w2.onTasks(rolling, [task(1, 'running')], nodes, 0);
  assert.deepEqual(r.lines().filter((l) => !/^\d/.test(l)), [
    'rollback: manually requested rollback',
    'overall progress: rolling back update: 0 out of 2 tasks',
    'overall progress: rolling back update: 1 out of 2 tasks',
  ]);
  const stuck = service(base, { UpdateStatus: { State: 'rollback_paused', Message: 'rollback paused due to failure' } });
  assert.deepEqual(w2.onService(stuck, 10), { kind: 'failed', message: 'service rollback paused: rollback paused due to failure' });
  // A completed update seen before convergence ends the watch at once (docker does the same).
  const done = service(base, { UpdateStatus: { State: 'completed', Message: 'update completed' } });
  assert.deepEqual(new ConvergenceWatch('svc1', r.emit).onService(done, 0), { kind: 'done' });
});

test('global: tasks per node, "waiting for new tasks" until there are some', () => {
  const r = recorder();
  const w = new ConvergenceWatch('svc1', r.emit);
  const s = service({ Mode: { Global: {} } });
  w.onService(s, 0);
  w.onTasks(s, [], nodes, 0);
  const g = (node: string, state: TaskState): Task => task(0, state, { ID: `g-${node}`, Slot: 0, NodeID: node });
  w.onTasks(s, [g('node-aaaaaaaaaaaaaaaaa', 'running'), g('node-b', 'starting')], new Set(['node-aaaaaaaaaaaaaaaaa', 'node-b']), 10);
  assert.deepEqual(r.lines(), [
    'overall progress: waiting for new tasks',
    'overall progress: 0 out of 2 tasks',
    'node-aaaaaaa: running   [9/9]',
    'node-b: starting  [8/9]',
    'overall progress: 1 out of 2 tasks',
  ]);
});

test('replicated job: job progress and active tasks; "job complete" ends without verifying', () => {
  const r = recorder();
  const w = new ConvergenceWatch('svc1', r.emit);
  const s = service({ Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } } }, { JobStatus: { JobIteration: { Index: 4 } } });
  const j = (slot: number, state: TaskState, iteration = 4): Task => task(slot, state, { JobIteration: { Index: iteration }, DesiredState: 'complete' });
  w.onService(s, 0);
  w.onTasks(s, [j(0, 'complete'), j(1, 'running'), j(2, 'pending'), j(0, 'failed', 3)], nodes, 0);
  assert.deepEqual(r.lines(), [
    'job progress: 0 out of 3 complete [0/3]',
    'active tasks: 0 out of 2 tasks',
    '1/3:  ',
    '2/3:  ',
    '3/3:  ',
    '1/3: complete  [10/10]',
    '2/3: running   [9/10]',
    '3/3: pending   [3/10]',
    'job progress: 1 out of 3 complete [1/3]',
    'active tasks: 2 out of 2 tasks',
  ]);
  r.records.length = 0;
  assert.deepEqual(w.onTasks(s, [j(0, 'complete'), j(1, 'complete'), j(2, 'complete')], nodes, 10), { kind: 'done' });
  assert.deepEqual(r.lines().slice(-1), [': job complete']);
});

test('rendering off a terminal: no bars, each line once per change', () => {
  const out = new ProgressRenderer(false, 80);
  const text = [
    { id: 'overall progress', action: '0 out of 2 tasks' },
    { id: '1/2', action: ' ' },
    { id: '1/2', action: 'running  ', current: 9, total: 9 },
    { id: 'overall progress', action: '0 out of 2 tasks' },
    { id: 'overall progress', action: '1 out of 2 tasks' },
    { id: 'verify', action: 'Service svc1 converged' },
  ]
    .map((p) => out.render(p))
    .join('');
  assert.equal(text, 'overall progress: 0 out of 2 tasks\n1/2:  \noverall progress: 1 out of 2 tasks\nverify: Service svc1 converged\n');
});

test('rendering on a terminal: one line per ID, redrawn in place, bars when wider than 110 columns', () => {
  const out = new ProgressRenderer(true, 120);
  assert.equal(out.render({ id: 'overall progress', action: '0 out of 1 tasks' }), '\n\x1b[1A\x1b[2K\roverall progress: 0 out of 1 tasks \r\x1b[1B');
  assert.equal(
    out.render({ id: '1/1', action: 'running  ', current: 9, total: 9 }),
    `\n\x1b[1A\x1b[2K\r1/1: running   [${'='.repeat(50)}>] \r\x1b[1B`,
  );
  assert.equal(out.render({ id: 'overall progress', action: '1 out of 1 tasks' }), '\x1b[2A\x1b[2K\roverall progress: 1 out of 1 tasks \r\x1b[2B');
  assert.equal(out.render({ id: '', message: 'job complete' }), 'job complete\n');
  assert.equal(new ProgressRenderer(true, 80).render({ id: '1/1', action: 'running  ', current: 9, total: 9 }), '\n\x1b[1A\x1b[2K\r1/1: running   \r\x1b[1B');
});

test('bars and error truncation as docker draws them', () => {
  assert.equal(progressBar(6, 9, 200), `[${'='.repeat(33)}>${' '.repeat(17)}] `);
  assert.equal(progressBar(0, 0, 200), '');
  assert.equal(truncError('a\nb'), 'a b');
  assert.equal(truncError('x'.repeat(80)), `${'x'.repeat(74)}…`);
});
