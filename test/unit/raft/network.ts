// A synchronous in-memory cluster for unit tests of the Raft core: every
// Ready is persisted to MemoryStorage at once and its messages delivered in
// FIFO order, unless a test drops or isolates them.
import { decodeConfChange } from '../../../manager/raft/conf-change.js';
import { MemoryStorage } from '../../../manager/raft/log-storage.js';
import type { RaftBug } from '../../../manager/raft/raft.js';
import { RawNode } from '../../../manager/raft/raw-node.js';
import { type Entry, EntryType, type Message, MessageType, type NodeId, type ReadState, type Snapshot, StateRole } from '../../../manager/raft/types.js';
import { SeededRandom } from '../../../shared/random.js';

export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  /** Application state: the data of applied normal entries, joined. */
  snapshotsApplied: Snapshot[];
}

export interface NetworkOptions {
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  snapshotChunkBytes?: number;
  seed?: number;
  bugs?: RaftBug[];
  /** Members not in `voters` start empty and must be added by a conf change. */
  learners?: NodeId[];
  maxUncommittedEntriesSize?: number;
  maxInflightBytes?: number;
  maxCommittedSizePerReady?: number;
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private queue: Message[] = [];
  /** Pairs "from->to" whose messages are dropped. */
  private readonly cut = new Set<string>();
  /** Message types dropped everywhere. */
  readonly dropTypes = new Set<MessageType>();
  readonly delivered: Message[] = [];
  /** Every message taken from a Ready, in order, whether delivered, dropped or held. */
  readonly sent: Message[] = [];
  /** Messages for which this returns true are dropped (besides cut links and dropTypes). */
  dropIf: ((m: Message) => boolean) | undefined;
  /** Messages for which this returns true are held back until release(). */
  holdIf: ((m: Message) => boolean) | undefined;
  /** Messages held back by holdIf, in the order they were sent. */
  readonly held: Message[] = [];
  private readonly random: SeededRandom;

  constructor(
    voters: NodeId[],
    private readonly opts: NetworkOptions = {},
  ) {
    this.random = new SeededRandom(opts.seed ?? 1);
    for (const id of voters) this.addNode(id, this.bootstrapStorage(voters, opts.learners ?? []));
    for (const id of opts.learners ?? []) this.addNode(id, this.bootstrapStorage(voters, opts.learners ?? []));
  }

  private bootstrapStorage(voters: NodeId[], learners: NodeId[]): MemoryStorage {
    const s = new MemoryStorage();
    // Every founding member starts from the same snapshot at index 1 holding the membership.
    s.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters, learners } }, data: new Uint8Array(0) });
    s.setHardState({ term: 1, vote: '', commit: 1 });
    return s;
  }

  /** A new, empty node that will learn everything from the leader (it must be added by a conf change). */
  addEmptyNode(id: NodeId): TestNode {
    return this.addNode(id, new MemoryStorage());
  }

  private addNode(id: NodeId, storage: MemoryStorage): TestNode {
    const node = new RawNode({
      id,
      storage,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      random: this.random,
      preVote: this.opts.preVote ?? true,
      checkQuorum: this.opts.checkQuorum ?? true,
      maxSizePerMsg: this.opts.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: this.opts.maxInflightMsgs ?? 256,
      snapshotChunkBytes: this.opts.snapshotChunkBytes ?? 1024 * 1024,
      bugs: new Set(this.opts.bugs ?? []),
      ...(this.opts.maxUncommittedEntriesSize !== undefined ? { maxUncommittedEntriesSize: this.opts.maxUncommittedEntriesSize } : {}),
      ...(this.opts.maxInflightBytes !== undefined ? { maxInflightBytes: this.opts.maxInflightBytes } : {}),
      ...(this.opts.maxCommittedSizePerReady !== undefined ? { maxCommittedSizePerReady: this.opts.maxCommittedSizePerReady } : {}),
    });
    const tn: TestNode = { id, node, storage, applied: [], readStates: [], snapshotsApplied: [] };
    this.nodes.set(id, tn);
    return tn;
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Process every node's Ready (persist, apply) and queue their messages. */
  private drainReady(): void {
    for (const tn of this.nodes.values()) {
      while (tn.node.hasReady()) {
        const rd = tn.node.ready();
        if (rd.snapshot) {
          tn.storage.applySnapshot(rd.snapshot);
          tn.snapshotsApplied.push(rd.snapshot);
        }
        tn.storage.append(rd.entries);
        if (rd.hardState) tn.storage.setHardState(rd.hardState);
        this.queue.push(...rd.messages);
        this.sent.push(...rd.messages);
        for (const e of rd.committedEntries) {
          tn.applied.push(e);
          if (e.type === EntryType.ConfChange) tn.node.applyConfChange(decodeConfChange(e.data));
        }
        tn.readStates.push(...rd.readStates);
        tn.node.advance();
      }
    }
  }

  /** Deliver messages until the network is quiet. */
  settle(maxMessages = 100_000): void {
    this.drainReady();
    let n = 0;
    while (this.queue.length > 0) {
      if (++n > maxMessages) throw new Error('network did not settle');
      const m = this.queue.shift()!;
      if (this.cut.has(`${m.from}->${m.to}`) || this.dropTypes.has(m.type)) continue;
      if (this.dropIf?.(m)) continue;
      if (this.holdIf?.(m)) {
        this.held.push(m);
        continue;
      }
      const to = this.nodes.get(m.to);
      if (!to) continue;
      this.delivered.push(m);
      to.node.step(m);
      this.drainReady();
    }
  }

  /** Tick every node (or the given ones) and settle after each tick. */
  tick(times = 1, ids?: NodeId[]): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids ?? [...this.nodes.keys()]) this.get(id).node.tick();
      this.settle();
    }
  }

  campaign(id: NodeId): void {
    this.get(id).node.campaign();
    this.settle();
  }

  propose(id: NodeId, data: string): void {
    this.get(id).node.propose(Buffer.from(data));
    this.settle();
  }

  /** Put held messages (those matching pred, or all) back on the wire, then settle. */
  release(pred: (m: Message) => boolean = () => true): void {
    const keep: Message[] = [];
    for (const m of this.held) (pred(m) ? this.queue : keep).push(m);
    this.held.length = 0;
    this.held.push(...keep);
    this.settle();
  }

  /**
   * Restart a node: a new RawNode over the same storage, as after a crash.
   * The application state (applied entries) starts over from the storage.
   */
  restart(id: NodeId): TestNode {
    const old = this.get(id);
    return this.addNode(id, old.storage);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  /** Undo isolate(id) and cutLink for links touching id; other cuts stay. */
  reconnect(id: NodeId): void {
    for (const k of [...this.cut]) {
      const [from, to] = k.split('->');
      if (from === id || to === id) this.cut.delete(k);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  heal(): void {
    this.cut.clear();
    this.dropTypes.clear();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.node.raft.role === StateRole.Leader).map((n) => n.id);
  }

  leader(): TestNode {
    const ls = this.leaders();
    if (ls.length !== 1) throw new Error(`expected one leader, found ${ls.length}: ${ls.join(',')}`);
    return this.get(ls[0]!);
  }

  /** Tick until some node is leader, at most `max` ticks. */
  electLeader(max = 200): TestNode {
    for (let i = 0; i < max; i++) {
      const ls = this.leaders();
      if (ls.length === 1) return this.get(ls[0]!);
      this.tick();
    }
    throw new Error('no leader elected');
  }

  /** The data of normal, non-empty entries a node has applied. */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => Buffer.from(e.data).toString());
  }
}
