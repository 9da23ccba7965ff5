// RaftNode: the imperative shell around the pure Raft core. It owns the
// timers, the disk and the network, and runs the etcd-style Ready loop:
//
//   persist (one fsync) -> mirror into MemoryStorage -> send -> apply -> advance
//
// The loop is single-flight. Whatever arrives while a write is in flight
// (messages, ticks) is stepped into the core at once, and proposals queue up,
// so the next Ready carries all of it in one write: group commit falls out of
// the structure rather than from a timer.
import { EventEmitter } from 'node:events';
import { type Cancel, type Clock, SystemClock } from '../../shared/clock.js';
import { InvalidArgumentError, ShoalError, UnavailableError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { SystemRandom } from '../../shared/random.js';
import { decodeConfChange, encodeConfChange } from './conf-change.js';
import { cloneConfState, MemoryStorage } from './log-storage.js';
import {
  LeadershipChangedError,
  NodeStoppedError,
  NotLeaderError,
  OutcomeUnknownError,
  RaftTimeoutError,
} from './node-errors.js';
import { type PendingProposal, ProposalTracker } from './proposals.js';
import { openStorage, validateOptions } from './node-recovery.js';
import type { RaftNodeEvents, RaftNodeOptions, RaftNodeStats, RaftNodeStatus, StateMachine } from './node-types.js';
import { RawNode } from './raw-node.js';
import { ReadTracker } from './reads.js';
import type { DiskStorage, DurableState } from './storage/disk-storage.js';
import type { Transport } from './transport.js';
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  ProposalDroppedError,
  type Ready,
  type Snapshot,
  type SoftState,
  StateRole,
} from './types.js';

export {
  LeadershipChangedError,
  NodeStoppedError,
  NotLeaderError,
  OutcomeUnknownError,
  OverloadedError,
  RaftTimeoutError,
} from './node-errors.js';
export type { RaftNodeEvents, RaftNodeOptions, RaftNodeStats, RaftNodeStatus, StateMachine } from './node-types.js';

interface Waiter {
  check(): boolean;
  reject(err: unknown): void;
}

export class RaftNode extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  private readonly raw: RawNode;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly sm: StateMachine;
  private readonly transport: Transport;
  private readonly tickMs: number;
  private readonly electionMs: number;
  private readonly snapshotEntries: number;
  private readonly compactionMargin: number;
  private readonly maxBatchEntries: number;
  private readonly proposalTimeoutMs: number;
  private readonly readTimeoutMs: number;
  private readonly proposals: ProposalTracker;
  private readonly reads: ReadTracker;
  private readonly waiters = new Set<Waiter>();
  private readonly cancelTick: Cancel;

  private applied: number;
  /** Term of the newest entry applied in this run (0 before the first). */
  private appliedTerm = 0;
  private snapshotIndex: number;
  private confState: ConfState;
  /** Newest hard state the core reported, and the newest one on disk. */
  private latestHardState: HardState;
  private savedHardState: HardState;
  private lead: NodeId = NONE;
  private role: StateRole = StateRole.Follower;

  private looping = false;
  private kickQueued = false;
  private readyOutstanding = false;
  /** Snapshot chunks wait until no Ready is outstanding (see onMessage). */
  private deferred: Message[] = [];
  private loopDone: Promise<void> = Promise.resolve();
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly statsData: RaftNodeStats = {
    readies: 0,
    saves: 0,
    entriesSaved: 0,
    saveMsTotal: 0,
    proposeBatches: 0,
    proposalsBatched: 0,
    maxProposeBatch: 0,
    messagesSent: 0,
    entriesApplied: 0,
    snapshotsSaved: 0,
    snapshotsRestored: 0,
  };

  private constructor(
    opts: RaftNodeOptions,
    log: Logger,
    private readonly disk: DiskStorage,
    private readonly mem: MemoryStorage,
    state: DurableState,
  ) {
    super();
    this.id = opts.id;
    this.log = log;
    this.clock = opts.clock ?? new SystemClock();
    this.sm = opts.stateMachine;
    this.transport = opts.transport;
    this.tickMs = opts.tickMs ?? 100;
    const electionTick = opts.electionTick ?? 10;
    this.electionMs = electionTick * this.tickMs;
    this.snapshotEntries = opts.snapshotEntries ?? 10_000;
    this.compactionMargin = opts.compactionMargin ?? Math.min(5000, this.snapshotEntries);
    this.maxBatchEntries = opts.maxBatchEntries ?? 4096;
    this.proposalTimeoutMs = opts.proposalTimeoutMs ?? 10_000;
    this.readTimeoutMs = opts.readTimeoutMs ?? 5000;
    const random = opts.random ?? new SystemRandom();
    this.proposals = new ProposalTracker(opts.maxPendingProposals ?? 10_000, this.clock);
    this.reads = new ReadTracker(opts.id, this.clock.now() * 1000 + random.int(1000), opts.maxPendingReads ?? 10_000, this.clock);

    const snap = state.snapshot;
    this.snapshotIndex = snap?.metadata.index ?? 0;
    this.applied = this.snapshotIndex;
    this.confState = snap ? cloneConfState(snap.metadata.confState) : { voters: [], learners: [] };
    this.latestHardState = { ...state.hardState };
    this.savedHardState = { ...state.hardState };

    this.raw = new RawNode({
      ...opts.raft,
      id: opts.id,
      storage: mem,
      electionTick,
      heartbeatTick: opts.heartbeatTick ?? 1,
      random,
      logger: log,
    });
    this.transport.setHandler(this.onMessage);
    this.cancelTick = this.clock.setInterval(this.onTick, this.tickMs);
    // Committed entries from before a restart are replayed at once.
    this.kick();
  }

  /** Open (or create) the node's storage, recover its state and start it. */
  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    validateOptions(opts);
    const log = (opts.logger ?? createLogger({ name: 'raft' })).child({ node: opts.id });
    const { disk, mem, state } = await openStorage(opts, log);
    log.info(
      {
        term: state.hardState.term,
        commit: state.hardState.commit,
        snapshotIndex: state.snapshot?.metadata.index ?? 0,
        lastIndex: mem.lastIndex(),
      },
      'raft node starting',
    );
    return new RaftNode(opts, log, disk, mem, state);
  }

  // --- public API ---------------------------------------------------------

  /**
   * Replicate `data` and resolve with what the state machine's apply returned
   * for it. Proposals made between two loop iterations go to the core as one
   * batch. Rejects with NotLeaderError on a follower.
   */
  propose(data: Uint8Array, opts: { timeoutMs?: number } = {}): Promise<unknown> {
    const refused = this.refuse();
    if (refused) return Promise.reject(refused);
    if (data.byteLength === 0) {
      return Promise.reject(new InvalidArgumentError('cannot propose empty data: empty entries are reserved for new leaders'));
    }
    if (!this.isLeader()) return Promise.reject(this.notLeader());
    const p = this.proposals.enqueue({ term: 0, index: 0, type: EntryType.Normal, data }, opts.timeoutMs ?? this.proposalTimeoutMs);
    this.kick();
    return p;
  }

  /**
   * A linearizable read barrier: resolves once this node has applied
   * everything committed before the call, so reading the local state machine
   * afterwards sees every write acknowledged before read() was called. Works
   * on followers too (the leader confirms the read index).
   */
  read(opts: { timeoutMs?: number } = {}): Promise<void> {
    const refused = this.refuse();
    if (refused) return Promise.reject(refused);
    const r = this.reads.enqueue(opts.timeoutMs ?? this.readTimeoutMs);
    this.kick();
    return r;
  }

  /** Hand leadership to `to`; resolves once `to` is the leader this node knows of. */
  async transferLeadership(to: NodeId, opts: { timeoutMs?: number } = {}): Promise<void> {
    const refused = this.refuse();
    if (refused) throw refused;
    if (this.leader() === to) return;
    if (!this.confState.voters.includes(to)) {
      throw new InvalidArgumentError(`cannot transfer leadership to ${to}: it is not a voter (voters: ${this.confState.voters.join(', ')})`);
    }
    this.raw.transferLeadership(to);
    this.kick();
    const timeoutMs = opts.timeoutMs ?? 2 * this.electionMs;
    await this.waitUntil(
      () => this.leader() === to,
      timeoutMs,
      () =>
        new RaftTimeoutError(
          `leadership did not move to ${to} within ${timeoutMs} ms; it may be lagging or unreachable (check status() and retry)`,
        ),
    );
  }

  /** Add a non-voting member that receives the log. Resolves with the new membership. */
  addLearner(id: NodeId, opts: { timeoutMs?: number } = {}): Promise<ConfState> {
    return this.proposeConfChange({ type: ConfChangeType.AddLearner, node: id }, opts.timeoutMs);
  }

  /**
   * Add a voter safely: first as a learner, then promoted once its log is
   * within `catchUpGap` entries of the leader's, so that the quorum never
   * waits on a member that is still downloading the log.
   */
  async addVoter(id: NodeId, opts: { timeoutMs?: number; catchUpGap?: number } = {}): Promise<ConfState> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const gap = opts.catchUpGap ?? 100;
    const deadline = this.clock.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - this.clock.now());
    if (this.confState.voters.includes(id)) return cloneConfState(this.confState);
    if (!this.confState.learners.includes(id)) await this.addLearner(id, { timeoutMs: remaining() });
    await this.waitUntil(
      () => {
        if (!this.isLeader()) throw this.notLeader();
        const st = this.raw.status();
        const pr = st.progress.get(id);
        return pr !== undefined && pr.match + gap >= st.lastIndex;
      },
      remaining(),
      () => {
        const pr = this.raw.status().progress.get(id);
        return new RaftTimeoutError(
          `${id} did not catch up within ${timeoutMs} ms (its log matches up to ${pr?.match ?? 0}, the leader's ends at ${this.raw.status().lastIndex}); ` +
            'it stays a learner: check that it is running and reachable, then call addVoter again',
        );
      },
    );
    return this.proposeConfChange({ type: ConfChangeType.AddVoter, node: id }, remaining());
  }

  /** Remove a member (possibly this node, even as leader). Resolves with the new membership. */
  removeNode(id: NodeId, opts: { timeoutMs?: number } = {}): Promise<ConfState> {
    if (!this.confState.voters.includes(id) && !this.confState.learners.includes(id)) {
      return Promise.reject(new InvalidArgumentError(`${id} is not a member (voters: ${this.confState.voters.join(', ')})`));
    }
    return this.proposeConfChange({ type: ConfChangeType.RemoveNode, node: id }, opts.timeoutMs);
  }

  status(): RaftNodeStatus {
    return {
      ...this.raw.status(),
      snapshotIndex: this.snapshotIndex,
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
    };
  }

  /** The leader as this node knows it, or undefined. */
  leader(): NodeId | undefined {
    const lead = this.raw.raft.lead;
    return lead === NONE ? undefined : lead;
  }

  isLeader(): boolean {
    return this.raw.raft.role === StateRole.Leader;
  }

  /** Highest index applied to the state machine. */
  appliedIndex(): number {
    return this.applied;
  }

  membership(): ConfState {
    return cloneConfState(this.confState);
  }

  stats(): RaftNodeStats {
    return { ...this.statsData };
  }

  /** Resolves with the leader once one is known. */
  async waitForLeader(timeoutMs = 5 * this.electionMs): Promise<NodeId> {
    await this.waitUntil(
      () => this.leader() !== undefined,
      timeoutMs,
      () =>
        new RaftTimeoutError(
          `no leader elected within ${timeoutMs} ms; a majority of voters (${this.confState.voters.join(', ')}) must be up and reachable`,
        ),
    );
    return this.leader()!;
  }

  /**
   * Stop the node. Graceful by default: timers stop, the write in flight
   * finishes, the newest hard state is saved, then transport and storage
   * close. With crash: true nothing more is written or sent (a simulated
   * crash; an in-flight fsync still completes, it cannot be recalled).
   * Pending requests are rejected with NodeStoppedError.
   */
  stop(opts: { crash?: boolean } = {}): Promise<void> {
    this.stopped ??= this.shutdown(opts.crash === true);
    return this.stopped;
  }

  // --- loop ---------------------------------------------------------------

  private readonly onTick = (): void => {
    if (this.stopping) return;
    try {
      this.raw.tick();
      this.proposals.expire(this.clock.now());
      // Reads whose request or answer may be lost (or that found no leader) are asked again.
      for (const ctx of this.reads.retryDue(Math.max(this.tickMs, this.electionMs / 2))) this.raw.readIndex(ctx);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.checkWaiters();
    this.kick();
  };

  private readonly onMessage = (m: Message): void => {
    if (this.stopping) return;
    if (m.to !== this.id) {
      this.log.warn({ type: m.type, from: m.from, to: m.to }, 'dropped a message addressed to another node');
      return;
    }
    // A snapshot chunk may install a snapshot, which replaces the log and the
    // applied index. Taking it only between Readies keeps the order simple:
    // this Ready's entries are applied first, then the snapshot replaces them.
    if (m.type === MessageType.Snap && this.readyOutstanding) {
      this.deferred.push(m);
      return;
    }
    try {
      this.raw.step(m);
    } catch (err) {
      // The core throws only on broken invariants (e.g. a conflict below the commit index).
      this.fail(err);
      return;
    }
    this.kick();
  };

  private kick(): void {
    if (this.kickQueued || this.looping || this.stopping) return;
    this.kickQueued = true;
    // A microtask: runs once the current batch of deliveries or proposals has
    // been taken in, without waiting for another turn of the event loop.
    queueMicrotask(this.startLoop);
  }

  private readonly startLoop = (): void => {
    this.kickQueued = false;
    if (this.looping || this.stopping) return;
    this.loopDone = this.runLoop();
  };

  private async runLoop(): Promise<void> {
    this.looping = true;
    try {
      while (!this.stopping) {
        this.stepDeferred();
        this.flushProposals();
        this.flushReads();
        if (!this.raw.hasReady()) break;
        await this.handleReady(this.raw.ready());
        this.checkWaiters();
        if (this.applied - this.snapshotIndex >= this.snapshotEntries && !this.stopping) await this.takeSnapshot();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.looping = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.readyOutstanding = true;
    this.statsData.readies++;
    if (rd.softState) this.onSoftState(rd.softState);
    if (rd.hardState) this.latestHardState = rd.hardState;

    // A commit-only change is not worth an fsync of its own: the commit index
    // can be re-learned from the leader, so it rides along with the next write.
    if (rd.mustSync || rd.entries.length > 0 || rd.snapshot !== undefined) {
      const hardState = this.unsavedHardState();
      const started = performance.now();
      await this.disk.save({ hardState, entries: rd.entries, ...(rd.snapshot ? { snapshot: rd.snapshot } : {}) });
      this.statsData.saveMsTotal += performance.now() - started;
      this.statsData.saves++;
      this.statsData.entriesSaved += rd.entries.length;
      if (hardState) this.savedHardState = hardState;
    }

    if (rd.snapshot) this.restoreSnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.mem.append(rd.entries);
    if (rd.hardState) this.mem.setHardState(rd.hardState);

    // Only now: these messages may promise what the write above made durable (votes, appended entries).
    if (rd.messages.length > 0) {
      this.transport.send(rd.messages);
      this.statsData.messagesSent += rd.messages.length;
    }

    if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
    for (const rs of rd.readStates) this.reads.onReadState(rs, this.applied);
    this.raw.advance();
    this.readyOutstanding = false;
    this.reads.onApplied(this.applied);
  }

  private unsavedHardState(): HardState | undefined {
    const l = this.latestHardState;
    const s = this.savedHardState;
    return l.term !== s.term || l.vote !== s.vote || l.commit !== s.commit ? l : undefined;
  }

  private stepDeferred(): void {
    if (this.deferred.length === 0) return;
    const ms = this.deferred;
    this.deferred = [];
    for (const m of ms) this.raw.step(m);
  }

  private flushProposals(): void {
    const hasNormal = this.proposals.hasQueued();
    const hasConf = this.proposals.hasQueuedConfChange();
    if (!hasNormal && !hasConf) return;
    if (!this.isLeader()) {
      this.proposals.rejectQueued(() => this.notLeader());
      return;
    }
    if (hasNormal) {
      const batch = this.proposals.takeQueued(this.maxBatchEntries);
      if (batch.length > 0) this.proposeBatch(batch);
    }
    // One membership change at a time: the next waits until the previous one is applied.
    const r = this.raw.raft;
    if (hasConf && r.pendingConfIndex <= r.raftLog.applied) {
      const p = this.proposals.takeQueuedConfChange();
      if (p) this.proposeBatch([p]);
    }
  }

  private proposeBatch(batch: PendingProposal[]): void {
    const entries = batch.map((p) => p.entry);
    try {
      this.raw.proposeEntries(entries);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      const refused = new UnavailableError(err.message, { cause: err });
      for (const p of batch) this.proposals.fail(p, refused);
      return;
    }
    // The core stamped index and term on our entry objects.
    for (const p of batch) this.proposals.track(p);
    this.statsData.proposeBatches++;
    this.statsData.proposalsBatched += batch.length;
    if (batch.length > this.statsData.maxProposeBatch) this.statsData.maxProposeBatch = batch.length;
  }

  private flushReads(): void {
    if (!this.reads.hasQueued()) return;
    const ctx = this.reads.issue();
    if (ctx) this.raw.readIndex(ctx);
  }

  private applyEntries(entries: Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      let result: unknown;
      let failure: unknown;
      if (e.type === EntryType.ConfChange) {
        result = this.applyConfChange(e);
      } else if (e.data.byteLength > 0) {
        try {
          result = this.sm.apply(e);
        } catch (err) {
          failure = err;
          // A rejection the proposer caused (stale version, bad input) is routine; anything else is not.
          const routine = err instanceof ShoalError && err.status < 500;
          this.log[routine ? 'debug' : 'warn']({ index: e.index, err }, 'state machine rejected an entry');
        }
      }
      this.applied = e.index;
      if (e.term > this.appliedTerm) {
        // The first entry of a newer leader (terms change rarely, so the scan is rare too).
        this.appliedTerm = e.term;
        this.proposals.dropSuperseded(e.index, e.term);
      }
      const p = this.proposals.take(e.index);
      if (p === undefined) continue;
      if (p.entry.term !== e.term) this.proposals.fail(p, new LeadershipChangedError(e.index));
      else if (failure !== undefined) this.proposals.fail(p, failure);
      else this.proposals.succeed(p, result);
    }
    this.statsData.entriesApplied += entries.length;
    this.emit('applied', this.applied);
  }

  private applyConfChange(e: Entry): ConfState {
    const cc = decodeConfChange(e.data);
    this.confState = this.raw.applyConfChange(cc);
    this.log.info(
      { index: e.index, change: ConfChangeType[cc.type], member: cc.node, voters: this.confState.voters, learners: this.confState.learners },
      'membership changed',
    );
    this.emit('conf-changed', cloneConfState(this.confState));
    if (cc.type === ConfChangeType.RemoveNode && cc.node === this.id) {
      this.log.warn({ index: e.index }, 'this node was removed from the cluster');
      this.emit('removed');
    }
    return cloneConfState(this.confState);
  }

  private restoreSnapshot(snap: Snapshot): void {
    const { index } = snap.metadata;
    this.mem.applySnapshot(snap);
    this.sm.restore(snap.data);
    this.applied = index;
    this.snapshotIndex = index;
    this.confState = cloneConfState(snap.metadata.confState);
    // We jumped over these indexes without seeing what was committed there.
    for (const p of this.proposals.takeUpTo(index)) this.proposals.fail(p, new OutcomeUnknownError(p.entry.index, index));
    this.statsData.snapshotsRestored++;
    this.log.info({ index, term: snap.metadata.term, bytes: snap.data.byteLength }, 'restored state from a snapshot');
    this.emit('snapshot-restored', index);
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.applied;
    // On restart the stored commit must reach the snapshot, or the log would
    // look inconsistent: make sure the lazily saved commit has caught up.
    if (this.savedHardState.commit < index) {
      const hs = this.latestHardState;
      await this.disk.save({ hardState: hs, entries: [] });
      this.savedHardState = hs;
    }
    const snap = this.mem.createSnapshot(index, this.confState, this.sm.snapshot());
    await this.disk.saveSnapshot(snap);
    this.snapshotIndex = index;
    // Keep a margin of entries so a follower slightly behind is fed from the log.
    const compactTo = index - this.compactionMargin;
    if (compactTo > this.mem.firstIndex()) this.mem.compact(compactTo);
    this.statsData.snapshotsSaved++;
    this.log.debug({ index, firstIndex: this.mem.firstIndex() }, 'saved a snapshot and compacted the log');
    this.emit('snapshot-saved', index);
  }

  private onSoftState(ss: SoftState): void {
    const term = this.raw.raft.term;
    if (ss.lead !== this.lead) {
      const previous = this.lead;
      this.lead = ss.lead;
      if (ss.lead === NONE) this.log.info({ term, previous }, 'leader lost');
      else this.log.info({ term, leader: ss.lead, previous: previous === NONE ? null : previous }, 'leader changed');
      this.emit('leader-changed', ss.lead === NONE ? undefined : ss.lead, term);
      if (ss.lead !== NONE) {
        // Reads sent to the old leader (or queued while there was none) would
        // otherwise wait for the retry timer: ask the new leader at once.
        for (const ctx of this.reads.retryDue(0)) this.raw.readIndex(ctx);
        this.kick();
      }
    }
    if (ss.role !== this.role) {
      this.role = ss.role;
      this.emit('role-changed', ss.role);
    }
  }

  // --- helpers ------------------------------------------------------------

  private proposeConfChange(cc: ConfChange, timeoutMs: number | undefined): Promise<ConfState> {
    const refused = this.refuse();
    if (refused) return Promise.reject(refused);
    if (!this.isLeader()) return Promise.reject(this.notLeader());
    const p = this.proposals.enqueue(
      { term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) },
      timeoutMs ?? this.proposalTimeoutMs,
    );
    this.kick();
    return p as Promise<ConfState>;
  }

  /** Resolve once check() holds (checked after every Ready and tick); reject on timeout or when check throws. */
  private waitUntil(check: () => boolean, timeoutMs: number, onTimeout: () => Error): Promise<void> {
    const refused = this.refuse();
    if (refused) return Promise.reject(refused);
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        check: () => {
          if (!check()) return false;
          cancel();
          resolve();
          return true;
        },
        reject: (err) => {
          cancel();
          reject(err);
        },
      };
      const timer = this.clock.setTimeout(() => w.reject(onTimeout()), timeoutMs);
      const cancel = (): void => {
        timer();
        this.waiters.delete(w);
      };
      this.waiters.add(w);
    });
  }

  private checkWaiters(): void {
    for (const w of this.waiters) {
      try {
        w.check();
      } catch (err) {
        w.reject(err);
      }
    }
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(this.id, this.leader(), this.raw.raft.term);
  }

  private refuse(): Error | undefined {
    return this.stopping ? new NodeStoppedError(this.id, this.failure) : undefined;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.failure = e;
    this.log.error({ err: e }, 'raft node failed and is stopping');
    void this.stop({ crash: true });
    this.emit('fatal', e);
  }

  private async shutdown(crash: boolean): Promise<void> {
    this.stopping = true;
    this.cancelTick();
    const stoppedError = (): Error => new NodeStoppedError(this.id, this.failure);
    // Refuse what has not reached the core now rather than after the write in flight.
    this.proposals.rejectQueued(stoppedError);
    if (crash) await this.transport.close();
    await this.loopDone;
    if (!crash && !this.failure) {
      const hs = this.unsavedHardState();
      if (hs) {
        // Saves replaying the entries this node already knows are committed.
        await this.disk.save({ hardState: hs, entries: [] }).catch((err: unknown) => {
          this.log.warn({ err }, 'could not save the final hard state; the commit index will be re-learned');
        });
      }
    }
    this.proposals.rejectAll(stoppedError);
    this.reads.rejectAll(stoppedError);
    for (const w of [...this.waiters]) w.reject(stoppedError());
    if (!crash) await this.transport.close();
    await this.disk.close().catch((err: unknown) => this.log.warn({ err }, 'closing storage failed'));
    this.log.info({ applied: this.applied, crash }, 'raft node stopped');
  }
}
