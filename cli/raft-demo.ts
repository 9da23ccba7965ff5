// `shoal demo raft`: a Raft cluster in one process on the real on-disk WAL.
// It commits writes, crashes the leader, shows the re-election, keeps
// writing, restarts the crashed node from its data directory and checks that
// every replica ended with the same state.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodePut, KvStateMachine } from '../manager/raft/kv-state-machine.js';
import { MemoryNetwork } from '../manager/raft/memory-transport.js';
import { RaftNode } from '../manager/raft/node.js';
import type { NodeId } from '../manager/raft/types.js';
import { InvalidArgumentError, isShoalError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';

export interface RaftDemoOptions {
  nodes: number;
  proposals: number;
  dataDir?: string;
  format: 'text' | 'json';
  /** --log-level; the demo defaults to warn so Raft's own log lines do not drown its output. */
  logLevel?: string;
}

const MAX_NODES = 9;
/** Writes in flight at once: enough to show batching, few enough to keep the output steady. */
const IN_FLIGHT = 64;
const TICK_MS = 100;
const ELECTION_TICK = 10;
const STEP_TIMEOUT_MS = 15_000;

interface WritePhase {
  leader: NodeId;
  writes: number;
  seconds: number;
  writesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface RaftDemoSummary {
  nodes: number;
  dataDir: string;
  /** False when the directory was temporary and has been removed. */
  dataDirKept: boolean;
  firstLeader: NodeId;
  firstElectionMs: number;
  before: WritePhase;
  crashed: NodeId;
  newLeader: NodeId;
  reelectionMs: number;
  term: number;
  after: WritePhase;
  catchUpMs: number;
  caughtUpBySnapshot: boolean;
  keys: number;
  appliedIndex: number;
  digest: string;
  identical: boolean;
}

interface Member {
  id: NodeId;
  dir: string;
  sm: KvStateMachine;
  node: RaftNode | undefined;
}

export async function runRaftDemo(opts: RaftDemoOptions): Promise<void> {
  if (opts.nodes < 3 || opts.nodes > MAX_NODES) {
    throw new InvalidArgumentError(
      `--nodes must be between 3 and ${MAX_NODES} (got ${opts.nodes}): the demo crashes the leader, and only 3 or more nodes keep a majority without it`,
    );
  }
  const text = opts.format === 'text';
  const say = (line: string): void => {
    if (text) process.stdout.write(`${line}\n`);
  };
  const { dir, temporary } = await prepareDataDir(opts.dataDir);
  const logger = createLogger({ level: opts.logLevel ?? process.env['SHOAL_LOG_LEVEL'] ?? 'warn', name: 'raft' });
  const demo = new DemoCluster(dir, opts.nodes, logger, Math.max(50, Math.floor(opts.proposals / 4)));
  try {
    say(`shoal raft demo: ${opts.nodes} nodes in one process, each with its own WAL under ${dir}`);
    say(`election timeout ${ELECTION_TICK * TICK_MS}-${2 * ELECTION_TICK * TICK_MS} ms, heartbeat ${TICK_MS} ms`);

    const t0 = performance.now();
    await demo.startAll();
    const first = await demo.waitForNewLeader(undefined);
    const firstElectionMs = performance.now() - t0;
    say(`\nleader ${first.id} elected after ${ms(firstElectionMs)} (term ${first.status().term})`);

    say(`committing ${opts.proposals} writes through ${first.id} (${IN_FLIGHT} in flight)...`);
    const before = await demo.write(0, opts.proposals, say);
    say(`committed ${before.writes} writes in ${before.seconds.toFixed(2)} s: ${Math.round(before.writesPerSecond)} writes/s, latency p50 ${before.p50Ms.toFixed(2)} ms, p99 ${before.p99Ms.toFixed(2)} ms`);

    const crashed = demo.currentLeader()?.id ?? first.id;
    say(`\ncrashing the leader ${crashed} (no goodbye: its in-flight state is whatever reached the disk)...`);
    const crashAt = performance.now();
    await demo.crash(crashed);
    const next = await demo.waitForNewLeader(crashed);
    const reelectionMs = performance.now() - crashAt;
    const term = next.status().term;
    say(`${next.id} elected leader after ${ms(reelectionMs)} (term ${term}); the survivors noticed the silence and voted`);

    const more = Math.max(1, Math.ceil(opts.proposals / 2));
    say(`committing ${more} more writes through ${next.id} while ${crashed} is down...`);
    const after = await demo.write(opts.proposals, more, say);
    say(`committed ${after.writes} writes in ${after.seconds.toFixed(2)} s: ${Math.round(after.writesPerSecond)} writes/s`);

    say(`\nrestarting ${crashed} from ${join(dir, crashed)}...`);
    const restartAt = performance.now();
    const restarted = await demo.restart(crashed);
    const digest = await demo.converged();
    const catchUpMs = performance.now() - restartAt;
    const caughtUpBySnapshot = restarted.stats().snapshotsRestored > 0;
    say(
      `${crashed} caught up in ${ms(catchUpMs)}: replayed its WAL, then ${
        caughtUpBySnapshot ? 'installed a snapshot from the leader (its log had been compacted past it)' : 'received the missing entries from the leader'
      }`,
    );

    const sm = demo.get(crashed).sm;
    const summary: RaftDemoSummary = {
      nodes: opts.nodes,
      dataDir: dir,
      dataDirKept: !temporary,
      firstLeader: first.id,
      firstElectionMs: round(firstElectionMs),
      before,
      crashed,
      newLeader: next.id,
      reelectionMs: round(reelectionMs),
      term,
      after,
      catchUpMs: round(catchUpMs),
      caughtUpBySnapshot,
      keys: sm.data.size,
      appliedIndex: restarted.appliedIndex(),
      digest,
      identical: true,
    };
    const expectedKeys = opts.proposals + more;
    if (sm.data.size !== expectedKeys) {
      throw new Error(`the replicas agree but hold ${sm.data.size} keys instead of ${expectedKeys}: writes were lost; please report this`);
    }
    say(`\nall ${opts.nodes} state machines are identical: ${summary.keys} keys, applied index ${summary.appliedIndex}, digest ${digest}`);
    if (!temporary) say(`the WALs and snapshots stay in ${dir}`);
    if (!text) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await demo.stopAll();
    if (temporary) await rm(dir, { recursive: true, force: true });
  }
}

/** A fresh directory: a previous run's state would make a different cluster. */
async function prepareDataDir(dataDir: string | undefined): Promise<{ dir: string; temporary: boolean }> {
  if (dataDir === undefined) return { dir: await mkdtemp(join(tmpdir(), 'shoal-raft-demo-')), temporary: true };
  const dir = resolve(dataDir);
  let existing: string[] = [];
  try {
    existing = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing.length > 0) {
    throw new InvalidArgumentError(`--data-dir ${dir} is not empty (a previous run?); pass a new or empty directory, or remove it first`);
  }
  return { dir, temporary: false };
}

class DemoCluster {
  private readonly network = new MemoryNetwork();
  private readonly members: Member[];

  constructor(
    root: string,
    n: number,
    private readonly logger: Logger,
    /** Snapshot every this many entries: a quarter of the first phase, so the crashed node falls behind the compacted log. */
    private readonly snapshotEntries: number,
  ) {
    this.members = Array.from({ length: n }, (_, i) => {
      const id = `n${i + 1}`;
      return { id, dir: join(root, id), sm: new KvStateMachine(), node: undefined };
    });
  }

  get(id: NodeId): Member {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no demo node ${id}`);
    return m;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.start(m)));
  }

  private async start(m: Member): Promise<RaftNode> {
    m.sm = new KvStateMachine();
    m.node = await RaftNode.start({
      id: m.id,
      dataDir: m.dir,
      transport: this.network.transport(m.id),
      stateMachine: m.sm,
      bootstrap: this.members.map((x) => x.id),
      tickMs: TICK_MS,
      electionTick: ELECTION_TICK,
      snapshotEntries: this.snapshotEntries,
      compactionMargin: Math.max(10, Math.floor(this.snapshotEntries / 5)),
      logger: this.logger,
    });
    return m.node;
  }

  async restart(id: NodeId): Promise<RaftNode> {
    return this.start(this.get(id));
  }

  async crash(id: NodeId): Promise<void> {
    const m = this.get(id);
    const node = m.node;
    m.node = undefined;
    await node?.stop({ crash: true });
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const node = m.node;
        m.node = undefined;
        await node?.stop();
      }),
    );
  }

  private running(): RaftNode[] {
    return this.members.flatMap((m) => (m.node ? [m.node] : []));
  }

  currentLeader(): RaftNode | undefined {
    return this.running().find((n) => n.isLeader());
  }

  /** Wait for a leader other than `not`, driven by the nodes' own events. */
  waitForNewLeader(not: NodeId | undefined): Promise<RaftNode> {
    return new Promise<RaftNode>((resolve, reject) => {
      const nodes = this.running();
      const check = (): void => {
        const leader = nodes.find((n) => n.isLeader() && n.id !== not);
        if (!leader) return;
        cleanup();
        resolve(leader);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no leader was elected within ${STEP_TIMEOUT_MS / 1000} s; this should not happen on one machine, please report it`));
      }, STEP_TIMEOUT_MS);
      const cleanup = (): void => {
        clearTimeout(timer);
        for (const n of nodes) n.off('role-changed', check);
      };
      for (const n of nodes) n.on('role-changed', check);
      check();
    });
  }

  /** Write keys [from, from + count) through the leader, following it if it changes. */
  async write(from: number, count: number, say: (line: string) => void): Promise<WritePhase> {
    const latencies: number[] = [];
    const started = performance.now();
    let next = from;
    let done = 0;
    let lastReported = 0;
    let leaderId = this.currentLeader()?.id ?? '';
    const worker = async (): Promise<void> => {
      while (next < from + count) {
        const key = next++;
        const t = performance.now();
        leaderId = await this.put(`key-${key}`, `value-${key}`);
        latencies.push(performance.now() - t);
        done++;
        // Progress in quarters, so a big run shows life without flooding the terminal.
        const quarter = Math.floor((4 * done) / count);
        if (quarter > lastReported && done < count) {
          lastReported = quarter;
          say(`  ${done}/${count} committed`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!);
    return { leader: leaderId, writes: count, seconds: round(seconds), writesPerSecond: round(count / seconds), p50Ms: pct(0.5), p99Ms: pct(0.99) };
  }

  /** One write through whoever leads; retried across leadership changes. Returns the leader used. */
  private async put(key: string, value: string): Promise<NodeId> {
    const deadline = performance.now() + STEP_TIMEOUT_MS;
    for (;;) {
      const leader = this.currentLeader() ?? (await this.waitForNewLeader(undefined));
      try {
        await leader.propose(encodePut(key, value));
        return leader.id;
      } catch (err) {
        const retriable = isShoalError(err) && ['not_leader', 'proposal_dropped', 'unavailable'].includes(err.code);
        if (!retriable || performance.now() > deadline) throw err;
      }
    }
  }

  /** Wait until every running replica has applied everything and holds the same state; returns its digest. */
  converged(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const nodes = this.running();
      const check = (): void => {
        const commit = Math.max(...nodes.map((n) => n.status().commit));
        if (!nodes.every((n) => n.appliedIndex() >= commit)) return;
        const digests = new Set(this.members.filter((m) => m.node).map((m) => m.sm.digest()));
        if (digests.size !== 1) return;
        cleanup();
        resolve([...digests][0]!);
      };
      const timer = setTimeout(() => {
        cleanup();
        const state = this.members.map((m) => `${m.id}: applied ${m.node?.appliedIndex() ?? '-'}, digest ${m.sm.digest()}`).join('; ');
        reject(new Error(`the replicas did not converge within ${STEP_TIMEOUT_MS / 1000} s (${state}); please report this`));
      }, STEP_TIMEOUT_MS);
      // 'applied' covers progress; the poll covers a replica that is done and waits on nothing.
      const poll = setInterval(check, TICK_MS);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        for (const n of nodes) n.off('applied', check);
      };
      for (const n of nodes) n.on('applied', check);
      check();
    });
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}
