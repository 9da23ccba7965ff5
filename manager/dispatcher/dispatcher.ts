// The dispatcher: the leader's end of every node's session (protocol in
// shared/protocol/dispatch.ts). It is a control loop: start() when this
// manager becomes the leader, stop() when it stops being one. Streams keep
// arriving either way (the daemon hands every /shoal/dispatch/1 stream to
// serve()); while this manager does not lead it answers with a redirect.
//
// While leading it
// - registers nodes and records their heartbeats in the HeartbeatTracker the
//   manager's node-liveness step reads (down after three silent periods);
// - sends each node the full set of its tasks, then what changes, driven by
//   the store's commit notifications (batched by a short sweep timer);
// - collects task status reports into batched proposals (StatusBatcher);
// - tells a node when its record is deleted (it must leave), and closes
//   every session when leadership ends so agents find the next leader.
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { NodeRecord } from '../../shared/model/index.js';
import type { MessageStream } from '../../shared/p2p/host.js';
import type { ManagerPeer } from '../../shared/protocol/cluster.js';
import { parseAgentMessage, type ManagerMessage, type SessionInfo } from '../../shared/protocol/dispatch.js';
import type { ControlLoop, LeaderContext } from '../control-loop.js';
import type { CommitEvent, MemoryStore } from '../store/memory-store.js';
import type { ResetEvent } from '../store/watch.js';
import type { HeartbeatTracker } from './heartbeats.js';
import { NodeSession } from './node-session.js';
import { NetworkStateBuilder } from './network-state.js';
import type { NetworksMessage } from '../../shared/protocol/network-state.js';
import { DEFAULT_DATA_PATH_PORT } from '../../shared/model/index.js';
import { StatusBatcher } from './status-batcher.js';

export interface DispatcherOptions {
  memory: MemoryStore;
  tracker: HeartbeatTracker;
  clock: Clock;
  log: Logger;
  /** Who leads now, for redirects (null when unknown). */
  leader: () => ManagerPeer | null;
  managers: () => ManagerPeer[];
  heartbeatPeriodMs: () => number;
  /** A node that is not marked ready sent a heartbeat: the node-status step should run soon. */
  onNodeNotReady?: () => void;
  /** How long a new stream may take to register (default 10 s). */
  registerTimeoutMs?: number;
  /** Batching window for assignment changes (default 50 ms). */
  sweepMs?: number;
  /** Status batching (see StatusBatcher). */
  statusFlushMs?: number;
  statusBatchSize?: number;
  maxPendingStatus?: number;
  /** Changed task IDs kept per session before it falls back to a full set (default 10000). */
  maxDirtyPerSession?: number;
}

/** Everything that exists only while this manager leads. */
interface Term {
  sessions: Map<string, NodeSession>;
  batcher: StatusBatcher;
  unsubscribe: () => void;
  sweep: (() => void) | undefined;
  expiry: () => void;
  /** The overlay networks' facts as of the last change, built at most once per sweep. */
  networks: NetworkStateBuilder | undefined;
}

export class Dispatcher implements ControlLoop {
  readonly name = 'dispatcher';
  private term: Term | undefined;
  private readonly log: Logger;

  constructor(private readonly o: DispatcherOptions) {
    this.log = o.log.child({ component: 'dispatcher' });
  }

  get leading(): boolean {
    return this.term !== undefined;
  }

  /** Open sessions (for tests and `info`). */
  sessionCount(): number {
    return this.term?.sessions.size ?? 0;
  }

  /** The batcher's counters while leading (for tests). */
  statusStats(): StatusBatcher['stats'] | undefined {
    return this.term?.batcher.stats;
  }

  start(ctx: LeaderContext): void {
    if (this.term) return;
    const sessions = new Map<string, NodeSession>();
    const batcher = new StatusBatcher({
      writer: ctx.store,
      view: this.o.memory,
      clock: this.o.clock,
      log: this.log,
      ...(this.o.statusFlushMs !== undefined ? { flushMs: this.o.statusFlushMs } : {}),
      ...(this.o.statusBatchSize !== undefined ? { batchSize: this.o.statusBatchSize } : {}),
      ...(this.o.maxPendingStatus !== undefined ? { maxPending: this.o.maxPendingStatus } : {}),
    });
    const term: Term = {
      sessions,
      batcher,
      unsubscribe: () => undefined,
      sweep: undefined,
      expiry: () => undefined,
      networks: undefined,
    };
    term.unsubscribe = this.o.memory.onCommit((e) => this.onCommit(term, e));
    term.expiry = this.o.clock.setInterval(() => this.expire(term), Math.max(100, Math.min(this.o.heartbeatPeriodMs(), 5000)));
    this.term = term;
  }

  async stop(): Promise<void> {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    term.unsubscribe();
    term.sweep?.();
    term.expiry();
    term.batcher.stop();
    // Agents reconnect and are redirected to whoever leads next.
    for (const s of term.sessions.values()) s.finish();
    term.sessions.clear();
  }

  /** Serve one agent's stream, from its register to its end. */
  async serve(stream: MessageStream, peerId: string): Promise<void> {
    let nodeId: string;
    try {
      const first = await stream.read({ signal: AbortSignal.timeout(this.o.registerTimeoutMs ?? 10_000) });
      if (first.done) return void stream.close().catch(() => undefined);
      const msg = parseAgentMessage(first.value);
      if (msg.type !== 'register') throw new Error(`expected register, got ${msg.type}`);
      nodeId = msg.nodeId;
    } catch (err) {
      this.log.debug({ peer: peerId, err: errMessage(err) }, 'dispatcher stream did not register');
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const term = this.term;
    const refuse = (last: ManagerMessage): void => {
      try {
        stream.send(last);
      } catch {
        // The close says enough.
      }
      void stream.close().catch(() => undefined);
    };
    if (!term) return refuse({ type: 'redirect', leader: this.o.leader(), managers: this.o.managers() });
    const node = this.o.memory.get('nodes', nodeId);
    if (node === undefined) return refuse({ type: 'removed' });
    if (node.Internal.PeerID !== peerId) {
      this.log.warn({ node: nodeId, peer: peerId }, 'refused a session: the node belongs to another peer');
      return refuse({ type: 'error', message: `node ${nodeId} belongs to another peer; this daemon must leave and join again` });
    }
    const session = new NodeSession({
      nodeId,
      peerId,
      stream,
      view: this.o.memory,
      info: () => this.info(nodeId),
      networks: () => this.networksFor(term, nodeId),
      log: this.log,
      now: this.o.clock.now(),
      ...(this.o.maxDirtyPerSession !== undefined ? { maxDirty: this.o.maxDirtyPerSession } : {}),
    });
    term.sessions.get(nodeId)?.finish();
    term.sessions.set(nodeId, session);
    this.seen(node);
    this.log.debug({ node: nodeId, peer: peerId }, 'node session started');
    session.pump();
    try {
      for (;;) {
        const r = await stream.read();
        if (r.done || session.closed || this.term !== term) break;
        const msg = parseAgentMessage(r.value);
        const now = this.o.clock.now();
        session.lastSeen = now;
        // Any message shows the node is alive: heartbeats may queue behind status reports.
        this.seenId(nodeId, now);
        if (msg.type === 'heartbeat') {
          session.heartbeat(now);
          session.pump();
        } else if (msg.type === 'status') {
          // Not reading further until there is room is what bounds the waiting reports.
          await term.batcher.waitForSpace();
          term.batcher.add(nodeId, msg.reports);
        } else {
          throw new Error('register sent twice on one stream');
        }
      }
    } catch (err) {
      if (!session.closed) this.log.debug({ node: nodeId, err: errMessage(err) }, 'node session failed');
      session.abort(errMessage(err));
    } finally {
      if (term.sessions.get(nodeId) === session) term.sessions.delete(nodeId);
      session.finish();
    }
  }

  private info(nodeId: string): SessionInfo | undefined {
    const n = this.o.memory.get('nodes', nodeId);
    if (n === undefined) return undefined;
    return { role: n.Spec.Role, raftId: n.Internal.RaftID, managers: this.o.managers(), heartbeatPeriodMs: this.o.heartbeatPeriodMs() };
  }

  private seen(node: NodeRecord): void {
    this.o.tracker.seen(node.ID, this.o.clock.now());
    if (node.Status.State !== 'ready') this.o.onNodeNotReady?.();
  }

  private seenId(nodeId: string, now: number): void {
    this.o.tracker.seen(nodeId, now);
    const n = this.o.memory.get('nodes', nodeId);
    if (n !== undefined && n.Status.State !== 'ready') this.o.onNodeNotReady?.();
  }

  /** Runs inside Raft's apply loop: only marks what changed and schedules the sweep. */
  private onCommit(term: Term, e: CommitEvent | ResetEvent): void {
    if (this.term !== term || term.sessions.size === 0) return;
    if (e.kind === 'reset') {
      for (const s of term.sessions.values()) {
        s.resyncAll();
        s.infoMayHaveChanged();
      }
      this.scheduleSweep(term);
      return;
    }
    let touched = false;
    let everyone = false;
    let networks = false;
    for (const ev of e.events) {
      if (ev.table === 'networks' || ev.table === 'services') networks = true;
      if (ev.table === 'tasks') {
        if (ev.object.NetworksAttachments !== undefined || (ev.kind === 'update' && ev.previous.NetworksAttachments !== undefined)) networks = true;
        const a = ev.object.NodeID;
        const b = ev.kind === 'update' ? ev.previous.NodeID : undefined;
        if (a) touched = this.markTask(term, a, ev.object.ID) || touched;
        if (b && b !== a) touched = this.markTask(term, b, ev.object.ID) || touched;
      } else if (ev.table === 'nodes') {
        networks = true;
        const s = term.sessions.get(ev.object.ID);
        if (ev.kind === 'delete') {
          s?.finish({ type: 'removed' });
          if (s) term.sessions.delete(ev.object.ID);
          everyone ||= ev.object.Internal.RaftID !== 0;
          continue;
        }
        const before = ev.kind === 'update' ? ev.previous : undefined;
        // The manager list every session carries changes with these fields.
        if (before === undefined || before.Internal.RaftID !== ev.object.Internal.RaftID || before.Internal.Multiaddr !== ev.object.Internal.Multiaddr) {
          everyone ||= ev.object.Internal.RaftID !== 0 || (before?.Internal.RaftID ?? 0) !== 0;
        }
        if (s) {
          s.infoMayHaveChanged();
          touched = true;
        }
      } else if (ev.table === 'cluster') {
        everyone = true;
      }
    }
    if (everyone) for (const s of term.sessions.values()) s.infoMayHaveChanged();
    if (networks) {
      term.networks = undefined;
      for (const s of term.sessions.values()) s.networksMayHaveChanged();
    }
    if (touched || everyone || networks) this.scheduleSweep(term);
  }

  /** A node's networks message, from facts built once for all sessions until the next change. */
  private networksFor(term: Term, nodeId: string): NetworksMessage {
    term.networks ??= new NetworkStateBuilder({
      networks: this.o.memory.list('networks'),
      services: this.o.memory.list('services'),
      tasks: this.o.memory.list('tasks').filter((t) => t.NetworksAttachments !== undefined && t.NetworksAttachments.length > 0),
      nodes: this.o.memory.list('nodes'),
      dataPathPort: this.o.memory.list('cluster')[0]?.DataPathPort || DEFAULT_DATA_PATH_PORT,
    });
    return term.networks.forNode(nodeId);
  }

  private markTask(term: Term, nodeId: string, taskId: string): boolean {
    const s = term.sessions.get(nodeId);
    if (!s) return false;
    s.taskChanged(taskId);
    return true;
  }

  private scheduleSweep(term: Term): void {
    term.sweep ??= this.o.clock.setTimeout(() => {
      term.sweep = undefined;
      if (this.term !== term) return;
      for (const s of term.sessions.values()) if (s.hasWork) s.pump();
    }, this.o.sweepMs ?? 50);
  }

  /** Sessions silent for three periods are dropped: the node is down by then anyway. */
  private expire(term: Term): void {
    const now = this.o.clock.now();
    const limit = 3 * this.o.heartbeatPeriodMs() + 1000;
    for (const [id, s] of term.sessions) {
      if (now - s.lastSeen > limit) {
        term.sessions.delete(id);
        s.abort('no heartbeat for three periods');
      }
    }
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
