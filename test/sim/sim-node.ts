// One simulated manager: the real Raft core over a simulated disk and a
// key-value state machine. The disk keeps only what a completed write made
// durable; a crash in the middle of a write keeps a prefix of it (a torn tail).
import { decodeConfChange } from '../../manager/raft/conf-change.js';
import { cloneConfState, MemoryStorage } from '../../manager/raft/log-storage.js';
import type { RaftBug } from '../../manager/raft/raft.js';
import { RawNode } from '../../manager/raft/raw-node.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  type Ready,
  type Snapshot,
} from '../../manager/raft/types.js';
import type { Random } from '../../shared/random.js';

/** What survives a crash. */
export interface DiskImage {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  /** Entries after the snapshot's index, in order. */
  entries: Entry[];
}

export interface KvCommand {
  op: number;
  key: string;
  value: string;
}

export function encodeCommand(c: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify(c));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(Buffer.from(data).toString()) as KvCommand;
}

export interface NodeParams {
  electionTick: number;
  heartbeatTick: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  snapshotChunkBytes: number;
  bugs: ReadonlySet<RaftBug>;
}

/** Called as the node applies entries, persists them and changes role. */
export interface NodeObserver {
  onPersist(node: SimNode, entries: Entry[]): void;
  onApply(node: SimNode, entry: Entry): void;
  onSnapshotInstalled(node: SimNode, snap: Snapshot): void;
}

export class SimNode {
  alive = true;
  raw!: RawNode;
  mem!: MemoryStorage;
  kv = new Map<string, string>();
  appliedIndex = 0;
  /** The Ready being written to disk, if a write is in flight. */
  inflight: Ready | undefined;
  /** Bumped on every restart so stale disk completions are ignored. */
  incarnation = 0;

  constructor(
    readonly id: NodeId,
    public disk: DiskImage,
    private readonly params: NodeParams,
    private readonly random: Random,
    private readonly observer: NodeObserver,
  ) {
    this.boot();
  }

  /** (Re)start from the disk image, as a restarted process would. */
  boot(): void {
    this.incarnation++;
    this.alive = true;
    this.inflight = undefined;
    this.mem = new MemoryStorage();
    this.kv = new Map();
    this.appliedIndex = 0;
    if (this.disk.snapshot) {
      this.mem.applySnapshot(this.disk.snapshot);
      this.restoreKv(this.disk.snapshot);
    }
    this.mem.setHardState(this.disk.hardState);
    this.mem.append(this.disk.entries.slice());
    this.raw = new RawNode({
      id: this.id,
      storage: this.mem,
      electionTick: this.params.electionTick,
      heartbeatTick: this.params.heartbeatTick,
      random: this.random,
      maxSizePerMsg: this.params.maxSizePerMsg,
      maxInflightMsgs: this.params.maxInflightMsgs,
      snapshotChunkBytes: this.params.snapshotChunkBytes,
      preVote: true,
      checkQuorum: true,
      bugs: this.params.bugs,
    });
  }

  private restoreKv(snap: Snapshot): void {
    this.kv = new Map(JSON.parse(Buffer.from(snap.data).toString() || '[]') as [string, string][]);
    this.appliedIndex = snap.metadata.index;
  }

  crash(): void {
    this.alive = false;
    this.inflight = undefined;
  }

  /**
   * A crash during the in-flight write: the WAL holds the snapshot (written
   * first, atomically) and then a prefix of the entry records; the hard state
   * record comes last and survives only if everything before it did.
   */
  tornWrite(): void {
    const rd = this.inflight;
    if (!rd) return;
    const keepSnapshot = this.random.chance(0.5);
    if (rd.snapshot && keepSnapshot) this.persistSnapshot(rd.snapshot);
    if (!rd.snapshot || keepSnapshot) {
      const k = this.random.int(rd.entries.length + 1);
      this.persistEntries(rd.entries.slice(0, k));
      if (k === rd.entries.length && rd.hardState && this.random.chance(0.5)) this.disk.hardState = { ...rd.hardState };
    }
  }

  /** Take the next Ready if there is one and no write is in flight. */
  takeReady(): Ready | undefined {
    if (!this.alive || this.inflight || !this.raw.hasReady()) return undefined;
    this.inflight = this.raw.ready();
    return this.inflight;
  }

  private persistSnapshot(snap: Snapshot): void {
    this.disk.snapshot = snap;
    this.disk.entries = this.disk.entries.filter((e) => e.index > snap.metadata.index);
  }

  private persistEntries(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    this.disk.entries = this.disk.entries.filter((e) => e.index < first).concat(entries);
  }

  /** The write of the in-flight Ready completed: it is durable. Returns it for sending and applying. */
  completeWrite(): Ready {
    const rd = this.inflight;
    if (!rd) throw new Error(`sim: ${this.id} has no write in flight`);
    if (rd.snapshot) {
      this.persistSnapshot(rd.snapshot);
      this.mem.applySnapshot(rd.snapshot);
      this.restoreKv(rd.snapshot);
      this.observer.onSnapshotInstalled(this, rd.snapshot);
    }
    this.persistEntries(rd.entries);
    this.mem.append(rd.entries);
    if (rd.hardState) {
      this.disk.hardState = { ...rd.hardState };
      this.mem.setHardState(rd.hardState);
    }
    this.observer.onPersist(this, rd.entries);
    return rd;
  }

  /** Apply the committed entries of the completed Ready and acknowledge it. */
  applyAndAdvance(rd: Ready): void {
    for (const e of rd.committedEntries) {
      if (e.index <= this.appliedIndex) continue;
      if (e.type === EntryType.ConfChange) {
        this.raw.applyConfChange(decodeConfChange(e.data));
      } else if (e.data.byteLength > 0) {
        const c = decodeCommand(e.data);
        this.kv.set(c.key, c.value);
      }
      this.appliedIndex = e.index;
      this.observer.onApply(this, e);
    }
    this.inflight = undefined;
    this.raw.advance();
  }

  /** The application snapshots its state at the applied index and compacts the log. */
  compact(keep: number): boolean {
    if (this.inflight) return false;
    const snapIndex = this.appliedIndex;
    if (snapIndex <= this.mem.snapshot().metadata.index) return false;
    const cs: ConfState = cloneConfState(this.raw.raft.trk.confState());
    const data = Buffer.from(JSON.stringify([...this.kv.entries()]));
    const snap = this.mem.createSnapshot(snapIndex, cs, data);
    const compactTo = Math.max(this.mem.firstIndex(), snapIndex - keep);
    if (compactTo < snapIndex) this.mem.compact(compactTo);
    // On disk: the snapshot file first, then the WAL segments before it are released.
    this.disk.snapshot = snap;
    this.disk.entries = this.disk.entries.filter((e) => e.index > snapIndex);
    return true;
  }
}

export function bootstrapDisk(voters: NodeId[]): DiskImage {
  return {
    hardState: { term: 1, vote: '', commit: 1 },
    snapshot: {
      metadata: { index: 1, term: 1, confState: { voters: [...voters], learners: [] } },
      data: Buffer.from('[]'),
    },
    entries: [],
  };
}

export function emptyDisk(): DiskImage {
  return { hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [] };
}
