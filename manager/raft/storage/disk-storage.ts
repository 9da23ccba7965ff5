// The durable storage the Raft driver uses: a WAL for entries and hard state,
// snapshot files for the application's state, under one data directory:
//
//   <dir>/wal/   segments (see wal.ts)
//   <dir>/snap/  snapshot files (see snapshotter.ts)
//
// A snapshot is usable only once the WAL holds its marker: the file is written
// first and the marker second, so a crash in between leaves a file the next
// open ignores rather than a marker pointing at nothing. On open, the newest
// snapshot file with a marker in the WAL is loaded and the entries after it
// are returned, as etcd does.

import { join } from 'node:path';
import { isEmptySnapshot, SnapshotOutOfDateError, type Entry, type HardState, type Snapshot } from '../types.js';
import { ensureDir } from './durable-fs.js';
import { Snapshotter } from './snapshotter.js';
import { Wal, type WalReplay } from './wal.js';

export { WalCorruptError, WalFailedError } from './wal.js';

export interface DurableState {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  /** Entries after the snapshot index, with overwritten tails already resolved. */
  entries: Entry[];
}

export interface DiskStorageOptions {
  /** WAL segment size before a new one is cut (default 64 MiB). */
  segmentBytes?: number;
  /** Snapshot files kept (default 3); older ones are deleted after each new snapshot. */
  keepSnapshots?: number;
  /** Told about repairs made on open: a torn WAL tail cut off, a broken snapshot set aside. */
  onWarning?: (message: string) => void;
}

/** One Ready's worth of state to persist. */
export interface SaveBatch {
  hardState?: HardState;
  entries: Entry[];
  /** A snapshot received from the leader; it replaces the log. */
  snapshot?: Snapshot;
}

/** The files on disk cannot rebuild the log without a gap: opening must not guess. */
export class UnrecoverableLogError extends Error {
  constructor(dir: string, problem: string) {
    super(
      `the Raft storage in ${dir} cannot be recovered: ${problem}. ` +
        'Restore this manager from a backup of its data root, or remove its data root and re-join the cluster.',
    );
    this.name = 'UnrecoverableLogError';
  }
}

export const WAL_DIR = 'wal';
export const SNAP_DIR = 'snap';

export class DiskStorage {
  /** Tail of the queue that keeps writes from interleaving. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly wal: Wal,
    private readonly snapshotter: Snapshotter,
    /** Index of the newest snapshot in use; older ones are refused. */
    private snapshotIndex: number,
  ) {}

  /** Opens (creating if needed, owner-only) the storage in `dir` and recovers what it holds. */
  static async open(dir: string, opts: DiskStorageOptions = {}): Promise<{ storage: DiskStorage; state: DurableState }> {
    await ensureDir(dir);
    const walDir = join(dir, WAL_DIR);
    const snapshotter = await Snapshotter.open(join(dir, SNAP_DIR), { keep: opts.keepSnapshots, onWarning: opts.onWarning });
    // Checked before the WAL is opened, because opening an empty WAL directory
    // creates a fresh WAL, which would hide the loss on every later open.
    if (!(await Wal.exists(walDir))) {
      const orphans = await snapshotter.list();
      if (orphans.length > 0) {
        throw new UnrecoverableLogError(
          dir,
          `${orphans.length} snapshot file(s) exist but the WAL directory ${walDir} holds no segments, so the hard state and the entries after the snapshot are lost`,
        );
      }
    }
    const { wal, replay } = await Wal.open(walDir, { segmentBytes: opts.segmentBytes, onWarning: opts.onWarning });
    try {
      const state = await recover(walDir, replay, snapshotter);
      return { storage: new DiskStorage(wal, snapshotter, state.snapshot?.metadata.index ?? 0), state };
    } catch (err) {
      await wal.close();
      throw err;
    }
  }

  /**
   * Persists one Ready batch with a single WAL fsync. A snapshot is written to
   * its file first, then its marker goes into the WAL with the batch. A batch
   * with nothing in it writes nothing.
   */
  save(batch: SaveBatch): Promise<void> {
    return this.serialize(async () => {
      const snapshot = batch.snapshot !== undefined && !isEmptySnapshot(batch.snapshot) ? batch.snapshot : undefined;
      if (snapshot === undefined) {
        await this.wal.append(batch.hardState, batch.entries);
        return;
      }
      const { index, term } = snapshot.metadata;
      this.refuseOlder(index);
      await this.snapshotter.save(snapshot);
      await this.wal.append(batch.hardState, batch.entries, { index, term, replacesLog: true });
      this.snapshotIndex = index;
      await this.compact(index, term);
    });
  }

  /**
   * Records a snapshot the application took of its state at
   * `metadata.index`, then releases the WAL segments and snapshot files it
   * makes unnecessary.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.serialize(async () => {
      const { index, term } = snapshot.metadata;
      this.refuseOlder(index);
      await this.snapshotter.save(snapshot);
      await this.wal.append(undefined, [], { index, term, replacesLog: false });
      this.snapshotIndex = index;
      await this.compact(index, term);
    });
  }

  /** Waits for queued writes, then closes the WAL. Later calls are refused. */
  close(): Promise<void> {
    if (this.closed) return this.queue;
    const closing = this.serialize(() => this.wal.close());
    this.closed = true;
    return closing;
  }

  private serialize(task: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('DiskStorage is closed; open it again to write'));
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private refuseOlder(index: number): void {
    if (index < this.snapshotIndex) throw new SnapshotOutOfDateError(index, this.snapshotIndex);
  }

  /** Runs only after the marker is durable, so the files it deletes are truly no longer needed. */
  private async compact(index: number, term: number): Promise<void> {
    await this.wal.releaseTo(index);
    await this.snapshotter.purge({ index, term });
  }
}

async function recover(walDir: string, replay: WalReplay, snapshotter: Snapshotter): Promise<DurableState> {
  const marked = new Set(replay.snapshots.map((m) => markerKey(m.index, m.term)));
  const snapshot = await snapshotter.loadNewest((id) => marked.has(markerKey(id.index, id.term)));
  const snapshotIndex = snapshot?.metadata.index ?? 0;
  if (replay.firstIndex > snapshotIndex + 1) {
    const newest = snapshot === undefined ? 'there is no usable snapshot' : `the newest usable snapshot is at index ${snapshotIndex}`;
    throw new UnrecoverableLogError(
      walDir,
      `the WAL's log starts at index ${replay.firstIndex} but ${newest}, so entries ${snapshotIndex + 1} to ` +
        `${replay.firstIndex - 1} are in neither (a snapshot file is missing or was set aside as .broken)`,
    );
  }
  return {
    hardState: replay.hardState,
    snapshot,
    entries: replay.entries.slice(Math.max(0, snapshotIndex + 1 - replay.firstIndex)),
  };
}

function markerKey(index: number, term: number): string {
  return `${index}/${term}`;
}
