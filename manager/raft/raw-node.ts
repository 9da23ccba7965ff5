// The application's handle on the Raft state machine: feed it ticks,
// messages and proposals; take Ready batches of work; acknowledge them.
import { encodeConfChange } from './conf-change.js';
import { ProgressState } from './progress.js';
import { Raft, type RaftConfig } from './raft.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  isLocalMessage,
  isResponseMessage,
  type Message,
  MessageType,
  msg,
  type NodeId,
  type Ready,
  type SoftState,
  StateRole,
} from './types.js';

export interface PeerStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  lead: NodeId;
  role: StateRole;
  leadTransferee: NodeId;
  confState: ConfState;
  /** Leader only: each peer's replication progress. */
  progress: Map<NodeId, PeerStatus>;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** A Ready handed out and not yet acknowledged with advance(). */
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Start an election now (tests, bootstrap of a single node). */
  campaign(): void {
    this.raft.step(msg({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** Propose data to be appended; throws ProposalDroppedError when this node cannot take it. */
  propose(data: Uint8Array): void {
    this.proposeEntries([{ term: 0, index: 0, type: EntryType.Normal, data }]);
  }

  /** Propose many entries at once: one append, one replication round. */
  proposeEntries(entries: Entry[]): void {
    this.raft.step(msg({ type: MessageType.Prop, from: this.raft.id, entries }));
  }

  proposeConfChange(cc: ConfChange): void {
    this.proposeEntries([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
  }

  /** Apply a committed ConfChange entry; the application calls this when it applies one. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Step a message received from a peer. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new Error(`raft: ${m.type} is a local message and cannot come from the network`);
    // Responses from peers we no longer know are noise.
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) return;
    this.raft.step(m);
  }

  /** Ask for a linearizable read: a ReadState with ctx arrives in a later Ready. */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(msg({ type: MessageType.ReadIndex, from: this.raft.id, context: ctx }));
  }

  transferLeadership(to: NodeId): void {
    this.raft.step(msg({ type: MessageType.TransferLeader, from: to }));
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(msg({ type: MessageType.Unreachable, from: id }));
  }

  reportSnapshot(id: NodeId, failed: boolean): void {
    this.raft.step(msg({ type: MessageType.SnapStatus, from: id, reject: failed }));
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, role: this.raft.role };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.raftLog.committed };
  }

  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    if (softStateChanged(this.softState(), this.prevSoftState)) return true;
    if (hardStateChanged(this.hardState(), this.prevHardState)) return true;
    return (
      r.raftLog.unstable.snapshot !== undefined ||
      r.raftLog.unstableEntries().length > 0 ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.raftLog.hasNextCommittedEntries()
    );
  }

  /**
   * The next batch of work. Persist hardState, entries and snapshot (one
   * fsync when mustSync), then send messages, then apply committedEntries,
   * then call advance(). Only one Ready may be outstanding.
   */
  ready(): Ready {
    if (this.outstanding) throw new Error('raft: ready() called again before advance()');
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.unstableEntries().slice(),
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    r.msgs = [];
    r.readStates = [];
    const ss = this.softState();
    if (softStateChanged(ss, this.prevSoftState)) rd.softState = ss;
    const hs = this.hardState();
    const prev = this.prevHardState;
    if (hardStateChanged(hs, prev)) rd.hardState = hs;
    if (r.raftLog.unstable.snapshot) rd.snapshot = r.raftLog.unstable.snapshot;
    rd.mustSync = rd.entries.length > 0 || rd.snapshot !== undefined || (rd.hardState !== undefined && (hs.term !== prev.term || hs.vote !== prev.vote));
    const last = rd.committedEntries[rd.committedEntries.length - 1];
    if (last) r.raftLog.acceptApplying(last.index);
    this.outstanding = rd;
    return rd;
  }

  /** The application has done everything the last Ready asked. */
  advance(): void {
    const rd = this.outstanding;
    if (!rd) throw new Error('raft: advance() called without an outstanding ready()');
    const r = this.raft;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.hardState) this.prevHardState = rd.hardState;
    const lastEnt = rd.entries[rd.entries.length - 1];
    if (lastEnt) r.raftLog.stableTo(lastEnt.index, lastEnt.term);
    if (rd.snapshot) r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    // A snapshot installed while this Ready was being handled already moved
    // applied past these entries.
    if (lastCommitted && lastCommitted.index > r.raftLog.applied) {
      r.raftLog.appliedTo(lastCommitted.index);
      if (r.role === StateRole.Leader) r.reduceUncommittedSize(rd.committedEntries);
    }
    this.outstanding = undefined;
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<NodeId, PeerStatus>();
    if (r.role === StateRole.Leader) {
      for (const [id, pr] of r.trk.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      confState: r.trk.confState(),
      progress,
    };
  }
}

function softStateChanged(a: SoftState, b: SoftState): boolean {
  return a.lead !== b.lead || a.role !== b.role;
}

function hardStateChanged(a: HardState, b: HardState): boolean {
  return a.term !== b.term || a.vote !== b.vote || a.commit !== b.commit;
}
