// The allocator loop with the scheduler on a MemoryStore behind a perfect
// Raft (FakeProposer) and a ManualClock: tasks that join networks are placed
// only once they have their addresses, and a restarted allocator (a new
// leader) proposes nothing new.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAllocator } from '../../../manager/allocator/index.js';
import type { ControlLoop } from '../../../manager/control-loop.js';
import { createScheduler } from '../../../manager/scheduler/scheduler.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { FakeProposer } from '../store/fixtures.js';
import { ingress, network, node, service, task } from './fixtures.js';

const silent = createLogger({ level: 'silent' });

function rig() {
  const clock = new ManualClock(Date.parse('2024-05-01T12:00:00Z'));
  const memory = new MemoryStore({ logger: silent });
  const fake = new FakeProposer([memory]);
  const store = new ReplicatedStore(memory, fake, clock);
  const ctx = { store, memory, clock, log: silent };
  const loops: Array<ControlLoop & { idle(): Promise<void> }> = [];
  return {
    memory,
    fake,
    store,
    start(loop: ControlLoop & { idle(): Promise<void> }) {
      loops.push(loop);
      loop.start(ctx);
    },
    async settle() {
      for (let i = 0; i < 30; i++) {
        clock.advance(100);
        for (const l of loops) await l.idle();
        if (clock.pending() === 0) return;
      }
      throw new Error('the loops kept scheduling rounds');
    },
  };
}

async function seed(r: ReturnType<typeof rig>): Promise<void> {
  const web = service('web', { networks: ['net1'], ports: [{ TargetPort: 80, PublishMode: 'ingress' }] });
  await r.store.update((t) => {
    for (const n of [ingress('ing'), network('net1', 'front')]) t.networks.create(n);
    t.nodes.create(node('w1'));
    t.services.create(web);
    for (const id of ['t1', 't2', 't3']) t.tasks.create(task(id, web));
  });
}

test('the scheduler leaves tasks that join networks pending until the allocator gave them addresses', async () => {
  const r = rig();
  await seed(r);
  r.start(createScheduler());
  await r.settle();
  assert.ok(r.memory.list('tasks').every((t) => t.Status.State === 'pending' && t.NodeID === undefined), 'nothing placed without addresses');

  r.start(createAllocator());
  await r.settle();
  const tasks = r.memory.list('tasks');
  assert.ok(tasks.every((t) => t.Status.State === 'assigned' && t.NodeID === 'w1'), 'placed once allocated');
  const addrs = tasks.flatMap((t) => t.NetworksAttachments!.map((a) => a.Addresses[0]));
  assert.equal(new Set(addrs).size, 6, 'each task has an address on ingress and on front, all different');
  const front = r.memory.get('networks', 'net1')!.Internal.Allocation!;
  assert.deepEqual(Object.keys(front.NodeAddresses), ['w1'], 'w1 runs tasks on front: it got an address there');
  assert.deepEqual(Object.keys(r.memory.get('networks', 'ing')!.Internal.Allocation!.NodeAddresses), ['w1']);
  assert.equal(r.memory.get('services', 'web')!.Endpoint!.Ports![0]!.PublishedPort, 30000);
});

test('a new allocator over the same store proposes nothing: allocations survive a leader change', async () => {
  const r = rig();
  await seed(r);
  const first = createAllocator();
  r.start(first);
  await r.settle();
  const before = JSON.stringify([r.memory.list('networks'), r.memory.list('services'), r.memory.list('tasks')]);
  const proposals = r.fake.proposals.length;
  await first.stop();
  // A snapshot restore on the new leader's replica, then a fresh allocator.
  r.memory.restore(r.memory.snapshot());
  r.start(createAllocator());
  await r.settle();
  assert.equal(r.fake.proposals.length, proposals, 'no write');
  assert.equal(JSON.stringify([r.memory.list('networks'), r.memory.list('services'), r.memory.list('tasks')]), before);
});

test('deleting a network-less service\'s tasks costs the allocator no round', async () => {
  const r = rig();
  const plain = service('plain');
  await r.store.update((t) => {
    t.services.create(plain);
    t.tasks.create(task('p1', plain));
  });
  const loop = createAllocator();
  r.start(loop);
  await r.settle();
  const proposals = r.fake.proposals.length;
  await r.store.update((t) => t.tasks.delete('p1'));
  await r.settle();
  assert.equal(r.fake.proposals.length, proposals + 1, 'only the test\'s own delete');
});
