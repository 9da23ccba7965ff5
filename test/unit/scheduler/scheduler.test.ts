// The scheduler loop end to end on a MemoryStore with a FakeProposer (a
// perfect Raft) and a ManualClock: the loop's timers fire only when the test
// advances time, and idle() says when a round's writes are done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../../../manager/scheduler/scheduler.js';
import { ASSIGNED_MESSAGE, PREASSIGNED_MESSAGE } from '../../../manager/scheduler/task-updates.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { type Proposer, ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { NodeRecord, TaskRecord } from '../../../shared/model/index.js';
import { FakeProposer, txBytes } from '../store/fixtures.js';
import { GiB, MiB, node, pendingTasks, service, task } from './helpers.js';

const silent = createLogger({ level: 'silent' });

/** A FakeProposer that can run something just before the next proposal, to lose a race on purpose. */
class RacingProposer implements Proposer {
  beforeNext: (() => void) | undefined;
  constructor(readonly inner: FakeProposer) {}
  propose(data: Uint8Array): Promise<unknown> {
    const hook = this.beforeNext;
    this.beforeNext = undefined;
    hook?.();
    return this.inner.propose(data);
  }
  read(): Promise<void> {
    return this.inner.read();
  }
}

interface Harness {
  clock: ManualClock;
  memory: MemoryStore;
  fake: FakeProposer;
  racing: RacingProposer;
  store: ReplicatedStore;
  loop: Scheduler;
  start(): void;
  /** Fire due timers and wait for rounds until nothing is scheduled. */
  settle(): Promise<void>;
  tasks(): TaskRecord[];
}

function harness(opts: SchedulerOptions = {}): Harness {
  const clock = new ManualClock(Date.parse('2024-05-01T12:00:00Z'));
  const memory = new MemoryStore({ logger: silent });
  const fake = new FakeProposer([memory]);
  const racing = new RacingProposer(fake);
  const store = new ReplicatedStore(memory, racing, clock);
  const loop = createScheduler(opts);
  return {
    clock,
    memory,
    fake,
    racing,
    store,
    loop,
    start: () => loop.start({ store, memory, clock, log: silent }),
    async settle() {
      for (let i = 0; i < 20; i++) {
        clock.advance(1000);
        await loop.idle();
        if (clock.pending() === 0) return;
      }
      throw new Error('the scheduler kept scheduling rounds');
    },
    tasks: () => memory.list('tasks'),
  };
}

async function createAll(h: Harness, nodes: NodeRecord[], tasks: TaskRecord[]): Promise<void> {
  await h.store.update((t) => {
    for (const n of nodes) t.nodes.create(n);
    for (const x of tasks) t.tasks.create(x);
  });
}

function countByNode(tasks: readonly TaskRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tasks) if (t.NodeID) out[t.NodeID] = (out[t.NodeID] ?? 0) + 1;
  return out;
}

test('on start the loop assigns every pending task, spread evenly, in batched transactions', async () => {
  const h = harness();
  await createAll(h, [node('a'), node('b'), node('c')], pendingTasks('s1', 30));
  const before = h.fake.proposals.length;
  h.start();
  await h.settle();
  const tasks = h.tasks();
  assert.ok(tasks.every((t) => t.Status.State === 'assigned' && t.Status.Message === ASSIGNED_MESSAGE && t.Status.Err === undefined));
  assert.deepEqual(countByNode(tasks), { a: 10, b: 10, c: 10 });
  // One transaction for all 30; its own commits do not start another write.
  assert.equal(h.fake.proposals.length - before, 1);
  assert.deepEqual({ ...h.loop.stats(), lastDecideMs: 0 }, { rounds: 1, assigned: 30, explained: 0, transactions: 1, conflicts: 0, failures: 0, lastDecideMs: 0 });
  await h.loop.stop();
});

test('a task that cannot be placed stays pending with the reason; a node change makes it placeable', async () => {
  const h = harness();
  const spec = { Placement: { Constraints: ['node.labels.gpu==yes'] } };
  await createAll(h, [node('a'), node('b')], [task('t1', 's1', { spec })]);
  h.start();
  await h.settle();
  let t1 = h.memory.get('tasks', 't1')!;
  assert.equal(t1.Status.State, 'pending');
  assert.equal(t1.Status.Message, 'pending task scheduling');
  assert.equal(t1.Status.Err, 'no suitable node (scheduling constraints not satisfied on 2 nodes)');
  assert.equal(t1.NodeID, undefined);
  // The same verdict is not written again.
  const proposals = h.fake.proposals.length;
  await h.store.update((t) => t.services.create(service('unrelated')));
  await h.settle();
  assert.equal(h.fake.proposals.length, proposals + 1);

  const b = h.memory.get('nodes', 'b')!;
  await h.store.update((t) => t.nodes.update({ ...b, Spec: { ...b.Spec, Labels: { gpu: 'yes' } } }));
  await h.settle();
  t1 = h.memory.get('tasks', 't1')!;
  assert.equal(t1.Status.State, 'assigned');
  assert.equal(t1.NodeID, 'b');
  assert.equal(t1.Status.Err, undefined);
  await h.loop.stop();
});

test('tasks created while the loop runs are placed after the debounce; a new node takes its share', async () => {
  const h = harness();
  await createAll(h, [node('a')], []);
  h.start();
  await h.settle();
  await h.store.update((t) => {
    for (const x of pendingTasks('s1', 4)) t.tasks.create(x);
  });
  // Nothing happens before the timer fires.
  assert.ok(h.tasks().every((t) => t.Status.State === 'pending'));
  await h.settle();
  assert.deepEqual(countByNode(h.tasks()), { a: 4 });

  await h.store.update((t) => {
    t.nodes.create(node('b'));
    for (const x of pendingTasks('s1', 4)) t.tasks.create({ ...x, ID: `more-${x.ID}` });
  });
  await h.settle();
  assert.deepEqual(countByNode(h.tasks()), { a: 4, b: 4 });
  await h.loop.stop();
});

test('resources freed by a task that ended let a waiting task in', async () => {
  const h = harness();
  const spec = { Resources: { Reservations: { MemoryBytes: 600 * MiB } } };
  await createAll(h, [node('a', { memory: GiB })], pendingTasks('s1', 2, { spec }));
  h.start();
  await h.settle();
  const [first, second] = h.tasks();
  assert.equal(first!.Status.State, 'assigned');
  assert.equal(second!.Status.Err, 'no suitable node (insufficient memory on 1 node)');
  await h.store.update((t) => t.tasks.update({ ...first!, Status: { ...first!.Status, State: 'failed', Message: 'exited' } }));
  await h.settle();
  const again = h.memory.get('tasks', second!.ID)!;
  assert.equal(again.Status.State, 'assigned');
  assert.equal(again.NodeID, 'a');
  await h.loop.stop();
});

test('a global task is confirmed on its node, or explained', async () => {
  const h = harness();
  await createAll(h, [node('a'), node('b', { availability: 'drain' })], [
    task('g-a', 'g', { slot: 0, nodeId: 'a' }),
    task('g-b', 'g', { slot: 0, nodeId: 'b' }),
  ]);
  h.start();
  await h.settle();
  const ga = h.memory.get('tasks', 'g-a')!;
  assert.equal(ga.Status.State, 'assigned');
  assert.equal(ga.Status.Message, PREASSIGNED_MESSAGE);
  const gb = h.memory.get('tasks', 'g-b')!;
  assert.equal(gb.Status.State, 'pending');
  assert.equal(gb.Status.Err, 'no suitable node (1 node not available for new tasks)');
  await h.loop.stop();
});

test('a batch that lost a race is refused whole, re-read, and retried without phantom placements', async () => {
  const h = harness();
  await createAll(h, [node('a'), node('b'), node('c')], pendingTasks('s1', 6));
  // Just before the scheduler's write lands, the orchestrator stops one of the tasks.
  h.racing.beforeNext = () => {
    const victim = h.memory.get('tasks', 's1-0001')!;
    void h.fake.propose(txBytes((t) => t.tasks.update({ ...victim, DesiredState: 'shutdown' })));
  };
  h.start();
  await h.settle();
  const stats = h.loop.stats();
  assert.equal(stats.conflicts, 1);
  const tasks = h.tasks();
  const victim = tasks.find((t) => t.ID === 's1-0001')!;
  assert.equal(victim.Status.State, 'pending');
  assert.equal(victim.NodeID, undefined);
  assert.ok(tasks.filter((t) => t.ID !== 's1-0001').every((t) => t.Status.State === 'assigned'));
  const counts = Object.values(countByNode(tasks)).sort();
  assert.deepEqual(counts, [1, 2, 2]);
  await h.loop.stop();
});

test('stop cancels the timers; nothing is placed afterwards; a restart picks up from the store', async () => {
  const h = harness();
  await createAll(h, [node('a')], []);
  h.start();
  await h.settle();
  await h.loop.stop();
  await h.store.update((t) => t.tasks.create(task('late', 's1')));
  assert.equal(h.clock.pending(), 0);
  h.clock.advance(5000);
  assert.equal(h.memory.get('tasks', 'late')!.Status.State, 'pending');
  h.start();
  await h.settle();
  assert.equal(h.memory.get('tasks', 'late')!.Status.State, 'assigned');
  await h.loop.stop();
});

test('after a snapshot restore the loop rebuilds its picture from the store', async () => {
  const h = harness();
  h.start();
  await h.settle();
  // Another replica's state, as a snapshot from the leader would bring it.
  const source = new MemoryStore({ logger: silent });
  const sourceProposer = new FakeProposer([source]);
  const sourceStore = new ReplicatedStore(source, sourceProposer, h.clock);
  await sourceStore.update((t) => {
    t.nodes.create(node('a'));
    t.nodes.create(node('b'));
    for (const x of pendingTasks('s1', 4)) t.tasks.create(x);
  });
  sourceProposer.index = 10;
  await sourceStore.update((t) => t.services.create(service('s1')));
  h.memory.restore(source.snapshot());
  h.fake.index = h.memory.appliedIndex;
  await h.settle();
  assert.deepEqual(countByNode(h.tasks()), { a: 2, b: 2 });
  await h.loop.stop();
});

test('errors other than conflicts are retried later', async () => {
  const h = harness();
  await createAll(h, [node('a')], pendingTasks('s1', 2));
  let fail = true;
  const original = h.fake.propose.bind(h.fake);
  h.fake.propose = (data: Uint8Array) => {
    if (fail) {
      fail = false;
      return Promise.reject(new Error('proposal dropped'));
    }
    return original(data);
  };
  h.start();
  await h.settle();
  assert.equal(h.loop.stats().failures, 1);
  assert.ok(h.tasks().every((t) => t.Status.State === 'assigned'));
  await h.loop.stop();
});

test('a big round is written in transactions of batchSize, a few at a time', async () => {
  const h = harness({ batchSize: 10, inFlight: 2 });
  await createAll(h, [node('a'), node('b')], pendingTasks('s1', 35));
  const before = h.fake.proposals.length;
  h.start();
  await h.settle();
  assert.equal(h.fake.proposals.length - before, 4);
  assert.equal(h.loop.stats().transactions, 4);
  assert.deepEqual(countByNode(h.tasks()), { a: 18, b: 17 });
  await h.loop.stop();
});

test('a steady stream of commits delays a round by at most maxDelayMs', async () => {
  const h = harness({ debounceMs: 25, maxDelayMs: 100 });
  await createAll(h, [node('a')], []);
  h.start();
  await h.settle();
  await h.store.update((t) => t.tasks.create(task('t1', 's1')));
  // A commit every 20 ms keeps resetting the 25 ms debounce...
  for (let i = 0; i < 4; i++) {
    h.clock.advance(20);
    await h.store.update((t) => t.services.create(service(`noise${i}`)));
  }
  assert.equal(h.memory.get('tasks', 't1')!.Status.State, 'pending');
  // ...but 100 ms after the first, the round runs anyway.
  h.clock.advance(20);
  await h.loop.idle();
  assert.equal(h.memory.get('tasks', 't1')!.Status.State, 'assigned');
  await h.loop.stop();
});
