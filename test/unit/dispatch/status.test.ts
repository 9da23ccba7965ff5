// Task status reports on the leader: which reports may change a task
// (forward only, own node only, nothing after a terminal state), how reports
// for one task are merged, and how the batcher coalesces them into few
// proposals, retries conflicts and bounds what waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import { StatusBatcher, type StatusWriter } from '../../../manager/dispatcher/status-batcher.js';
import { applyReport, mergeReports } from '../../../manager/dispatcher/status-updates.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { FakeProposer } from '../store/fixtures.js';
import { report, taskDraft } from './fixtures.js';

const log = createLogger({ level: 'silent' });

function stored(over: Partial<TaskRecord> = {}): TaskRecord {
  return { ...(taskDraft('t1', over) as TaskRecord), Version: { Index: 5 }, CreatedAt: '', UpdatedAt: '' };
}

test('applyReport: forward moves are applied, backward and repeated ones are stale', () => {
  const t = stored({ Status: { Timestamp: 'x', State: 'preparing', Message: 'preparing' } });
  const v = applyReport(t, 'n1', report('t1', 'running'));
  assert.equal(v.kind, 'apply');
  assert.equal(v.kind === 'apply' && v.task.Status.State, 'running');
  assert.equal(v.kind === 'apply' && v.task.Version.Index, 5, 'based on the version read');
  assert.deepEqual(applyReport(t, 'n1', report('t1', 'accepted')), { kind: 'stale' });
  assert.deepEqual(applyReport(t, 'n1', report('t1', 'preparing')), { kind: 'stale' });
});

test('applyReport: nothing moves a terminal task, not even to another terminal state', () => {
  const done = stored({ Status: { Timestamp: 'x', State: 'complete', Message: 'finished' } });
  assert.deepEqual(applyReport(done, 'n1', report('t1', 'failed')), { kind: 'stale' });
  assert.deepEqual(applyReport(done, 'n1', report('t1', 'shutdown', { health: 'healthy' })), { kind: 'stale' });
});

test('applyReport: only the node the task is placed on may report it', () => {
  assert.deepEqual(applyReport(stored(), 'n2', report('t1', 'running')), { kind: 'foreign' });
  assert.deepEqual(applyReport(undefined, 'n1', report('t1', 'running')), { kind: 'foreign' });
});

test('applyReport: a health change at the same state writes Internal.Health only', () => {
  const t = stored({ Status: { Timestamp: 'x', State: 'running', Message: 'started' }, Internal: { SpecVersion: 1, Health: 'starting' } });
  const v = applyReport(t, 'n1', report('t1', 'running', { health: 'healthy' }));
  assert.equal(v.kind, 'apply');
  if (v.kind !== 'apply') return;
  assert.equal(v.task.Internal.Health, 'healthy');
  assert.equal(v.task.Status, t.Status, 'the status is left as it was');
  assert.deepEqual(applyReport(v.task, 'n1', report('t1', 'running', { health: 'healthy' })), { kind: 'stale' });
});

test('mergeReports: the report further along wins; a later health reading is kept either way', () => {
  const a = { nodeId: 'n1', report: report('t1', 'running') };
  const b = { nodeId: 'n1', report: report('t1', 'starting', { health: 'healthy' }) };
  const m = mergeReports(a, b);
  assert.equal(m.report.status.State, 'running');
  assert.equal(m.report.health, 'healthy');
  const c = mergeReports(b, a);
  assert.equal(c.report.status.State, 'running');
  assert.equal(c.report.health, 'healthy', 'a newer report without health keeps the older reading');
  assert.equal(mergeReports(undefined, a), a);
});

interface Setup {
  clock: ManualClock;
  memory: MemoryStore;
  proposer: FakeProposer;
  store: ReplicatedStore;
  batcher: StatusBatcher;
}

async function setup(n: number, opts: Partial<ConstructorParameters<typeof StatusBatcher>[0]> = {}): Promise<Setup> {
  const clock = new ManualClock(1_700_000_000_000);
  const memory = new MemoryStore();
  const proposer = new FakeProposer([memory]);
  const store = new ReplicatedStore(memory, proposer, clock);
  await store.update((t) => {
    for (let i = 0; i < n; i++) t.create('tasks', taskDraft(`t${i}`));
  });
  const batcher = new StatusBatcher({ writer: store, view: memory, clock, log, ...opts });
  return { clock, memory, proposer, store, batcher };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

test('reports wait for the flush window and go out as one proposal', async () => {
  const s = await setup(3);
  const before = s.proposer.proposals.length;
  s.batcher.add('n1', [report('t0', 'accepted')]);
  s.batcher.add('n1', [report('t0', 'running'), report('t1', 'preparing')]);
  s.batcher.add('n1', [report('t2', 'starting')]);
  await settle();
  assert.equal(s.proposer.proposals.length, before, 'nothing before the window ends');
  s.clock.advance(50);
  await settle();
  assert.equal(s.proposer.proposals.length, before + 1, 'one proposal for three tasks');
  assert.deepEqual(
    ['t0', 't1', 't2'].map((id) => s.memory.get('tasks', id)?.Status.State),
    ['running', 'preparing', 'starting'],
  );
  assert.equal(s.batcher.stats.written, 3);
  assert.equal(s.batcher.size, 0);
});

test('a full batch is proposed at once; stale and foreign reports write nothing', async () => {
  const s = await setup(5, { batchSize: 4 });
  const before = s.proposer.proposals.length;
  s.batcher.add('n1', [report('t0', 'running'), report('t1', 'running'), report('t2', 'running')]);
  await settle();
  assert.equal(s.proposer.proposals.length, before);
  s.batcher.add('n2', [report('t3', 'running')]); // t3 is on n1, not n2
  await settle();
  assert.equal(s.proposer.proposals.length, before + 1, 'the fourth report fills the batch');
  assert.equal(s.memory.get('tasks', 't3')?.Status.State, 'assigned');
  assert.equal(s.batcher.stats.foreign, 1);
  // Nothing forward: no proposal at all.
  s.batcher.add('n1', [report('t0', 'accepted')]);
  s.clock.advance(50);
  await settle();
  assert.equal(s.proposer.proposals.length, before + 1);
  assert.equal(s.batcher.stats.stale, 1);
});

test('a conflict (someone else wrote the task meanwhile) is retried on the next round, from a fresh read', async () => {
  const s = await setup(1);
  const cur = s.memory.get('tasks', 't0')!;
  let race = true;
  const racing: StatusWriter = {
    update: (build) => {
      if (!race) return s.store.update(build);
      race = false;
      return s.store.update(async (t) => {
        // The batch is built from the store as it is now...
        await build(t);
        // ...and the orchestrator's write lands before it is applied.
        await s.store.update((o) => o.update('tasks', { ...cur, DesiredState: 'shutdown' }, cur.Version.Index));
      });
    },
  };
  const batcher = new StatusBatcher({ writer: racing, view: s.memory, clock: s.clock, log });
  batcher.add('n1', [report('t0', 'running')]);
  s.clock.advance(50);
  await settle();
  assert.equal(batcher.stats.conflicts, 1);
  assert.equal(batcher.size, 1, 'the report waits for the next round');
  assert.equal(s.memory.get('tasks', 't0')?.Status.State, 'assigned');
  s.clock.advance(50);
  await settle();
  const t = s.memory.get('tasks', 't0')!;
  assert.deepEqual([t.Status.State, t.DesiredState], ['running', 'shutdown'], 'both writes survive');
  assert.equal(batcher.size, 0);
});

test('the waiting room is bounded: waitForSpace holds readers back until a proposal takes reports out', async () => {
  const s = await setup(4, { maxPending: 2, batchSize: 100 });
  s.batcher.add('n1', [report('t0', 'running'), report('t1', 'running')]);
  assert.equal(s.batcher.hasSpace(), false);
  let released = false;
  void s.batcher.waitForSpace().then(() => (released = true));
  await settle();
  assert.equal(released, false);
  s.clock.advance(50);
  await settle();
  assert.equal(released, true);
  assert.equal(s.batcher.hasSpace(), true);
  // Reports for the same task never take more than one place.
  s.batcher.add('n1', [report('t2', 'accepted'), report('t2', 'preparing'), report('t2', 'running')]);
  assert.equal(s.batcher.size, 1);
  s.batcher.stop();
  assert.equal(s.batcher.size, 0);
  await s.batcher.waitForSpace();
});
