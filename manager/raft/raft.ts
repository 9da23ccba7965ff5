// The Raft state machine: a pure function of its inputs (ticks, messages,
// proposals) to its outputs (messages, entries to persist, entries to apply).
// No I/O, no timers, no clock. Modelled on etcd-io/raft.
import type { Random } from '../../shared/random.js';
import { decodeConfChange } from './conf-change.js';
import { RaftLog } from './log.js';
import type { LogStorage } from './log-storage.js';
import { ProgressState, ProgressTracker, VoteResult } from './progress.js';
import { ReadOnly } from './read-only.js';
import {
  CompactedError,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  entrySize,
  type Message,
  MessageType,
  msg,
  NONE,
  type NodeId,
  ProposalDroppedError,
  type ReadState,
  type Snapshot,
  StateRole,
} from './types.js';

/**
 * Known Raft bugs that the simulation can switch on to prove that its
 * checkers catch them. Never set outside tests.
 */
export type RaftBug =
  /** Commit by counting replicas of entries from earlier terms (violates Figure 8). */
  | 'commit-old-term'
  /** Answer ReadIndex without confirming leadership with a quorum. */
  | 'read-without-quorum'
  /** Grant a second vote in the same term. */
  | 'double-vote';

export const RAFT_BUGS: readonly RaftBug[] = ['commit-old-term', 'read-without-quorum', 'double-vote'];

export interface RaftLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RaftConfig {
  id: NodeId;
  storage: LogStorage;
  /** Ticks without hearing from a leader before a follower campaigns (randomized up to 2x). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be well below electionTick. */
  heartbeatTick: number;
  random: Random;
  /** The last index the application applied before a restart. */
  applied?: number;
  /** Upper bound of entry bytes per append message. */
  maxSizePerMsg?: number;
  /** Upper bound of entry bytes handed to the application per Ready. */
  maxCommittedSizePerReady?: number;
  /** Proposals are refused once this many bytes are appended but not committed. */
  maxUncommittedEntriesSize?: number;
  /** Appends in flight per follower before the leader waits for acknowledgements. */
  maxInflightMsgs?: number;
  /** Bytes in flight per follower before the leader waits (0 = no byte bound). */
  maxInflightBytes?: number;
  /** Size of a snapshot chunk sent to a lagging follower. */
  snapshotChunkBytes?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  logger?: RaftLogger;
  bugs?: ReadonlySet<RaftBug>;
}

enum CampaignType {
  PreElection = 'PreElection',
  Election = 'Election',
  Transfer = 'Transfer',
}

const silentLogger: RaftLogger = { debug() {}, info() {}, warn() {} };

interface SnapshotReceive {
  index: number;
  term: number;
  total: number;
  received: number;
  parts: Uint8Array[];
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role = StateRole.Follower;
  isLearner = false;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  leadTransferee: NodeId = NONE;
  /** Index of the newest proposed configuration change; a new one waits until it is applied. */
  pendingConfIndex = 0;
  private uncommittedSize = 0;
  private readonly readOnly = new ReadOnly();
  private pendingReadIndexMessages: Message[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private snapReceive: SnapshotReceive | undefined;

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  private readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  private readonly snapshotChunkBytes: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly random: Random;
  private readonly logger: RaftLogger;
  private readonly bugs: ReadonlySet<RaftBug>;

  constructor(c: RaftConfig) {
    if (c.id === NONE) throw new Error('raft: a node needs a non-empty id');
    if (c.heartbeatTick <= 0) throw new Error('raft: heartbeatTick must be greater than 0');
    if (c.electionTick <= c.heartbeatTick) throw new Error('raft: electionTick must be greater than heartbeatTick');
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 64 * 1024 * 1024;
    this.snapshotChunkBytes = c.snapshotChunkBytes ?? 1024 * 1024;
    this.preVote = c.preVote ?? true;
    this.checkQuorum = c.checkQuorum ?? true;
    this.random = c.random;
    this.logger = c.logger ?? silentLogger;
    this.bugs = c.bugs ?? new Set();
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? 16 * 1024 * 1024);
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? 256, c.maxInflightBytes ?? 32 * 1024 * 1024);

    const { hardState, confState } = c.storage.initialState();
    this.applyConfState(confState);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      if (hardState.commit < this.raftLog.committed || hardState.commit > this.raftLog.lastIndex()) {
        throw new Error(
          `raft: stored commit ${hardState.commit} is outside [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]; the data directory is inconsistent`,
        );
      }
      this.raftLog.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  // --- state transitions -------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.setProgress(id, pr.isLearner, last + 1);
      if (id === this.id) fresh.match = last;
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = StateRole.Follower;
  }

  private becomePreCandidate(): void {
    if (this.role === StateRole.Leader) throw new Error('raft: invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote: a lost pre-election leaves no trace.
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = StateRole.PreCandidate;
  }

  private becomeCandidate(): void {
    if (this.role === StateRole.Leader) throw new Error('raft: invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = StateRole.Candidate;
  }

  private becomeLeader(): void {
    if (this.role === StateRole.Follower) throw new Error('raft: invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.role = StateRole.Leader;
    this.trk.progress.get(this.id)?.becomeReplicate();
    // Configuration changes wait until an entry of this term commits (the
    // fix for the single-server membership change bug): the empty entry
    // appended below is that entry, so wait until it is applied.
    const empty: Entry = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    if (!this.appendEntries([empty])) throw new Error('raft: could not append the empty entry of a new term');
    this.pendingConfIndex = this.raftLog.lastIndex();
    this.logger.info({ id: this.id, term: this.term }, 'became leader');
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random.int(this.electionTimeout);
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** May this node become leader? Only voters that are members. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.unstable.snapshot;
  }

  // --- ticks -------------------------------------------------------------

  tick(): void {
    if (this.role === StateRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(msg({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(msg({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === StateRole.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(msg({ type: MessageType.Beat, from: this.id }));
    }
  }

  // --- sending -----------------------------------------------------------

  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const voteLike =
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp;
    if (voteLike) {
      if (m.term === 0) throw new Error(`raft: term should be set when sending ${m.type}`);
    } else if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex && m.type !== MessageType.TransferLeader) {
      // Forwarded requests keep term 0: the leader treats them as local.
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Send an append (or a snapshot) to a follower if flow control allows. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      ents = pr.state === ProgressState.Replicate || pr.state === ProgressState.Probe
        ? this.raftLog.entriesFrom(pr.next, this.maxMsgSize)
        : [];
    } catch (e) {
      if (e instanceof CompactedError) return this.sendSnapshot(to);
      throw e;
    }
    const commit = this.raftLog.committed;
    if (ents.length === 0 && !sendIfEmpty && pr.sentCommit >= Math.min(commit, pr.match)) return false;
    // In Probe we send one entry at most: it is likely to be rejected.
    if (pr.state === ProgressState.Probe && ents.length > 1) ents = ents.slice(0, 1);
    let bytes = 0;
    for (const e of ents) bytes += entrySize(e);
    this.send(msg({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit }));
    pr.sentEntries(ents.length, prevIndex + ents.length, bytes);
    pr.sentCommit = Math.max(pr.sentCommit, commit);
    return true;
  }

  private sendEmptyAppend(to: NodeId): void {
    const pr = this.trk.progress.get(to);
    if (!pr) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.termOrZero(prevIndex);
    if (prevTerm === 0 && prevIndex > 0) {
      // The window's end is compacted away: probing will fall back to a snapshot.
      pr.becomeProbe();
      this.sendAppend(to);
      return;
    }
    this.send(msg({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, commit: this.raftLog.committed }));
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private sendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr) return false;
    // Not worth streaming a snapshot to a peer we have not heard from.
    if (!pr.recentActive) return false;
    const snap = this.raftLog.snapshot();
    if (snap.metadata.index === 0) throw new Error('raft: need a non-empty snapshot to catch up a follower');
    pr.becomeSnapshot(snap);
    this.logger.debug({ id: this.id, to, index: snap.metadata.index }, 'sending snapshot');
    this.sendSnapshotChunk(to);
    return true;
  }

  private sendSnapshotChunk(to: NodeId): void {
    const pr = this.trk.progress.get(to);
    const t = pr?.transfer;
    if (!pr || !t) return;
    const total = t.snapshot.data.byteLength;
    const end = Math.min(total, t.acked + this.snapshotChunkBytes);
    this.send(
      msg({
        type: MessageType.Snap,
        to,
        chunk: { metadata: t.snapshot.metadata, offset: t.acked, total, data: t.snapshot.data.subarray(t.acked, end) },
      }),
    );
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to);
    // Never tell a follower to commit beyond what it is known to have.
    const commit = Math.min(pr?.match ?? 0, this.raftLog.committed);
    const m = msg({ type: MessageType.Heartbeat, to, commit });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  private bcastAppend(): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  // --- log ---------------------------------------------------------------

  private appendEntries(es: Entry[]): boolean {
    let size = 0;
    for (const e of es) size += e.data.byteLength;
    // An empty entry (a new leader's) is always accepted so leadership can settle.
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    this.uncommittedSize += size;
    let li = this.raftLog.lastIndex();
    for (const e of es) {
      e.term = this.term;
      e.index = ++li;
    }
    li = this.raftLog.append(es);
    this.trk.progress.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
    return true;
  }

  /** Called by the RawNode after committed entries were handed to the application. */
  reduceUncommittedSize(ents: Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let size = 0;
    for (const e of ents) size += e.data.byteLength;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - size);
  }

  /** Advance commit to the quorum's match index, counting only entries of this term (Figure 8). */
  private maybeCommit(): boolean {
    const mci = this.trk.committed();
    if (mci <= this.raftLog.committed) return false;
    if (!this.bugs.has('commit-old-term') && this.raftLog.termOrZero(mci) !== this.term) return false;
    this.raftLog.commitTo(mci);
    return true;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  // --- stepping ----------------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // local message or a forwarded request
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        // A node that heard from a live leader within the election timeout
        // ignores votes, so a partitioned node rejoining cannot disrupt it.
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!m.force && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // We bump our term only when we win the pre-election.
      } else {
        const leaderMsg = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, leaderMsg ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (e.g. one partitioned away) learns our term and steps down.
        this.send(msg({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(msg({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term) ||
          (this.bugs.has('double-vote') && m.type === MessageType.Vote && this.role === StateRole.Follower);
        const respType = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send(msg({ type: respType, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(msg({ type: respType, to: m.from, term: this.term, reject: true }));
        }
        return;
      }
    }

    switch (this.role) {
      case StateRole.Leader:
        this.stepLeader(m);
        return;
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        this.stepCandidate(m);
        return;
      case StateRole.Follower:
        this.stepFollower(m);
        return;
    }
  }

  private hup(t: CampaignType): void {
    if (this.role === StateRole.Leader) return;
    if (!this.promotable()) return;
    // A committed but unapplied configuration change might remove us or
    // change the quorum; campaigning before applying it could be unsafe.
    if (this.raftLog.committed > this.raftLog.applied) {
      const pending = this.raftLog.slice(this.raftLog.applied + 1, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER);
      if (pending.some((e) => e.type === EntryType.ConfChange)) {
        this.logger.warn({ id: this.id, term: this.term }, 'cannot campaign: configuration changes are pending');
        return;
      }
    }
    this.campaign(t);
  }

  private campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.trk.isVoter(this.id)) this.trk.recordVote(this.id, true);
    if (this.trk.tallyVotes() === VoteResult.Won) {
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of [...this.trk.voters].sort()) {
      if (id === this.id) continue;
      const m = msg({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm });
      if (t === CampaignType.Transfer) m.force = true;
      this.send(m);
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat(this.readOnly.lastPendingCtx());
        return;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive(this.id)) {
          this.logger.warn({ id: this.id, term: this.term }, 'stepped down: lost contact with a quorum');
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case MessageType.Prop:
        this.leaderPropose(m);
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.leaderTransfer(m.from);
        return;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp:
        pr.recentActive = true;
        this.handleAppendResponse(m);
        return;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Snapshot) {
          // A lost chunk would stall the transfer; resend what is unacknowledged.
          this.sendSnapshotChunk(m.from);
        } else if (pr.state === ProgressState.Replicate && pr.inflights.full()) {
          // Every append in the window may have been lost. An empty append at
          // the window's end gets rejected if so, which drops us back to probing.
          this.sendEmptyAppend(m.from);
        } else if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressState.Probe) {
          this.sendAppend(m.from);
        }
        if (m.context) this.handleReadAck(m.from, m.context);
        return;
      case MessageType.SnapAck:
        pr.recentActive = true;
        this.handleSnapAck(m);
        return;
      case MessageType.Unreachable:
        // An append probably got lost; back off to probing.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat) before sending more.
        pr.probeSent = true;
        return;
    }
  }

  private leaderPropose(m: Message): void {
    if (m.entries.length === 0) throw new Error('raft: stepped an empty proposal');
    if (!this.trk.progress.has(this.id)) {
      throw new ProposalDroppedError('this node was removed from the cluster');
    }
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee}; retry on the new leader`);
    }
    let confChanges = 0;
    for (const e of m.entries) {
      if (e.type !== EntryType.ConfChange) continue;
      // One change at a time, also within a single batch.
      if (this.pendingConfIndex > this.raftLog.applied || ++confChanges > 1) {
        throw new ProposalDroppedError('another membership change is in progress; retry when it has been applied');
      }
      const cc = decodeConfChange(e.data);
      const problem = this.checkConfChange(cc);
      if (problem) throw new ProposalDroppedError(problem);
    }
    const last = this.raftLog.lastIndex();
    if (!this.appendEntries(m.entries)) {
      throw new ProposalDroppedError('too many uncommitted entries; the cluster is overloaded, retry later');
    }
    m.entries.forEach((e, i) => {
      if (e.type === EntryType.ConfChange) this.pendingConfIndex = last + i + 1;
    });
    this.bcastAppend();
  }

  private checkConfChange(cc: ConfChange): string | undefined {
    if (cc.type === ConfChangeType.RemoveNode) {
      if (this.trk.voters.has(cc.node) && this.trk.voters.size === 1) {
        return 'cannot remove the last voter of the cluster';
      }
    }
    if (cc.type === ConfChangeType.AddLearner && this.trk.voters.has(cc.node)) {
      return `${cc.node} is a voter; demoting a voter to a learner is not supported, remove it instead`;
    }
    return undefined;
  }

  private leaderReadIndex(m: Message): void {
    const ctx = m.context;
    if (!ctx) return;
    if (this.trk.voters.size === 1 && this.trk.voters.has(this.id)) {
      this.respondToReadIndex(m, this.raftLog.committed, ctx);
      return;
    }
    // Until an entry of this term commits, our commit index may lag the
    // previous leader's: a read at it could be stale.
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.sendReadIndex(m, ctx);
  }

  private sendReadIndex(m: Message, ctx: Uint8Array): void {
    if (this.bugs.has('read-without-quorum')) {
      this.respondToReadIndex(m, this.raftLog.committed, ctx);
      return;
    }
    this.readOnly.add(this.raftLog.committed, m, ctx);
    this.handleReadAck(this.id, ctx);
    this.bcastHeartbeat(ctx);
  }

  private handleReadAck(from: NodeId, ctx: Uint8Array): void {
    const acks = this.readOnly.recvAck(from, ctx);
    if (!acks) return;
    let voters = 0;
    for (const id of acks) if (this.trk.voters.has(id)) voters++;
    if (voters < this.trk.quorum()) return;
    for (const rs of this.readOnly.advance(ctx)) {
      const rctx = rs.request.context;
      if (rctx) this.respondToReadIndex(rs.request, rs.index, rctx);
    }
  }

  private respondToReadIndex(req: Message, index: number, ctx: Uint8Array): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: ctx });
    } else {
      this.send(msg({ type: MessageType.ReadIndexResp, to: req.from, index, context: ctx }));
    }
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) if (m.context) this.sendReadIndex(m, m.context);
  }

  private leaderTransfer(transferee: NodeId): void {
    const pr = this.trk.progress.get(transferee);
    if (!pr || pr.isLearner) {
      this.logger.warn({ id: this.id, transferee }, 'ignored leadership transfer to a non-voter');
      return;
    }
    if (this.leadTransferee === transferee) return;
    if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.raftLog.lastIndex()) {
      this.send(msg({ type: MessageType.TimeoutNow, to: transferee }));
    } else {
      this.sendAppend(transferee);
    }
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private handleAppendResponse(m: Message): void {
    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    if (m.reject) {
      let nextProbeIdx = m.rejectHint;
      if (m.logTerm > 0) {
        // Skip every entry of our log whose term is above the follower's term at its hint.
        nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      }
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === ProgressState.Probe)) return;
    switch (pr.state) {
      case ProgressState.Probe:
        pr.becomeReplicate();
        break;
      case ProgressState.Snapshot:
        if (pr.match + 1 >= this.raftLog.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.match >= pr.pendingSnapshot) {
          // The follower already has what this snapshot holds, but our log was
          // compacted further meanwhile: probe, which offers a newer snapshot.
          pr.becomeProbe();
        }
        break;
      case ProgressState.Replicate:
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else if (oldPaused) {
      this.sendAppend(m.from);
    }
    // Keep the pipeline full while the window allows.
    while (this.maybeSendAppend(m.from, false)) {
      // each call sends one message
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.send(msg({ type: MessageType.TimeoutNow, to: m.from }));
    }
  }

  private handleSnapAck(m: Message): void {
    const pr = this.trk.progress.get(m.from);
    const t = pr?.transfer;
    if (!pr || !t || pr.state !== ProgressState.Snapshot || t.snapshot.metadata.index !== m.index) return;
    if (m.reject) {
      pr.becomeProbe();
      return;
    }
    const received = m.received ?? 0;
    // Trust the follower's count even when it is lower: it may have restarted
    // and lost the partial snapshot, and would refuse every later chunk.
    if (received !== t.acked) t.acked = Math.min(received, t.snapshot.data.byteLength);
    // The follower answers with an AppResp once the whole snapshot is installed.
    if (t.acked < t.snapshot.data.byteLength) this.sendSnapshotChunk(m.from);
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw new ProposalDroppedError(`no leader at term ${this.term}; an election is in progress, retry shortly`);
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        this.trk.recordVote(m.from, !m.reject);
        const res = this.trk.tallyVotes();
        if (res === VoteResult.Won) {
          if (this.role === StateRole.PreCandidate) {
            this.campaign(CampaignType.Election);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        throw new ProposalDroppedError(
          this.lead === NONE ? `no leader at term ${this.term}; retry shortly` : `not the leader; the leader is ${this.lead}`,
        );
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
      case MessageType.ReadIndex:
        if (this.lead === NONE) return; // the client retries
        m.to = this.lead;
        this.send(m);
        return;
      case MessageType.TimeoutNow:
        // The leader asked us to take over: campaign now, skipping PreVote.
        this.hup(CampaignType.Transfer);
        return;
      case MessageType.ReadIndexResp:
        if (m.context) this.readStates.push({ index: m.index, requestCtx: m.context });
        return;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Tell the leader the largest index <= the probe whose term is <= the
    // probe's term, so it can skip a whole mismatching term at once.
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send(
      msg({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(Math.min(m.commit, this.raftLog.lastIndex()));
    const resp = msg({ type: MessageType.HeartbeatResp, to: m.from });
    if (m.context) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const c = m.chunk;
    if (!c) return;
    const { index, term } = c.metadata;
    if (c.offset === 0) {
      if (index <= this.raftLog.committed) {
        // We already have everything in it: say how far we are and decline it.
        this.snapReceive = undefined;
        this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
        this.send(msg({ type: MessageType.SnapAck, to: m.from, index, reject: true }));
        return;
      }
      this.snapReceive = { index, term, total: c.total, received: 0, parts: [] };
    }
    const r = this.snapReceive;
    if (!r || r.index !== index || r.term !== term || c.offset !== r.received) {
      // Out of order or a duplicate: tell the leader where we are.
      const received = r && r.index === index && r.term === term ? r.received : 0;
      this.send(msg({ type: MessageType.SnapAck, to: m.from, index, received }));
      return;
    }
    r.parts.push(c.data.slice());
    r.received += c.data.byteLength;
    if (r.received < r.total) {
      this.send(msg({ type: MessageType.SnapAck, to: m.from, index, received: r.received }));
      return;
    }
    this.snapReceive = undefined;
    const snap: Snapshot = { metadata: c.metadata, data: Buffer.concat(r.parts) };
    if (this.restore(snap)) {
      this.logger.info({ id: this.id, index, term }, 'installed snapshot');
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Install a snapshot from the leader; false when it brings nothing new. */
  private restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.role !== StateRole.Follower) {
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // Our log already has the snapshot's last entry: just fast-forward commit.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk.progress.clear();
    this.trk.voters.clear();
    this.trk.learners.clear();
    this.applyConfState(s.metadata.confState);
    return true;
  }

  // --- membership --------------------------------------------------------

  private applyConfState(cs: ConfState): void {
    const next = this.raftLog.lastIndex() + 1;
    for (const id of cs.voters) {
      this.trk.voters.add(id);
      this.trk.setProgress(id, false, next);
    }
    for (const id of cs.learners) {
      this.trk.learners.add(id);
      this.trk.setProgress(id, true, next);
    }
    const self = this.trk.progress.get(this.id);
    if (self) self.match = next - 1;
    this.isLearner = self?.isLearner ?? false;
  }

  /** Apply a committed configuration change; returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    const last = this.raftLog.lastIndex();
    const ensure = (id: NodeId, learner: boolean): void => {
      const pr = this.trk.progress.get(id);
      if (pr) {
        pr.isLearner = learner;
        return;
      }
      const fresh = this.trk.setProgress(id, learner, last + 1);
      // A new peer counts as active so CheckQuorum does not depose us at once.
      fresh.recentActive = true;
      if (id === this.id) fresh.match = last;
    };
    switch (cc.type) {
      case ConfChangeType.AddVoter:
        this.trk.learners.delete(cc.node);
        this.trk.voters.add(cc.node);
        ensure(cc.node, false);
        break;
      case ConfChangeType.AddLearner:
        if (this.trk.voters.has(cc.node)) break; // demotion is refused at proposal time
        this.trk.learners.add(cc.node);
        ensure(cc.node, true);
        break;
      case ConfChangeType.RemoveNode:
        this.trk.voters.delete(cc.node);
        this.trk.learners.delete(cc.node);
        this.trk.progress.delete(cc.node);
        break;
    }
    this.switchToConfig();
    return this.trk.confState();
  }

  private switchToConfig(): void {
    const self = this.trk.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    if (this.role !== StateRole.Leader) return;
    if (!self || this.isLearner) {
      // We were removed: hand over to the most caught-up voter so the
      // cluster does not wait an election timeout, then step down.
      let best: NodeId = NONE;
      let bestMatch = -1;
      for (const id of [...this.trk.voters].sort()) {
        const pr = this.trk.progress.get(id);
        if (pr && pr.match > bestMatch) {
          best = id;
          bestMatch = pr.match;
        }
      }
      if (best !== NONE && bestMatch === this.raftLog.lastIndex()) {
        this.send(msg({ type: MessageType.TimeoutNow, to: best }));
      }
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !this.trk.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    // The quorum may have shrunk: entries may be committed now.
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else {
      for (const id of this.trk.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
  }
}
