// The store replicated by real RaftNodes (real disk storage in a temporary
// directory, the in-memory network): what one manager writes, every manager
// applies identically, stale writes fail everywhere, and snapshots carry the
// store to members that missed the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork } from '../../manager/raft/memory-transport.js';
import { RaftNode, type RaftNodeOptions } from '../../manager/raft/node.js';
import type { NodeId } from '../../manager/raft/types.js';
import { MemoryStore } from '../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../manager/store/replicated-store.js';
import type { WatchEvent } from '../../manager/store/watch.js';
import { SystemClock } from '../../shared/clock.js';
import { ConflictError, isShoalError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { clusterDraft, nodeDraft } from '../unit/store/fixtures.js';
import { eventually } from './raft-cluster.js';

const logger = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent', name: 'store-raft-test' });

const RETRIABLE = ['not_leader', 'proposal_dropped', 'unavailable', 'stopped'];

type Tuning = Partial<Pick<RaftNodeOptions, 'snapshotEntries' | 'compactionMargin'>>;

interface Member {
  id: NodeId;
  store: MemoryStore;
  node: RaftNode | undefined;
  rs: ReplicatedStore | undefined;
}

class StoreCluster {
  readonly network = new MemoryNetwork();
  readonly members = new Map<NodeId, Member>();

  private constructor(
    private readonly root: string,
    private readonly founders: NodeId[],
    private readonly tuning: Tuning,
  ) {}

  static async create(ids: NodeId[], tuning: Tuning = {}): Promise<StoreCluster> {
    const c = new StoreCluster(await mkdtemp(join(tmpdir(), 'shoal-store-it-')), ids, tuning);
    await Promise.all(ids.map((id) => c.start(id)));
    return c;
  }

  /** Start (or restart) a member with a blank store, as a fresh process would; pass one to watch it from the start. */
  async start(id: NodeId, store = new MemoryStore({ logger })): Promise<Member> {
    const node = await RaftNode.start({
      tickMs: 20,
      electionTick: 10,
      heartbeatTick: 1,
      logger,
      ...this.tuning,
      id,
      dataDir: join(this.root, id),
      transport: this.network.transport(id),
      stateMachine: store,
      ...(this.founders.includes(id) ? { bootstrap: this.founders } : {}),
    });
    const m: Member = { id, store, node, rs: new ReplicatedStore(store, node, new SystemClock()) };
    this.members.set(id, m);
    return m;
  }

  async stop(id: NodeId): Promise<void> {
    const m = this.get(id);
    const node = m.node;
    m.node = undefined;
    m.rs = undefined;
    await node?.stop();
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  running(): Member[] {
    return [...this.members.values()].filter((m) => m.node !== undefined);
  }

  async leader(): Promise<Member> {
    let found: Member | undefined;
    await eventually(() => {
      const leaders = this.running().filter((m) => m.node!.isLeader());
      found = leaders[0];
      return leaders.length === 1;
    }, 'exactly one leader');
    return found!;
  }

  /**
   * Run a store write on whoever leads, again on the next leader if leadership
   * moved first. Only errors that mean "not committed" are retried, so a write
   * never applies twice.
   */
  async write<T>(op: (leader: ReplicatedStore) => Promise<T>): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const leader = await this.leader();
      try {
        return await op(leader.rs!);
      } catch (err) {
        if (!isShoalError(err) || !RETRIABLE.includes(err.code) || Date.now() > deadline) throw err;
      }
    }
  }

  /** Every running member has applied all that is committed and holds byte-identical store state. */
  async converged(): Promise<Buffer> {
    let bytes = Buffer.alloc(0);
    await eventually(() => {
      const ms = this.running();
      const commit = Math.max(...ms.map((m) => m.node!.status().commit));
      if (!ms.every((m) => m.node!.appliedIndex() >= commit)) return false;
      const snaps = ms.map((m) => Buffer.from(m.store.snapshot()));
      bytes = snaps[0]!;
      return snaps.every((s) => s.equals(bytes));
    }, 'every member to hold the same store');
    return bytes;
  }

  async close(): Promise<void> {
    await Promise.all(this.running().map((m) => this.stop(m.id)));
    await rm(this.root, { recursive: true, force: true });
  }
}

async function withCluster(tuning: Tuning, body: (c: StoreCluster) => Promise<void>): Promise<void> {
  const c = await StoreCluster.create(['n1', 'n2', 'n3'], tuning);
  try {
    await body(c);
  } finally {
    await c.close();
  }
}

test('writes on the leader reach every manager with the same versions, in order, and a follower reads them linearizably', async () => {
  await withCluster({}, async (c) => {
    const leader = await c.leader();
    const follower = c.running().find((m) => m.id !== leader.id)!;
    const events: string[] = [];
    const watcher = follower.store.watch({ tables: ['nodes'] });
    const reading = (async () => {
      for await (const e of watcher) {
        events.push(describe(e));
        if (events.length === 4) break;
      }
    })();

    const created = await c.write((rs) =>
      rs.update((t) => {
        t.cluster.create(clusterDraft());
        t.nodes.create(nodeDraft('m1', { role: 'manager', raftId: 1 }));
        t.nodes.create(nodeDraft('w1'));
        t.nodes.create(nodeDraft('w2'));
      }),
    );
    // The version is the Raft index of the entry that wrote it.
    assert.ok(created.index > 1);
    assert.ok(created.objects.every((o) => o.Version.Index === created.index));

    // A linearizable read on a follower sees a write acknowledged just before it.
    const drained = await c.write((rs) => rs.update((t) => t.nodes.update({ ...nodeDraft('w1'), Spec: { Role: 'worker', Availability: 'drain' } }, created.index)));
    const seen = await follower.rs!.readLinearizable((v) => v.get('nodes', 'w1')!.Spec.Availability);
    assert.equal(seen, 'drain');

    await c.converged();
    for (const m of c.running()) {
      assert.equal(m.store.get('nodes', 'w1')!.Version.Index, drained.index);
      assert.equal(m.store.lookup('nodes', 'raftId', 1)!.ID, 'm1');
      assert.deepEqual(m.store.find('nodes', 'role', 'worker').map((n) => n.ID), ['w1', 'w2']);
    }
    await reading;
    assert.deepEqual(events, [
      `create m1@${created.index}`,
      `create w1@${created.index}`,
      `create w2@${created.index}`,
      `update w1@${drained.index}`,
    ]);
  });
});

test('of two updates based on the same read, one wins and the other fails with a ConflictError on every replica', async () => {
  await withCluster({}, async (c) => {
    const { index } = await c.write((rs) => rs.update((t) => t.nodes.create(nodeDraft('w1'))));
    const leader = await c.leader();
    const read = leader.store.get('nodes', 'w1')!;
    const outcomes = await Promise.allSettled([
      c.write((rs) => rs.update((t) => t.nodes.update({ ...read, Spec: { ...read.Spec, Availability: 'pause' } }))),
      c.write((rs) => rs.update((t) => t.nodes.update({ ...read, Spec: { ...read.Spec, Availability: 'drain' } }))),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const err = (lost[0] as PromiseRejectedResult).reason;
    assert.ok(err instanceof ConflictError, String(err));
    assert.match(err.message, new RegExp(`node w1 was updated since you read it \\(version ${index}, now \\d+\\)`));

    await c.converged();
    const winner = outcomes[0]!.status === 'fulfilled' ? 'pause' : 'drain';
    for (const m of c.running()) assert.equal(m.store.get('nodes', 'w1')!.Spec.Availability, winner);
  });
});

test('a member that missed compacted log, and a brand-new member, catch up from a store snapshot', async () => {
  await withCluster({ snapshotEntries: 20, compactionMargin: 5 }, async (c) => {
    await c.write((rs) => rs.update((t) => t.cluster.create(clusterDraft())));
    await c.converged();
    const leader = await c.leader();
    const laggard = c.running().find((m) => m.id !== leader.id)!.id;
    await c.stop(laggard);

    for (let i = 0; i < 60; i++) {
      await c.write((rs) => rs.update((t) => t.nodes.create(nodeDraft(`w${i}`, { hostname: `h${i % 3}` }))));
    }
    await c.write((rs) => rs.update((t) => t.nodes.delete('w0')));
    assert.ok(leader.node!.status().snapshotIndex > 20, 'the leader should have snapshotted and compacted');

    // Watch the restarted member from before its first entry: the snapshot arrives as a reset.
    const store = new MemoryStore({ logger });
    const watcher = store.watch();
    const back = await c.start(laggard, store);
    const latest = await c.converged();
    assert.ok(back.node!.stats().snapshotsRestored >= 1, 'the laggard should have installed a snapshot');
    const first = await watcher.next();
    assert.equal((first.value as WatchEvent).kind, 'reset');
    watcher.close();
    assert.equal(store.count('nodes'), 59);
    assert.equal(store.lookup('nodes', 'peerId', 'peer-w59')!.ID, 'w59');
    assert.equal(store.find('nodes', 'hostname', 'h0').length, 19);
    assert.equal(store.get('nodes', 'w0'), undefined);

    // A new member joins by snapshot too, and everyone still agrees after one more write.
    await c.start('n4');
    await c.write(async () => (await c.leader()).node!.addVoter('n4', { catchUpGap: 5 }));
    await c.converged();
    assert.ok(c.get('n4').node!.stats().snapshotsRestored >= 1, 'n4 should have started from a snapshot');
    const w5 = c.get('n4').store.get('nodes', 'w5')!;
    await c.write((rs) => rs.update((t) => t.nodes.update({ ...w5, Spec: { ...w5.Spec, Availability: 'drain' } })));
    const after = await c.converged();
    assert.ok(!after.equals(latest));
    assert.equal(c.get('n4').store.get('nodes', 'w5')!.Spec.Availability, 'drain');
  });
});

function describe(e: WatchEvent): string {
  return e.kind === 'reset' ? `reset@${e.index}` : `${e.kind} ${e.object.ID}@${e.index}`;
}
