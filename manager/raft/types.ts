// Data types of the Raft core. They are plain objects so that the wire codec
// (msgpackr), the WAL and the simulation can all carry them without adapters.

/** A member's identity. The daemon uses its swarm node ID; tests use short names. */
export type NodeId = string;

/** "No node": used for an empty vote and an unknown leader. */
export const NONE: NodeId = '';

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

/** One membership change; proposed as an EntryType.ConfChange entry (see encodeConfChange). */
export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
  /** Opaque to Raft: the application records e.g. the node's address here. */
  context?: Uint8Array;
}

export enum MessageType {
  // Local messages: never sent over the network.
  Hup = 'Hup',
  Beat = 'Beat',
  Prop = 'Prop',
  CheckQuorum = 'CheckQuorum',
  Unreachable = 'Unreachable',
  SnapStatus = 'SnapStatus',
  // Network messages.
  App = 'App',
  AppResp = 'AppResp',
  Vote = 'Vote',
  VoteResp = 'VoteResp',
  PreVote = 'PreVote',
  PreVoteResp = 'PreVoteResp',
  Snap = 'Snap',
  SnapAck = 'SnapAck',
  Heartbeat = 'Heartbeat',
  HeartbeatResp = 'HeartbeatResp',
  TransferLeader = 'TransferLeader',
  TimeoutNow = 'TimeoutNow',
  ReadIndex = 'ReadIndex',
  ReadIndexResp = 'ReadIndexResp',
}

/** A bounded piece of a snapshot in flight to a lagging follower. */
export interface SnapshotChunk {
  metadata: SnapshotMetadata;
  /** Byte offset of `data` within the whole snapshot. */
  offset: number;
  /** Total size of the snapshot's data. */
  total: number;
  data: Uint8Array;
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: index of the entry before `entries`; AppResp: highest index matched (or rejected index). */
  index: number;
  /** App: term of the entry at `index`; Vote/PreVote: term of the candidate's last entry. */
  logTerm: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppResp on reject: the follower's hint of where its log might match. */
  rejectHint: number;
  /** Snap: one chunk of the snapshot. */
  chunk?: SnapshotChunk;
  /** SnapAck: bytes of the snapshot the follower holds so far. */
  received?: number;
  /** Vote/PreVote: set when a leadership transfer asked for this election. */
  force?: boolean;
  /** Heartbeat/HeartbeatResp/ReadIndex/ReadIndexResp: the read request this answers. */
  context?: Uint8Array;
}

/** A linearizable read that may be served once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export enum StateRole {
  Follower = 'Follower',
  PreCandidate = 'PreCandidate',
  Candidate = 'Candidate',
  Leader = 'Leader',
}

export interface SoftState {
  lead: NodeId;
  role: StateRole;
}

/**
 * Everything the application must do, in order: persist `hardState`,
 * `entries` and `snapshot` durably (one fsync), then send `messages`, then
 * apply `committedEntries`, serve `readStates`, and call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** True when `hardState` or `entries` changed, i.e. an fsync is needed. */
  mustSync: boolean;
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** Bytes an entry costs for flow control and batching. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}

/** A message with every field defaulted; callers set what matters. */
export function msg(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    index: 0,
    logTerm: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.Prop ||
    t === MessageType.CheckQuorum ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.PreVoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.SnapAck ||
    t === MessageType.ReadIndexResp ||
    t === MessageType.Unreachable
  );
}

/** Errors the log and storage raise; the core relies on their class, not their text. */
export class CompactedError extends Error {
  constructor(index: number, first: number) {
    super(`raft: index ${index} is compacted (first available index is ${first})`);
    this.name = 'CompactedError';
  }
}

export class UnavailableError extends Error {
  constructor(index: number, last: number) {
    super(`raft: index ${index} is not yet available (last index is ${last})`);
    this.name = 'UnavailableError';
  }
}

export class SnapshotOutOfDateError extends Error {
  constructor(index: number, current: number) {
    super(`raft: snapshot at ${index} is older than the current snapshot at ${current}`);
    this.name = 'SnapshotOutOfDateError';
  }
}

export class ProposalDroppedError extends Error {
  constructor(reason: string) {
    super(`raft: proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}
