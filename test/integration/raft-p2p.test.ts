// Raft over the real network stack: three RaftNodes, each on its own libp2p
// host on loopback (TCP, Noise, Yamux), connected by P2PTransport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { encodePut, KvStateMachine } from '../../manager/raft/kv-state-machine.js';
import { RaftNode } from '../../manager/raft/node.js';
import { P2PTransport, RAFT_PROTOCOL } from '../../manager/raft/p2p-transport.js';
import { MessageType, msg, type NodeId } from '../../manager/raft/types.js';
import { isShoalError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { P2PHost, type PeerTarget } from '../../shared/p2p/host.js';
import { eventually } from './raft-cluster.js';

const logger = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent', name: 'raft-p2p-test' });
const IDS: NodeId[] = ['n1', 'n2', 'n3'];

interface Member {
  id: NodeId;
  key: PrivateKey;
  dir: string;
  host: P2PHost | undefined;
  transport: P2PTransport | undefined;
  node: RaftNode | undefined;
  sm: KvStateMachine;
}

/** Three members sharing one address book, as the cluster store would provide it. */
class P2PCluster {
  readonly members = new Map<NodeId, Member>();
  readonly book = new Map<NodeId, PeerTarget>();

  private constructor(readonly root: string) {}

  static async create(): Promise<P2PCluster> {
    const c = new P2PCluster(await mkdtemp(join(tmpdir(), 'shoal-raft-p2p-')));
    for (const id of IDS) {
      c.members.set(id, { id, key: await generateKeyPair('Ed25519'), dir: join(c.root, id), host: undefined, transport: undefined, node: undefined, sm: new KvStateMachine() });
    }
    // Hosts first, so the address book is complete before any node sends.
    for (const id of IDS) await c.startHost(id);
    await Promise.all(IDS.map((id) => c.startNode(id)));
    return c;
  }

  /** A host on a fresh ephemeral port with the member's persistent key; the address book follows. */
  async startHost(id: NodeId): Promise<void> {
    const m = this.get(id);
    const managers = (): Set<string> => new Set([...this.book.values()].map((t) => t.peerId));
    m.host = await P2PHost.create({
      privateKey: m.key,
      listenHost: '127.0.0.1',
      listenPort: 0,
      logger,
      // As the daemon's guard will: only known managers may speak raft.
      guard: (peer, protocol) => (protocol === RAFT_PROTOCOL && !managers().has(peer) ? { allow: false, reason: 'not a manager' } : { allow: true }),
    });
    this.book.set(id, { peerId: m.host.peerId, addr: m.host.listenAddrs()[0]! });
  }

  async startNode(id: NodeId): Promise<RaftNode> {
    const m = this.get(id);
    m.sm = new KvStateMachine();
    m.transport = new P2PTransport(m.host!, { resolve: (to) => this.book.get(to), logger, reachableWindowMs: 1_000 });
    m.node = await RaftNode.start({
      id,
      dataDir: m.dir,
      transport: m.transport,
      stateMachine: m.sm,
      bootstrap: IDS,
      tickMs: 20,
      electionTick: 10,
      heartbeatTick: 1,
      logger,
    });
    return m.node;
  }

  /** Stop the node and take its host off the network, like a crashed machine. */
  async kill(id: NodeId): Promise<void> {
    const m = this.get(id);
    await m.node?.stop({ crash: true });
    await m.host?.stop();
    m.node = undefined;
    m.host = undefined;
    m.transport = undefined;
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  running(): Member[] {
    return [...this.members.values()].filter((m) => m.node !== undefined);
  }

  async leader(timeoutMs = 10_000): Promise<Member> {
    let found: Member | undefined;
    await eventually(
      () => {
        const leaders = this.running().filter((m) => m.node!.isLeader());
        found = leaders[0];
        return leaders.length === 1;
      },
      'exactly one leader',
      timeoutMs,
    );
    return found!;
  }

  /** Propose through whoever leads, retrying only errors that mean "not appended". */
  async put(key: string, value: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader(Math.max(1, deadline - Date.now()));
      try {
        await leader.node!.propose(encodePut(key, value), { timeoutMs: 3_000 });
        return;
      } catch (err) {
        const retriable = isShoalError(err) && ['not_leader', 'proposal_dropped', 'unavailable', 'stopped'].includes(err.code);
        if (!retriable || Date.now() > deadline) throw err;
      }
    }
  }

  async converged(timeoutMs = 10_000): Promise<void> {
    await eventually(
      () => {
        const ms = this.running();
        const commit = Math.max(...ms.map((m) => m.node!.status().commit));
        return ms.every((m) => m.node!.appliedIndex() >= commit) && new Set(ms.map((m) => m.sm.digest())).size === 1;
      },
      'running members to apply the same state',
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    for (const m of this.members.values()) await this.kill(m.id);
    await rm(this.root, { recursive: true, force: true });
  }
}

test('three nodes over libp2p elect, commit 200 proposals, survive losing the leader, and take it back', async () => {
  const c = await P2PCluster.create();
  try {
    const first = await c.leader();
    await Promise.all(Array.from({ length: 200 }, (_, i) => c.put(`k${i % 50}`, `v${i}`)));
    await c.converged();
    for (const m of c.running()) {
      assert.equal(m.sm.data.size, 50);
      assert.equal(m.sm.get('k49'), 'v199');
    }
    const stats = first.transport!.stats();
    assert.ok(stats.framesSent > 0 && stats.messagesSent >= stats.framesSent, `sent ${stats.messagesSent} messages in ${stats.framesSent} frames`);
    assert.equal(stats.malformedFrames + stats.rejectedMessages, 0);
    for (const other of IDS.filter((id) => id !== first.id)) assert.ok(first.transport!.reachable(other), `${other} reachable from the leader`);

    // The leader's machine dies; the other two elect a new leader and keep committing.
    await c.kill(first.id);
    const second = await c.leader();
    assert.notEqual(second.id, first.id);
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.put(`after${i}`, `x${i}`)));
    await c.converged();
    assert.equal(second.sm.get('after49'), 'x49');
    await eventually(() => !second.transport!.reachable(first.id), 'the dead leader to count as unreachable');
    assert.ok(second.transport!.stats().droppedUnreachable > 0, 'messages to the dead node were dropped, not queued without bound');

    // It comes back on a new port with the same identity and catches up.
    await c.startHost(first.id);
    await c.startNode(first.id);
    await c.converged(15_000);
    assert.equal(c.get(first.id).sm.get('after49'), 'x49');
    await eventually(() => second.transport!.reachable(first.id), 'the restarted node to be reachable again');
  } finally {
    await c.close();
  }
});

test('a raft stream from a peer that is not a manager is refused, and its messages never arrive', async () => {
  const c = await P2PCluster.create();
  const intruder = await P2PHost.create({ privateKey: await generateKeyPair('Ed25519'), listenHost: '127.0.0.1', listenPort: 0, logger, guard: () => ({ allow: true }) });
  try {
    const leader = await c.leader();
    const victim = c.running().find((m) => m.id !== leader.id)!;
    // The intruder claims to be the leader, with a far higher term.
    const t = new P2PTransport(intruder, { resolve: (id) => c.book.get(id), logger });
    const term = victim.node!.status().term;
    t.send([msg({ type: MessageType.Heartbeat, from: leader.id, to: victim.id, term: term + 100 })]);
    await eventually(() => t.stats().streamFailures > 0 || t.stats().droppedUnreachable > 0, 'the intruder stream to be refused');
    assert.ok(victim.node!.status().term < term + 100, 'the forged message never reached raft');
    await t.close();
  } finally {
    await intruder.stop();
    await c.close();
  }
});
