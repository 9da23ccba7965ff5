import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { ManualClock } from '../../../shared/clock.js';
import { ConflictError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';
import { clusterDraft, FakeProposer, nodeDraft } from './fixtures.js';

const silent = createLogger({ level: 'silent' });

function setup(): { leader: ReplicatedStore; follower: MemoryStore; proposer: FakeProposer; clock: ManualClock } {
  const local = new MemoryStore({ logger: silent });
  const follower = new MemoryStore({ logger: silent });
  const proposer = new FakeProposer([local, follower]);
  const clock = new ManualClock(Date.UTC(2024, 4, 1, 12, 0, 0));
  return { leader: new ReplicatedStore(local, proposer, clock), follower, proposer, clock };
}

test('update proposes one entry per transaction and returns what apply returned', async () => {
  const { leader, follower, proposer, clock } = setup();
  const r1 = await leader.update((t) => {
    t.cluster.create(clusterDraft());
    t.nodes.create(nodeDraft('n1'));
  });
  assert.equal(proposer.proposals.length, 1);
  assert.equal(r1.index, 1);
  assert.deepEqual(r1.objects.map((o) => o.ID), ['swarm1', 'n1']);
  assert.equal(r1.objects[1]!.CreatedAt, '2024-05-01T12:00:00.000000000Z');

  clock.advance(1500);
  const n1 = leader.view().get('nodes', 'n1')!;
  // The builder may be async: the proposal waits for it.
  const r2 = await leader.update(async (t) => {
    await Promise.resolve();
    t.nodes.update({ ...n1, Spec: { ...n1.Spec, Availability: 'drain' } });
  });
  assert.equal(r2.index, 2);
  assert.equal(follower.get('nodes', 'n1')!.Spec.Availability, 'drain');
  assert.equal(follower.get('nodes', 'n1')!.UpdatedAt, '2024-05-01T12:00:01.500000000Z');
  assert.deepEqual(follower.get('nodes', 'n1'), leader.view().get('nodes', 'n1'));
});

test('a stale update is rejected with the ConflictError from apply, on every replica', async () => {
  const { leader, follower } = setup();
  await leader.update((t) => t.nodes.create(nodeDraft('n1')));
  const read = leader.view().get('nodes', 'n1')!;
  await leader.update((t) => t.nodes.update({ ...read, Spec: { ...read.Spec, Role: 'manager' } }));
  await assert.rejects(
    leader.update((t) => t.nodes.update({ ...read, Spec: { ...read.Spec, Availability: 'pause' } })),
    (err: unknown) => err instanceof ConflictError && err.message.includes('(version 1, now 2)'),
  );
  assert.equal(follower.get('nodes', 'n1')!.Spec.Availability, 'active');
  assert.equal(follower.get('nodes', 'n1')!.Spec.Role, 'manager');
});

test('an empty transaction is not proposed', async () => {
  const { leader, proposer } = setup();
  await leader.update((t) => t.nodes.create(nodeDraft('n1')));
  const r = await leader.update(() => undefined);
  assert.deepEqual(r, { index: 1, objects: [] });
  assert.equal(proposer.proposals.length, 1);
});

test('readLinearizable passes the read barrier before reading local state', async () => {
  const { leader, proposer } = setup();
  await leader.update((t) => t.nodes.create(nodeDraft('n1')));
  const count = await leader.readLinearizable((v) => {
    assert.equal(proposer.reads, 1, 'the barrier comes first');
    return v.count('nodes');
  });
  assert.equal(count, 1);
});

test('a proposer that does not replicate a MemoryStore is reported, not trusted', async () => {
  const store = new MemoryStore({ logger: silent });
  const odd = new ReplicatedStore(store, { propose: () => Promise.resolve('something else'), read: () => Promise.resolve() }, new ManualClock());
  await assert.rejects(odd.update((t) => t.nodes.create(nodeDraft('n1'))), /not a store apply result/);
});
