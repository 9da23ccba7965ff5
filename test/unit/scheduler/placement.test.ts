import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MinHeap } from '../../../manager/scheduler/heap.js';
import { scheduleRound } from '../../../manager/scheduler/placement.js';
import { ASSIGNED_MESSAGE, assignedTask, explainedTask, PREASSIGNED_MESSAGE } from '../../../manager/scheduler/task-updates.js';
import type { TaskSpec } from '../../../shared/model/index.js';
import { cluster, GiB, lookup, MiB, node, pendingTasks, perNode, service, task } from './helpers.js';

test('spread: 30 tasks over 3 nodes go 10/10/10', () => {
  const state = cluster([node('a'), node('b'), node('c')]);
  const r = scheduleRound(state, pendingTasks('s1', 30), lookup());
  assert.equal(r.unplaced.length, 0);
  assert.deepEqual(perNode(r.assigned), { a: 10, b: 10, c: 10 });
  // The state records the placements.
  assert.equal(state.info('a')!.serviceCount('s1'), 10);
  assert.equal(state.info('b')!.activeTotal, 10);
});

test('spread counts tasks already there: fewest of the service first, then fewest overall', () => {
  const placed = [
    ...Array.from({ length: 5 }, (_, i) => task(`old${i}`, 's1', { nodeId: 'a', state: 'running' })),
    task('x1', 's2', { nodeId: 'b', state: 'running' }),
    task('x2', 's2', { nodeId: 'b', state: 'running' }),
  ];
  const state = cluster([node('a'), node('b'), node('c')], placed);
  const r = scheduleRound(state, pendingTasks('s1', 4), lookup());
  // b and c hold none of s1; c is emptier overall, so it gets the first and the odd one.
  assert.deepEqual(r.assigned.map((a) => a.nodeId), ['c', 'b', 'c', 'b']);
  const more = scheduleRound(state, pendingTasks('s1', 7).map((t) => ({ ...t, ID: `more-${t.ID}` })), lookup());
  assert.deepEqual(perNode(more.assigned), { b: 3, c: 3, a: 1 });
  assert.deepEqual(['a', 'b', 'c'].map((n) => state.info(n)!.serviceCount('s1')), [6, 5, 5]);
});

test('placement preferences: 2 zones with 1 and 2 nodes get half the tasks each', () => {
  const spec: TaskSpec = { Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] } };
  const state = cluster([node('a1', { labels: { zone: 'a' } }), node('b1', { labels: { zone: 'b' } }), node('b2', { labels: { zone: 'b' } })]);
  const r = scheduleRound(state, pendingTasks('s1', 30, { spec }), lookup());
  assert.equal(r.unplaced.length, 0);
  const n = perNode(r.assigned);
  assert.equal(n['a1'], 15);
  assert.equal((n['b1'] ?? 0) + (n['b2'] ?? 0), 15);
  assert.ok(Math.abs((n['b1'] ?? 0) - (n['b2'] ?? 0)) <= 1);
});

test('nested preferences split by zone, then by rack within each zone; nodes without the label form their own branch', () => {
  const spec: TaskSpec = {
    Placement: {
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }, { Spread: { SpreadDescriptor: 'node.labels.rack' } }],
    },
  };
  const nodes = [
    node('a-r1-1', { labels: { zone: 'a', rack: 'r1' } }),
    node('a-r1-2', { labels: { zone: 'a', rack: 'r1' } }),
    node('a-r1-3', { labels: { zone: 'a', rack: 'r1' } }),
    node('a-r2-1', { labels: { zone: 'a', rack: 'r2' } }),
    node('b-r1-1', { labels: { zone: 'b', rack: 'r1' } }),
    node('nolabel'),
  ];
  const r = scheduleRound(cluster(nodes), pendingTasks('s1', 24, { spec }), lookup());
  const n = perNode(r.assigned);
  // Three zone values (a, b, ""): 8 each; zone a splits 4/4 between its racks.
  assert.equal(n['b-r1-1'], 8);
  assert.equal(n['nolabel'], 8);
  assert.equal(n['a-r2-1'], 4);
  assert.equal((n['a-r1-1'] ?? 0) + (n['a-r1-2'] ?? 0) + (n['a-r1-3'] ?? 0), 4);
});

test('preferences count the service\'s existing tasks per branch and skip branches with no usable node', () => {
  const spec: TaskSpec = { Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], Constraints: ['node.labels.ok==yes'] } };
  const nodes = [
    node('a1', { labels: { zone: 'a', ok: 'yes' } }),
    node('b1', { labels: { zone: 'b', ok: 'yes' } }),
    node('c1', { labels: { zone: 'c' } }),
  ];
  const placed = Array.from({ length: 4 }, (_, i) => task(`old${i}`, 's1', { nodeId: 'a1', state: 'running', spec }));
  const r = scheduleRound(cluster(nodes, placed), pendingTasks('s1', 6, { spec }), lookup());
  // Zone c cannot take any; b catches up with a's 4, then they alternate.
  assert.deepEqual(perNode(r.assigned), { b1: 5, a1: 1 });
  // Unsupported descriptors are skipped, as in swarmkit.
  const odd: TaskSpec = { Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.hostname' } }] } };
  assert.deepEqual(perNode(scheduleRound(cluster([node('x'), node('y')]), pendingTasks('s9', 4, { spec: odd }), lookup()).assigned), { x: 2, y: 2 });
});

test('MaxReplicas: at most that many of the service per node; the rest stay pending and say why', () => {
  const spec: TaskSpec = { Placement: { MaxReplicas: 2 } };
  const r = scheduleRound(cluster([node('a'), node('b'), node('c')]), pendingTasks('s1', 10, { spec }), lookup());
  assert.deepEqual(perNode(r.assigned), { a: 2, b: 2, c: 2 });
  assert.equal(r.unplaced.length, 4);
  for (const u of r.unplaced) assert.equal(u.err, 'no suitable node (max replicas per node limit exceed)');
});

test('reservations: tasks fill nodes up to their memory, then explain', () => {
  const spec: TaskSpec = { Resources: { Reservations: { MemoryBytes: 400 * MiB } } };
  const r = scheduleRound(cluster([node('a', { memory: GiB }), node('b', { memory: GiB })]), pendingTasks('s1', 5, { spec }), lookup());
  assert.deepEqual(perNode(r.assigned), { a: 2, b: 2 });
  assert.deepEqual(r.unplaced.map((u) => u.err), ['no suitable node (insufficient memory on 2 nodes)']);
});

test('the explanation of a pending task names every reason, most common first', () => {
  const spec: TaskSpec = { Resources: { Reservations: { MemoryBytes: 2 * GiB } }, Placement: { Constraints: ['node.labels.zone==eu'] } };
  const nodes = [
    node('m1', { memory: GiB, labels: { zone: 'eu' } }),
    node('m2', { memory: GiB, labels: { zone: 'eu' } }),
    node('m3', { memory: GiB }),
    node('c1', { labels: { zone: 'us' } }),
    node('c2', { memory: 16 * GiB }),
  ];
  const r = scheduleRound(cluster(nodes), pendingTasks('s1', 2, { spec }), lookup());
  assert.equal(r.assigned.length, 0);
  assert.deepEqual(
    r.unplaced.map((u) => u.err),
    Array(2).fill('no suitable node (insufficient memory on 3 nodes; scheduling constraints not satisfied on 2 nodes)'),
  );
  const none = scheduleRound(cluster([]), pendingTasks('s1', 1), lookup());
  assert.equal(none.unplaced[0]!.err, 'no suitable node');
  const down = scheduleRound(cluster([node('d', { state: 'down' })]), pendingTasks('s1', 1), lookup());
  assert.equal(down.unplaced[0]!.err, 'no suitable node (1 node not available for new tasks)');
});

test('host-mode ports: one task per node, the next explains', () => {
  const web = service('s1', { ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] });
  const r = scheduleRound(cluster([node('a'), node('b'), node('c')], [], [web]), pendingTasks('s1', 4), lookup([web]));
  assert.deepEqual(perNode(r.assigned), { a: 1, b: 1, c: 1 });
  assert.equal(r.unplaced[0]!.err, 'no suitable node (host-mode port already in use on 3 nodes)');
});

test('global tasks come with their node: assigned if it still fits, explained otherwise', () => {
  const spec: TaskSpec = { Resources: { Reservations: { MemoryBytes: 2 * GiB } } };
  const nodes = [node('ok'), node('drained', { availability: 'drain' }), node('small', { memory: GiB })];
  const tasks = [
    task('g-ok', 'g', { slot: 0, nodeId: 'ok', spec }),
    task('g-drained', 'g', { slot: 0, nodeId: 'drained', spec }),
    task('g-small', 'g', { slot: 0, nodeId: 'small', spec }),
    task('g-gone', 'g', { slot: 0, nodeId: 'gone', spec }),
  ];
  const state = cluster(nodes);
  const r = scheduleRound(state, tasks, lookup());
  assert.deepEqual(r.assigned.map((a) => [a.task.ID, a.nodeId, a.preassigned]), [['g-ok', 'ok', true]]);
  assert.deepEqual(Object.fromEntries(r.unplaced.map((u) => [u.task.ID, u.err])), {
    'g-drained': 'no suitable node (1 node not available for new tasks)',
    'g-small': 'no suitable node (insufficient memory on 1 node)',
    'g-gone': 'no suitable node (node gone is not in the swarm)',
  });
  assert.equal(state.info('ok')!.availableMemoryBytes, 6 * GiB);
});

test('only pending tasks desired ready, running or complete are placed', () => {
  const tasks = [
    task('run', 's1', { desired: 'running' }),
    task('ready', 's1', { desired: 'ready', slot: 2 }),
    task('job', 's1', { desired: 'complete', slot: 3 }),
    task('stop', 's1', { desired: 'shutdown', slot: 4 }),
    task('new', 's1', { state: 'new', slot: 5 }),
    task('assigned', 's1', { state: 'assigned', nodeId: 'a', slot: 6 }),
  ];
  const r = scheduleRound(cluster([node('a'), node('b')]), tasks, lookup());
  assert.deepEqual(r.assigned.map((a) => a.task.ID).sort(), ['job', 'ready', 'run']);
  assert.equal(r.unplaced.length, 0);
});

test('a spec that cannot be parsed keeps its tasks pending with the reason', () => {
  const spec: TaskSpec = { Placement: { Constraints: ['node.labels.zone'] } };
  const r = scheduleRound(cluster([node('a')]), pendingTasks('s1', 2, { spec }), lookup());
  assert.equal(r.assigned.length, 0);
  assert.equal(r.unplaced[0]!.err, 'no suitable node (invalid placement constraint "node.labels.zone": constraint expected one operator from ==, !=)');
});

test('batches of one service at different spec versions see each other\'s placements', () => {
  const tasks = [...pendingTasks('s1', 3, { specVersion: 1 }), ...pendingTasks('s1', 3, { specVersion: 2 }).map((t) => ({ ...t, ID: `v2-${t.ID}` }))];
  const r = scheduleRound(cluster([node('a'), node('b'), node('c')]), tasks, lookup());
  assert.deepEqual(perNode(r.assigned), { a: 2, b: 2, c: 2 });
});

test('rounds are deterministic and a large batch spreads evenly', () => {
  const nodes = Array.from({ length: 200 }, (_, i) => node(`n${String(i).padStart(3, '0')}`, { labels: { zone: `z${i % 3}` } }));
  const spec: TaskSpec = { Placement: { Constraints: ['node.labels.zone!=z2'] } };
  const tasks = pendingTasks('s1', 5000, { spec });
  const r1 = scheduleRound(cluster(nodes), tasks, lookup());
  const r2 = scheduleRound(cluster(nodes), [...tasks].reverse(), lookup());
  assert.deepEqual(
    r1.assigned.map((a) => [a.task.ID, a.nodeId]),
    r2.assigned.map((a) => [a.task.ID, a.nodeId]),
  );
  const counts = Object.entries(perNode(r1.assigned));
  // 134 nodes outside z2; 5000 tasks -> 37 or 38 each.
  assert.equal(counts.length, 134);
  assert.ok(counts.every(([id, n]) => !nodes.find((x) => x.ID === id)!.Spec.Labels!['zone']!.endsWith('2') && (n === 37 || n === 38)));
});

test('task writes: assigned tasks get NodeID and a fresh status; an unchanged explanation writes nothing', () => {
  const t = task('t1', 's1', { err: 'no suitable node (insufficient memory on 1 node)' });
  const a = assignedTask({ task: t, nodeId: 'n1', preassigned: false }, '2024-05-01T12:00:05.000000000Z');
  assert.equal(a.NodeID, 'n1');
  assert.deepEqual(a.Status, { Timestamp: '2024-05-01T12:00:05.000000000Z', State: 'assigned', Message: ASSIGNED_MESSAGE });
  assert.equal(a.DesiredState, 'running');
  assert.equal(assignedTask({ task: t, nodeId: 'n1', preassigned: true }, 'x').Status.Message, PREASSIGNED_MESSAGE);
  assert.equal(explainedTask({ task: t, err: 'no suitable node (insufficient memory on 1 node)' }, 'x'), undefined);
  const e = explainedTask({ task: t, err: 'no suitable node' }, '2024-05-01T12:00:05.000000000Z')!;
  assert.equal(e.Status.State, 'pending');
  assert.equal(e.Status.Message, 'pending task scheduling');
  assert.equal(e.Status.Err, 'no suitable node');
  assert.equal(e.NodeID, undefined);
});

test('the heap yields items in order and re-sorts a grown top', () => {
  const items = [5, 3, 9, 1, 7, 2, 8].map((v) => ({ v }));
  const h = new MinHeap(items, (a, b) => a.v < b.v);
  h.peek()!.v = 6;
  h.topIncreased();
  h.push({ v: 0 });
  const out: number[] = [];
  while (h.size > 0) out.push(h.pop()!.v);
  assert.deepEqual(out, [0, 2, 3, 5, 6, 7, 8, 9]);
});
