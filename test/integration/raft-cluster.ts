// A cluster of real RaftNodes in one process for integration tests: real
// DiskStorage in a temporary directory, the MemoryNetwork, KV state machines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvStateMachine, encodePut } from '../../manager/raft/kv-state-machine.js';
import { MemoryNetwork } from '../../manager/raft/memory-transport.js';
import { RaftNode, type RaftNodeOptions } from '../../manager/raft/node.js';
import type { NodeId } from '../../manager/raft/types.js';
import { isShoalError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';

export interface Member {
  id: NodeId;
  dir: string;
  sm: KvStateMachine;
  node: RaftNode | undefined;
}

export type NodeTuning = Partial<Omit<RaftNodeOptions, 'id' | 'dataDir' | 'transport' | 'stateMachine' | 'bootstrap'>>;

const logger = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent', name: 'raft-test' });

/** Poll `cond` until it holds; fail with `what` after the deadline. Never a fixed sleep. */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function isRetriable(err: unknown): boolean {
  return isShoalError(err) && ['not_leader', 'proposal_dropped', 'unavailable', 'stopped'].includes(err.code);
}

export class RaftCluster {
  readonly network = new MemoryNetwork();
  readonly members = new Map<NodeId, Member>();

  private constructor(
    readonly root: string,
    private readonly founders: NodeId[],
    private readonly tuning: NodeTuning,
  ) {}

  static async create(ids: NodeId[], tuning: NodeTuning = {}): Promise<RaftCluster> {
    const root = await mkdtemp(join(tmpdir(), 'shoal-raft-it-'));
    const c = new RaftCluster(root, ids, tuning);
    await Promise.all(ids.map((id) => c.start(id)));
    return c;
  }

  /** Start (or restart, from its data dir) a node. Founders bootstrap; others start empty. */
  async start(id: NodeId): Promise<RaftNode> {
    let m = this.members.get(id);
    if (m?.node) throw new Error(`${id} is already running`);
    if (!m) {
      m = { id, dir: join(this.root, id), sm: new KvStateMachine(), node: undefined };
      this.members.set(id, m);
    }
    // A restart begins from a blank state machine, like a restarted process.
    m.sm = new KvStateMachine();
    m.node = await RaftNode.start({
      // 200-400 ms election timeouts: quick tests, yet a busy CI machine's stalls rarely depose a leader.
      tickMs: 20,
      electionTick: 10,
      heartbeatTick: 1,
      logger,
      ...this.tuning,
      id,
      dataDir: m.dir,
      transport: this.network.transport(id),
      stateMachine: m.sm,
      ...(this.founders.includes(id) ? { bootstrap: this.founders } : {}),
    });
    return m.node;
  }

  async stop(id: NodeId, opts: { crash?: boolean } = {}): Promise<void> {
    const m = this.get(id);
    const node = m.node;
    if (!node) return;
    m.node = undefined;
    await node.stop(opts);
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: NodeId): RaftNode {
    const n = this.get(id).node;
    if (!n) throw new Error(`${id} is not running`);
    return n;
  }

  running(): Member[] {
    return [...this.members.values()].filter((m) => m.node !== undefined);
  }

  /** The single node every running member agrees is leader. */
  async leader(timeoutMs = 10_000): Promise<RaftNode> {
    let found: RaftNode | undefined;
    await eventually(
      () => {
        const leaders = this.running().filter((m) => m.node!.isLeader());
        if (leaders.length !== 1) return false;
        found = leaders[0]!.node!;
        return true;
      },
      'exactly one leader',
      timeoutMs,
    );
    return found!;
  }

  /**
   * Write through whoever leads, retrying through elections and leadership
   * changes; returns what apply returned. Only errors that mean "not
   * appended" are retried, so a write is never applied twice.
   */
  async put(key: string, value: string, timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader(Math.max(1, deadline - Date.now()));
      try {
        return await leader.propose(encodePut(key, value), { timeoutMs: 2000 });
      } catch (err) {
        if (!isRetriable(err) || Date.now() > deadline) throw err;
      }
    }
  }

  /** Run `op` on the current leader, again on the next one if leadership moves first. */
  async onLeader<T>(op: (leader: RaftNode) => Promise<T>, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader(Math.max(1, deadline - Date.now()));
      try {
        return await op(leader);
      } catch (err) {
        if (!isShoalError(err) || err.code !== 'not_leader' || Date.now() > deadline) throw err;
      }
    }
  }

  /** Wait until every running member has applied the same index as the leader and holds the same data. */
  async converged(timeoutMs = 10_000): Promise<string> {
    let digest = '';
    await eventually(
      () => {
        const ms = this.running();
        const commit = Math.max(...ms.map((m) => m.node!.status().commit));
        if (!ms.every((m) => m.node!.appliedIndex() >= commit)) return false;
        const digests = new Set(ms.map((m) => m.sm.digest()));
        digest = ms[0]!.sm.digest();
        return digests.size === 1;
      },
      'all running members to apply the same state',
      timeoutMs,
    );
    return digest;
  }

  async close(): Promise<void> {
    await Promise.all(this.running().map((m) => this.stop(m.id)));
    await rm(this.root, { recursive: true, force: true });
  }
}
