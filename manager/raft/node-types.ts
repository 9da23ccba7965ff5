// The RaftNode's public shapes: what an application implements and configures.
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Random } from '../../shared/random.js';
import type { RaftConfig } from './raft.js';
import type { RaftStatus } from './raw-node.js';
import type { DiskStorageOptions } from './storage/disk-storage.js';
import type { Transport } from './transport.js';
import type { ConfState, Entry, NodeId, StateRole } from './types.js';

/** The replicated application. Every replica applies the same entries in the same order. */
export interface StateMachine {
  /**
   * Apply one committed entry; the result goes to the proposer. A throw is
   * passed to the proposer as the rejection, so apply must then leave the
   * state unchanged, the same way on every replica.
   */
  apply(entry: Entry): unknown;
  /** The whole state, for a snapshot. */
  snapshot(): Uint8Array;
  /** Replace the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
}

export interface RaftNodeOptions {
  id: NodeId;
  dataDir: string;
  transport: Transport;
  stateMachine: StateMachine;
  /**
   * Initial voters of a brand-new cluster; every founding member passes the
   * same list. Ignored when dataDir already holds state. Without it (and
   * without state) the node starts empty and waits to be added.
   */
  bootstrap?: NodeId[];
  /** Milliseconds per Raft tick (default 100). */
  tickMs?: number;
  /** Ticks without a leader before campaigning (default 10). */
  electionTick?: number;
  /** Ticks between heartbeats (default 1). */
  heartbeatTick?: number;
  /** Snapshot and compact every this many applied entries (default 10000). */
  snapshotEntries?: number;
  /**
   * Entries kept behind a snapshot so that a briefly lagging follower catches
   * up from the log instead of a full snapshot (default min(5000, snapshotEntries)).
   */
  compactionMargin?: number;
  /** Proposals handed to the core in one call at most (default 4096). */
  maxBatchEntries?: number;
  /** Proposals queued or uncommitted at most before propose() refuses (default 10000). */
  maxPendingProposals?: number;
  /** Reads waiting at most before read() refuses (default 10000). */
  maxPendingReads?: number;
  /** Default proposal timeout (default 10000 ms; checked on ticks, so up to tickMs late). */
  proposalTimeoutMs?: number;
  /** Default read timeout (default 5000 ms). */
  readTimeoutMs?: number;
  storage?: Omit<DiskStorageOptions, 'onWarning'>;
  /** Tuning passed to the core. */
  raft?: Partial<
    Pick<
      RaftConfig,
      | 'maxSizePerMsg'
      | 'maxCommittedSizePerReady'
      | 'maxUncommittedEntriesSize'
      | 'maxInflightMsgs'
      | 'maxInflightBytes'
      | 'snapshotChunkBytes'
      | 'preVote'
      | 'checkQuorum'
    >
  >;
  logger?: Logger;
  clock?: Clock;
  random?: Random;
}

export interface RaftNodeEvents {
  /** The known leader changed (undefined: none known, an election is on). */
  'leader-changed': [leader: NodeId | undefined, term: number];
  'role-changed': [role: StateRole];
  /** Once per batch of applied entries, with the highest applied index. */
  applied: [index: number];
  'conf-changed': [confState: ConfState];
  /** This node took a snapshot of its state machine and compacted its log. */
  'snapshot-saved': [index: number];
  /** This node replaced its state with a snapshot from the leader. */
  'snapshot-restored': [index: number];
  /** A committed membership change removed this node; stop it. */
  removed: [];
  /** Storage or an invariant failed; the node has stopped itself. */
  fatal: [err: Error];
}

export interface RaftNodeStats {
  readies: number;
  /** Durable writes (each one fsync). */
  saves: number;
  entriesSaved: number;
  saveMsTotal: number;
  /** proposeEntries calls and the proposals they carried. */
  proposeBatches: number;
  proposalsBatched: number;
  maxProposeBatch: number;
  messagesSent: number;
  entriesApplied: number;
  snapshotsSaved: number;
  snapshotsRestored: number;
}

export interface RaftNodeStatus extends RaftStatus {
  snapshotIndex: number;
  pendingProposals: number;
  pendingReads: number;
}
