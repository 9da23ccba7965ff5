// The updater loop end to end on a MemoryStore behind a perfect Raft, on
// virtual time. The test plays the API (service update), the orchestrator
// (empty slots get a task of the current spec) and the agents (tasks start,
// fail or stop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUpdater, MANUAL_ROLLBACK } from '../../../manager/orchestrator/update/index.js';
import { formatTime } from '../../../manager/store/transaction.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { ManualClock } from '../../../shared/clock.js';
import { ConflictError } from '../../../shared/errors.js';
import type { ServiceRecord } from '../../../shared/model/index.js';
import { FakeProposer, nodeDraft, txBytes } from '../store/fixtures.js';
import {
  advance,
  agents,
  type AgentOptions,
  BASE,
  createService,
  DEBOUNCE_MS,
  type Harness,
  harness,
  ids,
  liveTasks,
  newTaskDraft,
  NS_PER_MS,
  orchestrate,
  runningCount,
  SEC,
  serviceSpec,
  silent,
  startLeader,
  template,
  updateService,
} from './fixtures.js';

const toImage = (image: string) => (spec: ServiceRecord['Spec']) => ({ ...spec, TaskTemplate: template(image) });
const status = (h: Harness): string | undefined => h.memory.get('services', 'svc1')?.UpdateStatus?.State;

/** Agents, orchestrator and updater take turns, `stepMs` apart, until `done` or `maxSteps`. */
async function runUntil(h: Harness, done: () => boolean, o: AgentOptions & { stepMs?: number; maxSteps?: number; check?: () => void } = {}): Promise<void> {
  for (let i = 0; i < (o.maxSteps ?? 200); i++) {
    if (done()) return;
    await agents(h, o);
    await orchestrate(h);
    await advance(h, o.stepMs ?? 100);
    o.check?.();
  }
  assert.fail(`not done after ${o.maxSteps ?? 200} steps: update status ${status(h)}`);
}

test('a rolling update replaces Parallelism slots at a time, each old task shut down in the transaction that creates its replacement', async () => {
  const h = harness();
  await createService(h, { replicas: 6, update: { Parallelism: 2, Monitor: SEC * NS_PER_MS } });
  startLeader(h);
  await advance(h, SEC);
  assert.equal(h.proposer.proposals.length, 1, 'a converged service: nothing to do');

  await updateService(h, toImage('web:2'));
  let maxInFlight = 0;
  await runUntil(h, () => status(h) === 'completed', {
    check: () => {
      const inFlight = liveTasks(h).filter((t) => t.Internal.SpecVersion === 2 && t.Status.State !== 'running').length;
      maxInFlight = Math.max(maxInFlight, inFlight);
    },
  });
  assert.equal(maxInFlight, 2);
  const tasks = h.memory.find('tasks', 'service', 'svc1');
  const live = liveTasks(h);
  assert.equal(live.length, 6);
  assert.ok(live.every((t) => t.Internal.SpecVersion === 2 && t.Spec.ContainerSpec?.Image === 'web:2'));
  assert.deepEqual(live.map((t) => t.Slot).sort(), [1, 2, 3, 4, 5, 6]);
  for (const n of live) {
    const old = tasks.find((t) => t.Slot === n.Slot && t.Internal.SpecVersion === 1)!;
    assert.equal(old.DesiredState, 'shutdown');
  }
  const svc = h.memory.get('services', 'svc1')!;
  assert.equal(svc.UpdateStatus?.Message, 'update completed');
  assert.ok(svc.UpdateStatus?.CompletedAt);
  await h.updater.stop();
});

test('stop-first: old task shutdown and new task creation are one transaction', async () => {
  const h = harness();
  await createService(h, { replicas: 2, update: { Parallelism: 1 } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  const before = h.proposer.index;
  await advance(h, DEBOUNCE_MS);
  assert.equal(h.proposer.index, before + 1, 'one proposal');
  const created = h.memory.get('tasks', 'new1')!;
  const old = h.memory.find('tasks', 'service', 'svc1').find((t) => t.Slot === created.Slot && t.ID !== created.ID)!;
  assert.equal(old.DesiredState, 'shutdown');
  assert.equal(old.Version.Index, created.Version.Index);
  await h.updater.stop();
});

test('start-first never has fewer running tasks than replicas', async () => {
  const h = harness();
  await createService(h, { replicas: 4, update: { Parallelism: 2, Order: 'start-first', Monitor: 0 } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  let min = Infinity;
  await runUntil(h, () => status(h) === 'completed', { stepMs: 50, check: () => (min = Math.min(min, runningCount(h))) });
  assert.ok(min >= 4, `dropped to ${min} running`);
  assert.ok(liveTasks(h).every((t) => t.Internal.SpecVersion === 2));
  assert.equal(liveTasks(h).length, 4);
  await h.updater.stop();
});

test('Delay holds the next slot back on the clock, with no commit to wake the loop', async () => {
  const h = harness();
  await createService(h, { replicas: 2, update: { Parallelism: 1, Delay: 10 * SEC * NS_PER_MS } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await advance(h, DEBOUNCE_MS);
  await agents(h); // new1 up, old1 stopped
  const upAt = h.clock.now();
  await advance(h, 10 * SEC - 1);
  assert.equal(h.memory.get('tasks', 'new2'), undefined, 'slot 2 waits out the delay');
  await advance(h, 1);
  assert.ok(h.memory.get('tasks', 'new2'), `slot 2 replaced ${h.clock.now() - upAt} ms after slot 1 came up`);
  await h.updater.stop();
});

test('the update completes Monitor after the last task came up', async () => {
  const h = harness();
  await createService(h, { replicas: 1, update: { Monitor: 5 * SEC * NS_PER_MS } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await advance(h, DEBOUNCE_MS);
  await agents(h);
  await advance(h, 5 * SEC - 1);
  assert.equal(status(h), 'updating');
  await advance(h, 1);
  assert.equal(status(h), 'completed');
  await h.updater.stop();
});

test('a failing new version pauses the update, and nothing more is replaced', async () => {
  const h = harness();
  await createService(h, { replicas: 4, update: { Parallelism: 1 } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await runUntil(h, () => status(h) === 'paused', { failing: new Set(['web:2']) });
  const svc = h.memory.get('services', 'svc1')!;
  assert.match(svc.UpdateStatus!.Message!, /^update paused due to failure or early termination of task new1$/);
  await agents(h, { failing: new Set(['web:2']) });
  await advance(h, 10 * SEC);
  assert.equal(liveTasks(h).filter((t) => t.Internal.SpecVersion === 1).length, 3, 'slots 2-4 keep the old spec');
  await h.updater.stop();
});

test('FailureAction rollback returns the service to its previous spec and completes as rollback_completed', async () => {
  const h = harness();
  await createService(h, { replicas: 4, update: { Parallelism: 2, FailureAction: 'rollback' }, rollback: { Parallelism: 0, Monitor: SEC * NS_PER_MS } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  const seen = new Set<string>();
  await runUntil(h, () => status(h) === 'rollback_completed', {
    failing: new Set(['web:2']),
    check: () => void seen.add(status(h) ?? ''),
  });
  assert.ok(seen.has('rollback_started'));
  const svc = h.memory.get('services', 'svc1')!;
  assert.equal(svc.Spec.TaskTemplate.ContainerSpec?.Image, 'web:1');
  assert.equal(svc.PreviousSpec?.TaskTemplate.ContainerSpec?.Image, 'web:2');
  assert.equal(svc.UpdateStatus?.Message, 'rollback completed');
  await runUntil(h, () => runningCount(h) === 4);
  assert.ok(liveTasks(h).every((t) => t.Spec.ContainerSpec?.Image === 'web:1'));
  await h.updater.stop();
});

test('FailureAction continue goes through every slot despite failures', async () => {
  const h = harness();
  await createService(h, { replicas: 3, update: { Parallelism: 1, FailureAction: 'continue', Monitor: 0 } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await runUntil(h, () => status(h) === 'completed', { failing: new Set(['web:2']) });
  const tasks = h.memory.find('tasks', 'service', 'svc1');
  assert.ok(tasks.filter((t) => t.Slot !== undefined && t.Internal.SpecVersion === 1).every((t) => t.DesiredState === 'shutdown'));
  await h.updater.stop();
});

test('a manual rollback (the API swaps the specs) is carried out under RollbackConfig', async () => {
  const h = harness();
  await createService(h, { replicas: 3, update: { Parallelism: 0, Monitor: 0 }, rollback: { Parallelism: 1, Monitor: 0 } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await runUntil(h, () => status(h) === 'completed');
  const s = h.memory.get('services', 'svc1')!;
  await h.store.update((t) =>
    t.services.update({
      ...s,
      Spec: s.PreviousSpec!,
      PreviousSpec: s.Spec,
      Internal: { SpecVersion: s.Internal.SpecVersion + 1 },
      UpdateStatus: { State: 'rollback_started', StartedAt: formatTime(h.clock.now()), Message: MANUAL_ROLLBACK },
    }),
  );
  await advance(h, DEBOUNCE_MS);
  assert.equal(liveTasks(h).filter((t) => t.Internal.SpecVersion === 3).length, 1, 'one slot at a time');
  await runUntil(h, () => status(h) === 'rollback_completed');
  assert.ok(liveTasks(h).every((t) => t.Spec.ContainerSpec?.Image === 'web:1'));
  await h.updater.stop();
});

test('a new leader continues an update where the old one stopped', async () => {
  // Two managers' replicas of the store; the leader's loop dies (kill -9: no stop) mid-update.
  const m1 = new MemoryStore({ logger: silent });
  const m2 = new MemoryStore({ logger: silent });
  const clock = new ManualClock(BASE);
  const proposer = new FakeProposer([m1, m2]);
  const h1: Harness = { clock, memory: m1, store: new ReplicatedStore(m1, proposer, clock), proposer, updater: createUpdater({ debounceMs: DEBOUNCE_MS, newId: ids('a') }) };
  await createService(h1, { replicas: 6, update: { Parallelism: 2, Monitor: SEC * NS_PER_MS } });
  startLeader(h1);
  await updateService(h1, toImage('web:2'));
  await runUntil(h1, () => liveTasks(h1).filter((t) => t.Internal.SpecVersion === 2 && t.Status.State === 'running').length >= 2);
  await h1.updater.stop(); // stands in for the dead process: it proposes nothing more

  const h2: Harness = { clock, memory: m2, store: new ReplicatedStore(m2, proposer, clock), proposer, updater: createUpdater({ debounceMs: DEBOUNCE_MS, newId: ids('b') }) };
  startLeader(h2);
  await runUntil(h2, () => status(h2) === 'completed');
  const live = liveTasks(h2);
  assert.deepEqual(live.map((t) => t.Slot).sort(), [1, 2, 3, 4, 5, 6]);
  assert.ok(live.every((t) => t.Internal.SpecVersion === 2));
  const made = m2.find('tasks', 'service', 'svc1').filter((t) => t.Internal.SpecVersion === 2);
  assert.equal(made.length, 6, 'no slot was replaced twice');
  assert.ok(made.some((t) => t.ID.startsWith('b')), 'the new leader did part of the work');
  await h2.updater.stop();
});

test('a conflicting write (an agent report) makes the step fail; the next round retries it', async () => {
  const memory = new MemoryStore({ logger: silent });
  const clock = new ManualClock(BASE);
  const inner = new FakeProposer([memory]);
  let meddle: (() => Promise<void>) | undefined;
  const rejections: Array<{ err: unknown; tasks: number }> = [];
  const proposer = {
    async propose(data: Uint8Array): Promise<unknown> {
      const m = meddle;
      meddle = undefined;
      if (m) await m();
      return inner.propose(data).catch((err: unknown) => {
        rejections.push({ err, tasks: memory.count('tasks') });
        throw err;
      });
    },
    read: () => inner.read(),
  };
  const h: Harness = { clock, memory, store: new ReplicatedStore(memory, proposer, clock), proposer: inner, updater: createUpdater({ debounceMs: DEBOUNCE_MS, newId: ids() }) };
  await createService(h, { replicas: 2, update: { Parallelism: 1 } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  // Just before the updater's proposal, the agent re-reports t1 (slot 1's old task).
  meddle = async () => {
    const t1 = memory.get('tasks', 't1')!;
    await inner.propose(txBytes((t) => t.tasks.update({ ...t1, Status: { ...t1.Status, Message: 'still running' } })));
  };
  await advance(h, 2 * DEBOUNCE_MS);
  assert.equal(rejections.length, 1);
  assert.ok(rejections[0]!.err instanceof ConflictError);
  assert.equal(rejections[0]!.tasks, 2, 'the failed step created nothing');
  // The retry planned again from the store: a new ID, t1 (re-read) shut down with it.
  assert.equal(h.memory.get('tasks', 'new1'), undefined);
  assert.equal(h.memory.get('tasks', 'new2')!.Slot, 1);
  assert.equal(h.memory.get('tasks', 't1')!.DesiredState, 'shutdown');
  assert.equal(h.memory.get('tasks', 't1')!.Status.Message, 'still running');
  await h.updater.stop();
});

test('stop() cancels the timers and nothing is proposed afterwards', async () => {
  const h = harness();
  await createService(h, { replicas: 3, update: { Parallelism: 1, Delay: 5 * SEC * NS_PER_MS } });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await advance(h, DEBOUNCE_MS);
  await agents(h);
  await advance(h, DEBOUNCE_MS);
  await h.updater.stop();
  assert.equal(h.clock.pending(), 0);
  const index = h.proposer.index;
  await agents(h);
  await advance(h, 60 * SEC);
  assert.equal(h.proposer.index, index, 'no proposals from a stopped updater (the agents had nothing left to report)');
});

test('a global service is updated node by node, skipping nodes that take no new tasks until they do', async () => {
  const h = harness();
  await h.store.update((t) => {
    for (const id of ['n1', 'n2', 'n3']) t.nodes.create(nodeDraft(id));
  });
  const n2 = h.memory.get('nodes', 'n2')!;
  await h.store.update((t) => t.nodes.update({ ...n2, Spec: { ...n2.Spec, Availability: 'pause' } }));
  const spec = serviceSpec({ global: true, image: 'web:1', update: { Parallelism: 1, Monitor: 0 } });
  await h.store.update((t) => {
    t.services.create({ ID: 'svc1', Spec: spec, Internal: { SpecVersion: 1 } });
    for (const node of ['n1', 'n2', 'n3']) t.tasks.create({ ...newTaskDraft('svc1', spec, 1, 0, `t-${node}`, h.clock.now(), 'running'), NodeID: node, Name: `web.${node}` });
  });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  await runUntil(h, () => status(h) === 'completed');
  const image = (node: string): string | undefined => liveTasks(h).find((t) => t.NodeID === node)?.Spec.ContainerSpec?.Image;
  assert.deepEqual(['n1', 'n2', 'n3'].map(image), ['web:2', 'web:1', 'web:2']);
  const created = h.memory.find('tasks', 'service', 'svc1').filter((t) => t.Internal.SpecVersion === 2);
  assert.ok(created.every((t) => t.Slot === 0 && t.Name === `web.${t.NodeID}`));

  const paused = h.memory.get('nodes', 'n2')!;
  await h.store.update((t) => t.nodes.update({ ...paused, Spec: { ...paused.Spec, Availability: 'active' } }));
  await runUntil(h, () => image('n2') === 'web:2' && status(h) === 'completed');
  await h.updater.stop();
});

test('a proposal that fails for another reason (no leader, timeout) is retried after retryMs', async () => {
  const memory = new MemoryStore({ logger: silent });
  const clock = new ManualClock(BASE);
  const inner = new FakeProposer([memory]);
  let failNext = false;
  let failedAt = 0;
  const proposer = {
    propose(data: Uint8Array): Promise<unknown> {
      if (failNext) {
        failNext = false;
        failedAt = clock.now();
        return Promise.reject(new Error('proposal timed out'));
      }
      return inner.propose(data);
    },
    read: () => inner.read(),
  };
  const h: Harness = { clock, memory, store: new ReplicatedStore(memory, proposer, clock), proposer: inner, updater: createUpdater({ debounceMs: DEBOUNCE_MS, retryMs: 500, newId: ids() }) };
  await createService(h, { replicas: 1 });
  startLeader(h);
  await updateService(h, toImage('web:2'));
  failNext = true;
  await advance(h, DEBOUNCE_MS);
  assert.equal(h.memory.find('tasks', 'service', 'svc1').length, 1, 'the failed proposal created nothing');
  await advance(h, failedAt + 499 - clock.now());
  assert.equal(h.memory.find('tasks', 'service', 'svc1').length, 1, 'no retry before retryMs');
  await advance(h, 1);
  assert.equal(h.memory.get('tasks', 'new2')?.Slot, 1);
  await h.updater.stop();
});
