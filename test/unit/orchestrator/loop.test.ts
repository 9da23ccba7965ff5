import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkWork, type TaskOp } from '../../../manager/orchestrator/loop.js';
import { createOrchestrator } from '../../../manager/orchestrator/orchestrator.js';
import { createTaskReaper } from '../../../manager/orchestrator/task-reaper.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import { decodeTransaction } from '../../../manager/store/transaction.js';
import { txBytes } from '../store/fixtures.js';
import { idSource, ns, SECOND, task } from './fixtures.js';
import { Harness } from './harness.js';

// Everything here runs on virtual time and in-memory promises, so a test that
// waits for a round (settle, idle) or a proposal that never comes would, on
// Node 24, wait forever without a word: fail it instead.
const LIMIT = { timeout: 60_000 };

const byDesired = (ts: readonly TaskRecord[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const t of ts) out[t.DesiredState] = (out[t.DesiredState] ?? 0) + 1;
  return out;
};

test('chunkWork keeps each key’s ops together when they fit and splits only what exceeds a transaction', () => {
  const ops = (n: number): TaskOp[] => Array.from({ length: n }, () => ({ op: 'update', task: task() }));
  const chunks = chunkWork(
    [
      { key: 'a', ops: ops(3) },
      { key: 'b', ops: ops(3) },
      { key: 'c', ops: ops(9) },
      { key: 'd', ops: [] },
    ],
    4,
  );
  assert.deepEqual(
    chunks.map((c) => [[...c.keys], c.ops.length]),
    [
      [['a'], 3],
      [['b'], 3],
      [['c'], 4],
      [['c'], 4],
      [['c'], 1],
    ],
  );
});

test('a new service gets its tasks in one transaction; the loop then goes quiet', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  const orch = createOrchestrator({ newId: idSource() });
  h.start(orch);
  await h.createService('web', { Mode: { Replicated: { Replicas: 3 } } });
  const before = h.proposer.proposals.length;
  await h.settle();
  assert.equal(h.proposer.proposals.length, before + 1);
  assert.deepEqual(
    h.tasks('web').map((t) => [t.Name, t.DesiredState, t.Status.State]),
    [
      ['web.1', 'running', 'pending'],
      ['web.2', 'running', 'pending'],
      ['web.3', 'running', 'pending'],
    ],
  );
  const settled = h.proposer.proposals.length;
  await h.settle(1000);
  assert.equal(h.proposer.proposals.length, settled, 'nothing more to do');
});

test('large changes are split into transactions of at most maxOpsPerTransaction ops', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  h.start(createOrchestrator({ newId: idSource(), maxOpsPerTransaction: 1000 }));
  await h.createService('big', { Mode: { Replicated: { Replicas: 2500 } } });
  const before = h.proposer.proposals.length;
  await h.settle();
  const sizes = h.proposer.proposals.slice(before).map((p) => decodeTransaction(p).ops.length);
  assert.deepEqual(sizes, [1000, 1000, 500]);
  assert.equal(h.tasks('big').length, 2500);
});

test('a failed task is replaced in its slot after the restart delay, driven by the loop’s own timer', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  h.start(createOrchestrator({ newId: idSource() }));
  await h.createService('web', { Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { RestartPolicy: { Delay: ns(3 * SECOND) } } });
  await h.settle();
  await h.runPending();
  await h.settle();
  const victim = h.tasks('web').find((t) => t.Slot === 1)!;
  await h.report(victim.ID, 'failed');
  await h.settle(100);
  const slot1 = h.tasks('web').filter((t) => t.Slot === 1);
  assert.deepEqual(slot1.map((t) => [t.ID === victim.ID, t.DesiredState]).sort(), [
    [false, 'ready'],
    [true, 'shutdown'],
  ]);
  await h.settle(3 * SECOND);
  assert.deepEqual(
    h.tasks('web').filter((t) => t.Slot === 1 && t.ID !== victim.ID).map((t) => t.DesiredState),
    ['running'],
  );
});

test('draining a node moves its tasks; a global service follows nodes that join', LIMIT, async () => {
  const h = new Harness();
  await h.seed({ nodes: ['n1', 'n2'] });
  h.start(createOrchestrator({ newId: idSource() }));
  await h.createService('web', { Mode: { Replicated: { Replicas: 4 } } });
  await h.createService('agent', { Mode: { Global: {} } });
  await h.settle();
  await h.runPending();
  await h.settle();
  assert.deepEqual(h.tasks('agent').map((t) => t.NodeID).sort(), ['n1', 'n2']);

  await h.updateNode('n1', (n) => ({ ...n, Spec: { ...n.Spec, Availability: 'drain' } }));
  await h.settle();
  const web = h.tasks('web');
  assert.equal(web.filter((t) => t.DesiredState === 'running' && t.NodeID === 'n1').length, 0);
  assert.equal(web.filter((t) => t.DesiredState === 'running').length, 4);
  assert.deepEqual(h.tasks('agent').filter((t) => t.DesiredState === 'running').map((t) => t.NodeID), ['n2']);

  await h.store.update((t) => t.nodes.create({ ...h.memory.get('nodes', 'n2')!, ID: 'n3', Internal: { PeerID: 'peer-n3', Multiaddr: '', RaftID: 0 } }));
  await h.settle();
  assert.deepEqual(h.tasks('agent').filter((t) => t.DesiredState === 'running').map((t) => t.NodeID).sort(), ['n2', 'n3']);
});

test('a deleted service’s tasks go to desired remove and the reaper deletes them once stopped', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  h.start(createOrchestrator({ newId: idSource() }), createTaskReaper());
  await h.createService('web', { Mode: { Replicated: { Replicas: 2 } } });
  await h.settle();
  await h.runPending();
  await h.settle();
  const [a, b] = h.tasks('web');
  // The API deletes the record; here nobody marks the tasks, so the orchestrator must notice the orphans.
  await h.store.update((t) => t.services.delete('web'));
  await h.settle(300);
  assert.deepEqual(byDesired(h.tasks('web')), { remove: 2 });
  await h.report(a!.ID, 'shutdown');
  await h.settle(300);
  assert.deepEqual(h.tasks('web').map((t) => t.ID), [b!.ID]);
  await h.updateNode(b!.NodeID!, (n) => ({ ...n, Status: { ...n.Status, State: 'down' } }));
  await h.settle(300);
  assert.deepEqual(h.tasks('web'), []);
});

test('task history stays within the retention limit while a task keeps failing', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  await h.store.update((t) => {
    const c = h.memory.list('cluster')[0]!;
    t.cluster.update({ ...c, Spec: { ...c.Spec, Orchestration: { TaskHistoryRetentionLimit: 3 } } });
  });
  h.start(createOrchestrator({ newId: idSource() }), createTaskReaper());
  await h.createService('crash', { TaskTemplate: { RestartPolicy: { Delay: 0 } } });
  await h.settle();
  for (let i = 0; i < 8; i++) {
    await h.runPending();
    await h.settle();
    const running = h.tasks('crash').find((t) => t.DesiredState === 'running')!;
    await h.report(running.ID, 'failed');
    await h.settle(300);
  }
  const tasks = h.tasks('crash');
  assert.equal(tasks.length, 3);
  assert.equal(tasks.filter((t) => t.DesiredState === 'running').length, 1);
});

test('a conflicting write fails the round’s transaction; the next round re-reads and converges', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  h.start(createOrchestrator({ newId: idSource(), retryMs: 50 }));
  await h.createService('web', { Mode: { Replicated: { Replicas: 1 } } });
  await h.settle();
  await h.runPending();
  await h.settle();
  const t1 = h.tasks('web')[0]!;
  // Another writer (an agent's late report) commits between the orchestrator's read and its proposal.
  const propose = h.proposer.propose.bind(h.proposer);
  let interfered = 0;
  h.proposer.propose = (data: Uint8Array) => {
    if (interfered === 0 && decodeTransaction(data).ops.some((o) => o.op === 'update' && o.object.ID === t1.ID && o.object['DesiredState'] === 'shutdown')) {
      interfered++;
      const now = h.memory.get('tasks', t1.ID)!;
      void propose(txBytes((t) => t.tasks.update({ ...now, Status: { ...now.Status, Message: 'exit code 1' } })));
    }
    return propose(data);
  };
  await h.report(t1.ID, 'failed');
  await h.settle(300);
  assert.equal(interfered, 1);
  assert.equal(h.memory.get('tasks', t1.ID)!.Status.Message, 'exit code 1');
  assert.deepEqual(byDesired(h.tasks('web')), { shutdown: 1, ready: 1 });
});

test('after stop nothing is proposed and no timer is left; a new leader’s loop finds what changed meanwhile', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  const first = createOrchestrator({ newId: idSource('a') });
  h.start(first);
  await h.createService('web', { Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { RestartPolicy: { Delay: ns(60 * SECOND) } } });
  await h.settle();
  await h.runPending();
  await h.settle();
  await h.report(h.tasks('web')[0]!.ID, 'failed');
  await h.settle();
  assert.equal(h.clock.pending(), 1, 'the restart delay timer');
  await first.stop();
  assert.equal(h.clock.pending(), 0);

  const before = h.proposer.proposals.length;
  await h.updateService('web', (s) => ({ ...s, Spec: { ...s.Spec, Mode: { Replicated: { Replicas: 3 } } } }));
  await h.settle(2 * 60 * SECOND, 1000);
  assert.equal(h.proposer.proposals.length, before + 1, 'only the test’s own write');

  const second = createOrchestrator({ newId: idSource('b') });
  h.start(second);
  await h.settle();
  const tasks = h.tasks('web');
  assert.equal(tasks.filter((t) => t.DesiredState === 'running').length, 3, 'two running plus the promoted restart');
  assert.equal(tasks.length, 4);
});

test('a restart delay that runs out while a round waits on Raft is not lost', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  h.start(createOrchestrator({ newId: idSource() }));
  await h.createService('crash', { TaskTemplate: { RestartPolicy: { Delay: ns(1 * SECOND) } } });
  await h.settle();
  await h.runPending();
  await h.settle();
  await h.report(h.tasks('crash')[0]!.ID, 'failed');
  await h.settle(100);
  const restarted = h.tasks('crash').find((t) => t.DesiredState === 'ready')!;

  // The next proposal (another service's tasks) hangs in "Raft" until after the delay is over.
  const propose = h.proposer.propose.bind(h.proposer);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reached!: () => void;
  const holding = new Promise<void>((r) => (reached = r));
  let held = 0;
  h.proposer.propose = (data: Uint8Array) => {
    const createsTasks = decodeTransaction(data).ops.some((o) => o.op === 'create' && o.table === 'tasks');
    if (createsTasks && held++ === 0) {
      reached();
      return gate.then(() => propose(data));
    }
    return propose(data);
  };
  await h.createService('other', {});
  h.clock.advance(30); // the round for "other" starts and proposes
  await holding;
  h.clock.advance(2 * SECOND); // the restart timer fires while that round waits
  assert.equal(h.memory.get('tasks', restarted.ID)!.DesiredState, 'ready');
  release();
  await h.settle(100);
  assert.equal(h.memory.get('tasks', restarted.ID)!.DesiredState, 'running');
});

test('a replicated job runs to completion through the loop, MaxConcurrent at a time', LIMIT, async () => {
  const h = new Harness();
  await h.seed();
  h.start(createOrchestrator({ newId: idSource() }), createTaskReaper());
  await h.createService('batch', { Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } } }, { JobStatus: { JobIteration: { Index: 0 } } });
  await h.settle();
  for (let i = 0; i < 10; i++) {
    await h.runPending();
    await h.settle();
    const running = h.tasks('batch').filter((t) => t.Status.State === 'running');
    assert.ok(running.length <= 2);
    if (running.length === 0) break;
    await h.report(running[0]!.ID, 'complete');
    await h.settle();
  }
  const tasks = h.tasks('batch');
  assert.equal(tasks.length, 5);
  assert.ok(tasks.every((t) => t.Status.State === 'complete' && t.DesiredState === 'complete' && t.JobIteration?.Index === 0));
  assert.deepEqual(
    tasks.map((t) => t.Slot).sort(),
    [1, 2, 3, 4, 5],
  );
});
