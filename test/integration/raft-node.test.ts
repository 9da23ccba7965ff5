import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePut } from '../../manager/raft/kv-state-machine.js';
import { NotLeaderError } from '../../manager/raft/node.js';
import { eventually, RaftCluster } from './raft-cluster.js';

const IDS = ['n1', 'n2', 'n3'];

async function withCluster(ids: string[], tuning: Parameters<typeof RaftCluster.create>[1], body: (c: RaftCluster) => Promise<void>): Promise<void> {
  const c = await RaftCluster.create(ids, tuning);
  try {
    await body(c);
  } finally {
    await c.close();
  }
}

test('three nodes elect a leader, commit 200 proposals and agree', async () => {
  await withCluster(IDS, {}, async (c) => {
    const leader = await c.leader();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => c.put(`k${i % 50}`, `v${i}`)));
    // apply's return value comes back to the proposer: the previous value of the key,
    // so exactly one write per key saw nothing before it.
    assert.equal(results.filter((r) => r === undefined).length, 50);
    assert.ok(results.every((r) => r === undefined || (typeof r === 'string' && r.startsWith('v'))));
    await c.converged();
    for (const m of c.running()) {
      assert.equal(m.sm.data.size, 50);
      assert.equal(m.sm.get('k49'), 'v199');
    }
    // Proposals made together travel together.
    const stats = leader.stats();
    assert.ok(stats.proposeBatches < 200, `expected batching, got ${stats.proposeBatches} batches`);
  });
});

test('a follower refuses proposals and names the leader', async () => {
  await withCluster(IDS, {}, async (c) => {
    const leader = await c.leader();
    const follower = c.running().find((m) => m.id !== leader.id)!.node!;
    await eventually(() => follower.leader() === leader.id, 'follower to learn the leader');
    await assert.rejects(follower.propose(encodePut('a', 'b')), (err: unknown) => {
      return err instanceof NotLeaderError && err.leader === leader.id && err.message.includes(leader.id);
    });
  });
});

test('the leader stops, a new one is elected, and the old one restarts and catches up', async () => {
  await withCluster(IDS, {}, async (c) => {
    for (let i = 0; i < 50; i++) await c.put(`before${i}`, String(i));
    const old = await c.leader();
    const oldId = old.id;
    await c.stop(oldId, { crash: true });

    const fresh = await c.leader();
    assert.notEqual(fresh.id, oldId);
    for (let i = 0; i < 50; i++) await c.put(`after${i}`, String(i));

    await c.start(oldId);
    const digest = await c.converged();
    const restarted = c.get(oldId).sm;
    assert.equal(restarted.get('after49'), '49');
    assert.equal(restarted.get('before0'), '0');
    assert.equal(restarted.digest(), digest);
  });
});

test('snapshots compact the log and a node down past the compaction catches up from one', async () => {
  await withCluster(IDS, { snapshotEntries: 40, compactionMargin: 5 }, async (c) => {
    await c.put('first', '1');
    await c.converged();
    const leader = await c.leader();
    const laggard = c.running().find((m) => m.id !== leader.id)!.id;
    await c.stop(laggard);

    for (let i = 0; i < 200; i++) await c.put(`k${i}`, `v${i}`);
    const st = leader.status();
    assert.ok(leader.stats().snapshotsSaved >= 3, `leader saved ${leader.stats().snapshotsSaved} snapshots`);
    assert.ok(st.snapshotIndex > 150, `snapshot index ${st.snapshotIndex}`);

    const node = await c.start(laggard);
    await c.converged();
    assert.ok(node.stats().snapshotsRestored >= 1, 'the laggard should have installed a snapshot');
    assert.equal(c.get(laggard).sm.get('k199'), 'v199');
    assert.equal(c.get(laggard).sm.get('first'), '1');

    // Everyone restarts from snapshot + WAL and still agrees.
    const before = await c.converged();
    for (const m of c.running()) await c.stop(m.id);
    for (const id of IDS) await c.start(id);
    await c.leader();
    await c.put('after-restart', 'yes');
    const after = await c.converged();
    assert.notEqual(after, before);
    for (const id of IDS) assert.equal(c.get(id).sm.get('k150'), 'v150');
  });
});

test('addVoter brings a fourth, empty node in and it then counts toward the quorum', async () => {
  await withCluster(IDS, {}, async (c) => {
    for (let i = 0; i < 30; i++) await c.put(`k${i}`, `v${i}`);
    await c.start('n4');
    const cs = await c.onLeader((l) => l.addVoter('n4', { catchUpGap: 5 }));
    assert.deepEqual([...cs.voters].sort(), ['n1', 'n2', 'n3', 'n4']);
    assert.deepEqual(cs.learners, []);
    await c.converged();
    assert.equal(c.get('n4').sm.get('k29'), 'v29');
    await eventually(() => c.node('n4').membership().voters.length === 4, 'n4 to learn it is a voter');

    // With 4 voters the quorum is 3: losing two followers must stop commits.
    const leader = await c.leader();
    const followers = c.running().filter((m) => m.id !== leader.id).map((m) => m.id);
    c.network.isolate(followers[0]!);
    await c.put('with-three', 'ok');
    c.network.isolate(followers[1]!);
    // (Should leadership have moved meanwhile, the old leader cannot commit either.)
    await assert.rejects(leader.propose(encodePut('with-two', 'no'), { timeoutMs: 300 }));
    c.network.heal();
    await c.put('healed', 'ok');
    await c.converged();
  });
});

test('removing the leader hands over to a new leader and the rest keeps going', async () => {
  await withCluster(IDS, {}, async (c) => {
    await c.put('a', '1');
    const leader = await c.leader();
    const removed = new Promise<void>((resolve) => leader.once('removed', resolve));
    const cs = await leader.removeNode(leader.id);
    assert.equal(cs.voters.includes(leader.id), false);
    await removed;
    await c.stop(leader.id);

    const next = await c.leader();
    assert.notEqual(next.id, leader.id);
    // The new leader may have won before learning that the removal committed; it applies it soon after.
    await eventually(() => next.membership().voters.length === 2, 'the new leader to apply the removal');
    for (let i = 0; i < 20; i++) await c.put(`post${i}`, String(i));
    await c.converged();
  });
});

test('a read on a follower after a write sees the write', async () => {
  await withCluster(IDS, {}, async (c) => {
    for (let i = 0; i < 30; i++) {
      await c.put('x', String(i));
      // The write is acknowledged by the leader; a follower may not have applied it yet.
      const leader = await c.leader();
      const follower = c.running().find((m) => m.id !== leader.id)!;
      await follower.node!.read();
      assert.equal(follower.sm.get('x'), String(i), `read ${i} on follower ${follower.id}`);
    }
    // Concurrent reads share a ReadIndex round.
    const follower = c.running().find((m) => !m.node!.isLeader())!;
    await Promise.all(Array.from({ length: 20 }, () => follower.node!.read()));
  });
});

test('stop rejects pending requests and a restarted node keeps its term and vote', async () => {
  await withCluster(IDS, {}, async (c) => {
    const leader = await c.leader();
    await c.put('k', 'v');
    const { term, vote } = leader.status();
    const id = leader.id;
    // Isolated, the leader cannot commit: the proposal stays pending until stop.
    c.network.isolate(id);
    const pending = assert.rejects(leader.propose(encodePut('lost', 'maybe')), /stopped/);
    await c.stop(id);
    await pending;
    c.network.heal();
    const restarted = await c.start(id);
    // Nothing happened while it was down, so it comes back exactly as it left.
    assert.equal(restarted.status().term, term);
    assert.equal(restarted.status().vote, vote);
    await c.converged();
  });
});
