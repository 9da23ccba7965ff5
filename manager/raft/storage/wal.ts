// The segmented write-ahead log of the Raft log and hard state.
//
// A WAL directory holds segments named `<seq>-<firstIndex>.wal` (16 hex digits
// each, so names sort in sequence order). Each segment starts with a header
// record repeating its seq and first index, then the hard state current when it
// was cut (so releasing older segments never loses it), then records appended
// batch by batch. One batch is one write and one fdatasync: the group commit
// that makes the WAL fast enough for Raft.
//
// Durability rules the replay relies on:
// - A segment is created complete (header written and fsynced under a temp name,
//   then renamed, then the directory fsynced), so its header is never torn.
// - A new segment is cut only after the previous one's last batch was synced,
//   so only the last segment can end in an interrupted write.
// Hence a bad record at the tail of the last segment with nothing valid after it
// is an interrupted write and is cut off, while a bad record anywhere else is
// corruption and stops the open: silently dropping acknowledged data is worse
// than refusing to start.

import { open, readdir, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyHardState, isEmptyHardState, type Entry, type HardState } from '../types.js';
import { ensureDir, FILE_MODE, fsyncDir, isNotFound, removeFile, writeAll } from './durable-fs.js';
import {
  decodeRecord,
  FRAME_HEADER_BYTES,
  isKnownRecordType,
  readFrame,
  RecordEncoder,
  RecordType,
  type SegmentHeader,
  type SnapshotMarker,
  type WalRecord,
} from './wal-record.js';

export type { SnapshotMarker } from './wal-record.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
const TEMP_SUFFIX = '.tmp';

/** Damage that is not an interrupted write: the WAL cannot be trusted as it is. */
export class WalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    problem: string,
  ) {
    super(
      `WAL segment ${file} is corrupt at offset ${offset}: ${problem}. ` +
        'The WAL is corrupt before its tail, so this is not an interrupted write and nothing was dropped; ' +
        'restore this manager from a snapshot or remove its data root and re-join the cluster.',
    );
    this.name = 'WalCorruptError';
  }
}

/** A write or sync failed: what reached the disk is unknown, so the WAL stops accepting writes. */
export class WalFailedError extends Error {
  constructor(file: string, offset: number, cause: unknown) {
    super(
      `WAL write to ${file} at offset ${offset} failed (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'the on-disk state after a failed write is unknown, so this WAL accepts no more writes. ' +
        'Fix the disk problem (e.g. free space) and restart the manager; replay drops any partial record.',
      { cause },
    );
    this.name = 'WalFailedError';
  }
}

export interface WalOptions {
  /** A segment is cut once it grows past this many bytes. */
  segmentBytes?: number;
  /** Told about repairs made on open (a torn tail cut off, leftover temp files removed). */
  onWarning?: (message: string) => void;
}

/** What the WAL held on open. */
export interface WalReplay {
  /** The last hard state written, or the empty one. */
  hardState: HardState;
  /** The log with overwritten tails resolved: entries[i].index === firstIndex + i. */
  entries: Entry[];
  /**
   * Index the log starts at. Entries before it were released with old
   * segments or replaced by a snapshot received from the leader.
   */
  firstIndex: number;
  /** Every snapshot marker found, in the order written. */
  snapshots: SnapshotMarker[];
  /** True when the directory held no segments and a fresh WAL was created. */
  created: boolean;
}

interface SegmentFile {
  seq: number;
  firstIndex: number;
  name: string;
}

export class Wal {
  private readonly encoder = new RecordEncoder();
  private busy = false;
  private closed = false;
  private failure: WalFailedError | undefined;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private segments: SegmentFile[],
    private handle: FileHandle,
    private position: number,
    private last: number,
    private hardState: HardState,
    /** Newest snapshot marker's index: entries at or below it are committed and can no longer change. */
    private snapshotIndex: number,
  ) {}

  /** Opens (creating if needed) the WAL in `dir` and replays it. */
  static async open(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; replay: WalReplay }> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) {
      throw new RangeError(`WAL segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    const warn = options.onWarning ?? ((): void => {});
    await ensureDir(dir);
    const names = await readdir(dir);
    await removeInterruptedSegmentCreations(dir, names, warn);
    const segments = parseSegmentNames(names);

    if (segments.length === 0) {
      const first: SegmentFile = segmentFile(1, 1);
      const encoder = new RecordEncoder();
      const { handle, size } = await createSegment(dir, first, emptyHardState(), encoder);
      const wal = new Wal(dir, segmentBytes, [first], handle, size, 0, emptyHardState(), 0);
      const replay: WalReplay = { hardState: emptyHardState(), entries: [], firstIndex: 1, snapshots: [], created: true };
      return { wal, replay };
    }

    checkSequence(dir, segments);
    const state = new ReplayState();
    let tailEnd = 0;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const isLast = i === segments.length - 1;
      const path = join(dir, segment.name);
      const buf = await readFile(path);
      const result = replaySegment(path, buf, segment, i === 0, isLast, state);
      if (isLast) {
        tailEnd = result.end;
        if (result.end < buf.length) {
          await truncateTornTail(path, result.end);
          warn(
            `WAL segment ${path}: cut off ${buf.length - result.end} bytes after offset ${result.end} ` +
              `(${result.tornReason ?? 'incomplete record'}); a write was interrupted before it was acknowledged, ` +
              'so no committed data was lost',
          );
        }
      }
    }

    const lastSegment = segments[segments.length - 1]!;
    const handle = await open(join(dir, lastSegment.name), 'r+');
    const log = state.log();
    const snapshotIndex = state.snapshots.reduce((max, m) => Math.max(max, m.index), 0);
    const wal = new Wal(dir, segmentBytes, segments, handle, tailEnd, log.lastIndex, state.hardState, snapshotIndex);
    const replay: WalReplay = {
      hardState: state.hardState,
      entries: log.entries,
      firstIndex: log.first,
      snapshots: state.snapshots,
      created: false,
    };
    return { wal, replay };
  }

  /** True when `dir` holds at least one segment, i.e. opening it replays rather than creates. */
  static async exists(dir: string): Promise<boolean> {
    try {
      return (await readdir(dir)).some((name) => SEGMENT_NAME.test(name));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Index of the last entry in the log (after overwrites and snapshots). */
  get lastIndex(): number {
    return this.last;
  }

  /** Segment file names, oldest first. */
  get segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /**
   * Durably appends one batch: the snapshot marker, then the entries, then the
   * hard state, in one write followed by one fdatasync. The hard state goes last
   * so that an interrupted write never leaves a commit index pointing past the
   * entries that made it. An entry whose index is at or below the last index
   * overwrites the log from that index on (a Raft conflict).
   */
  async append(hardState: HardState | undefined, entries: readonly Entry[], snapshot?: SnapshotMarker): Promise<void> {
    this.assertWritable();
    if (hardState === undefined && entries.length === 0 && snapshot === undefined) return;

    let last = this.last;
    let floor = this.snapshotIndex;
    if (snapshot !== undefined) {
      checkMarker(snapshot, last);
      if (snapshot.replacesLog) last = snapshot.index;
      floor = Math.max(floor, snapshot.index);
    }
    checkEntries(entries, last, floor);
    if (hardState !== undefined) checkHardState(hardState);

    this.busy = true;
    try {
      const encoder = this.encoder;
      encoder.reset();
      if (snapshot !== undefined) encoder.snapshot(snapshot);
      for (const entry of entries) encoder.entry(entry);
      if (hardState !== undefined) encoder.hardState(hardState);
      await this.writeDurably(encoder.bytes());

      if (entries.length > 0) last = entries[entries.length - 1]!.index;
      this.last = last;
      this.snapshotIndex = floor;
      if (hardState !== undefined) this.hardState = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
      if (this.position >= this.segmentBytes) await this.cut();
    } finally {
      this.busy = false;
    }
  }

  /**
   * Deletes the segments that only hold entries at or below `index` (covered by
   * a snapshot). Keeps the last segment whose first index is <= `index`, which
   * holds the entry at the snapshot index, and everything after it. Returns the
   * number of segments deleted.
   */
  async releaseTo(index: number): Promise<number> {
    this.assertWritable();
    let keepFrom = 0;
    for (let i = 0; i < this.segments.length; i++) {
      if (this.segments[i]!.firstIndex <= index) keepFrom = i;
    }
    this.busy = true;
    try {
      for (let i = 0; i < keepFrom; i++) {
        await removeFile(join(this.dir, this.segments[0]!.name));
        // One fsync per unlink, oldest first: if the directory lost a later
        // unlink but kept an earlier one, the survivors would still form a
        // gap-free sequence, which replay requires.
        await fsyncDir(this.dir);
        this.segments.shift();
      }
    } finally {
      this.busy = false;
    }
    return keepFrom;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private assertWritable(): void {
    if (this.closed) throw new Error(`the WAL in ${this.dir} is closed; open it again to write`);
    if (this.failure !== undefined) throw this.failure;
    if (this.busy) {
      throw new Error(`the WAL in ${this.dir} was called while another operation was in flight; serialize calls (DiskStorage does)`);
    }
  }

  private currentPath(): string {
    return join(this.dir, this.segments[this.segments.length - 1]!.name);
  }

  private async writeDurably(bytes: Uint8Array): Promise<void> {
    try {
      await writeAll(this.handle, bytes, this.position);
      await this.handle.datasync();
    } catch (err) {
      this.failure = new WalFailedError(this.currentPath(), this.position, err);
      throw this.failure;
    }
    this.position += bytes.length;
  }

  /** Starts the next segment once the current one has grown past the limit. */
  private async cut(): Promise<void> {
    const current = this.segments[this.segments.length - 1]!;
    const next = segmentFile(current.seq + 1, this.last + 1);
    let created: { handle: FileHandle; size: number };
    try {
      created = await createSegment(this.dir, next, this.hardState, this.encoder);
    } catch (err) {
      this.failure = new WalFailedError(join(this.dir, next.name), 0, err);
      throw this.failure;
    }
    const previous = this.handle;
    this.handle = created.handle;
    this.position = created.size;
    this.segments.push(next);
    // Already synced by the last append; closing cannot lose data.
    await previous.close();
  }
}

/** The log as replay rebuilds it: contiguous entries starting at `first`. */
class ReplayedLog {
  entries: Entry[] = [];
  first: number;

  constructor(lastIndex: number) {
    this.first = lastIndex + 1;
  }

  get lastIndex(): number {
    return this.first + this.entries.length - 1;
  }

  /** Returns a problem description when the entry cannot follow the log. */
  append(entry: Entry): string | undefined {
    if (entry.index < 1) return `entry has index ${entry.index}; indexes start at 1`;
    const last = this.lastIndex;
    if (entry.index > last + 1) return `entry ${entry.index} leaves a gap after the last index ${last}`;
    if (entry.index < this.first) {
      // Overwrites reaching back before the released segments: everything
      // known is replaced.
      this.entries = [entry];
      this.first = entry.index;
      return undefined;
    }
    // A Raft conflict: the new entry replaces the old tail from its index on.
    if (entry.index <= last) this.entries.length = entry.index - this.first;
    this.entries.push(entry);
    return undefined;
  }

  replaceWithSnapshot(index: number): void {
    this.entries = [];
    this.first = index + 1;
  }
}

/** State carried across segments during replay. */
class ReplayState {
  hardState: HardState = emptyHardState();
  snapshots: SnapshotMarker[] = [];
  private replayed: ReplayedLog | undefined;

  start(firstIndex: number): void {
    this.replayed = new ReplayedLog(firstIndex - 1);
  }

  log(): ReplayedLog {
    if (this.replayed === undefined) throw new Error('replay has not started');
    return this.replayed;
  }

  /** Returns a problem description when the record does not fit the WAL so far. */
  apply(record: WalRecord): string | undefined {
    switch (record.type) {
      case RecordType.Entry:
        return this.log().append(record.entry);
      case RecordType.HardState:
        this.hardState = record.hardState;
        return undefined;
      case RecordType.Snapshot:
        this.snapshots.push(record.marker);
        if (record.marker.replacesLog) this.log().replaceWithSnapshot(record.marker.index);
        return undefined;
      case RecordType.SegmentHeader:
        return 'a segment header in the middle of a segment';
    }
  }
}

/**
 * Replays one segment into `state`. Returns where its valid records end; only
 * the last segment may end early (a torn tail), anything else throws.
 */
function replaySegment(
  path: string,
  buf: Buffer,
  segment: SegmentFile,
  isFirst: boolean,
  isLast: boolean,
  state: ReplayState,
): { end: number; tornReason?: string } {
  const headerFrame = readFrame(buf, 0, buf.length);
  if (!headerFrame.ok) {
    throw new WalCorruptError(
      path,
      0,
      `the segment header is unreadable (${headerFrame.reason}); segments are created whole, so this is not an interrupted write`,
    );
  }
  const header = decodeRecord(buf, headerFrame.payloadStart, headerFrame.end);
  if (typeof header === 'string') throw new WalCorruptError(path, 0, header);
  if (header.type !== RecordType.SegmentHeader) throw new WalCorruptError(path, 0, 'the first record is not a segment header');
  checkHeader(path, header.header, segment, isFirst ? undefined : state.log().lastIndex);
  if (isFirst) state.start(header.header.firstIndex);

  let offset = headerFrame.end;
  while (offset < buf.length) {
    const frame = readFrame(buf, offset, buf.length);
    if (!frame.ok) {
      if (!isLast) {
        throw new WalCorruptError(
          path,
          offset,
          `${frame.reason}; a later segment exists, so this is not an interrupted write`,
        );
      }
      const next = findValidFrame(buf, offset + 1);
      if (next !== undefined) {
        throw new WalCorruptError(path, offset, `${frame.reason}, yet a valid record follows at offset ${next}`);
      }
      return { end: offset, tornReason: frame.reason };
    }
    const record = decodeRecord(buf, frame.payloadStart, frame.end);
    const problem = typeof record === 'string' ? record : state.apply(record);
    if (problem !== undefined) throw new WalCorruptError(path, offset, problem);
    offset = frame.end;
  }
  return { end: offset };
}

function checkHeader(path: string, header: SegmentHeader, segment: SegmentFile, previousLastIndex: number | undefined): void {
  if (header.seq !== segment.seq || header.firstIndex !== segment.firstIndex) {
    throw new WalCorruptError(
      path,
      0,
      `the header says segment ${header.seq} starting at index ${header.firstIndex}, but the file name says segment ` +
        `${segment.seq} starting at index ${segment.firstIndex}: the file was renamed or copied from another WAL`,
    );
  }
  if (header.firstIndex < 1) throw new WalCorruptError(path, 0, `the header has first index ${header.firstIndex}`);
  if (previousLastIndex !== undefined && header.firstIndex !== previousLastIndex + 1) {
    throw new WalCorruptError(
      path,
      0,
      `the previous segment ends the log at index ${previousLastIndex}, but this segment was cut to start at ` +
        `${header.firstIndex}: it does not belong after the previous segment`,
    );
  }
}

/**
 * Offset of the first checksummed record at or after `from`, if any. Scans
 * byte by byte because a damaged length field makes the next frame's position
 * unknown. The price of strictness: a crash that persisted a later page of the
 * final batch but not an earlier one also shows valid records after a bad one
 * and is reported as corruption; refusing to start is recoverable, dropping
 * acknowledged records is not.
 */
function findValidFrame(buf: Buffer, from: number): number | undefined {
  for (let at = from; at + FRAME_HEADER_BYTES < buf.length; at++) {
    const frame = readFrame(buf, at, buf.length);
    if (frame.ok && isKnownRecordType(buf, frame.payloadStart)) return at;
  }
  return undefined;
}

async function truncateTornTail(path: string, end: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(end);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a complete new segment under a temp name and renames it into place. */
async function createSegment(
  dir: string,
  segment: SegmentFile,
  hardState: HardState,
  encoder: RecordEncoder,
): Promise<{ handle: FileHandle; size: number }> {
  encoder.reset();
  encoder.segmentHeader({ seq: segment.seq, firstIndex: segment.firstIndex });
  if (!isEmptyHardState(hardState)) encoder.hardState(hardState);
  const bytes = encoder.bytes();
  const finalPath = join(dir, segment.name);
  const tempPath = finalPath + TEMP_SUFFIX;
  const handle = await open(tempPath, 'w', FILE_MODE);
  try {
    await writeAll(handle, bytes, 0);
    await handle.sync();
    await rename(tempPath, finalPath);
    await fsyncDir(dir);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await removeFile(tempPath).catch(() => undefined);
    throw err;
  }
  return { handle, size: bytes.length };
}

async function removeInterruptedSegmentCreations(dir: string, names: string[], warn: (message: string) => void): Promise<void> {
  for (const name of names) {
    if (!name.endsWith(`.wal${TEMP_SUFFIX}`)) continue;
    await removeFile(join(dir, name));
    warn(`WAL: removed ${join(dir, name)}, a segment whose creation was interrupted (it never held acknowledged data)`);
  }
}

function parseSegmentNames(names: string[]): SegmentFile[] {
  const segments: SegmentFile[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match === null) continue;
    segments.push({ seq: parseInt(match[1]!, 16), firstIndex: parseInt(match[2]!, 16), name });
  }
  return segments.sort((a, b) => a.seq - b.seq);
}

function checkSequence(dir: string, segments: SegmentFile[]): void {
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1]!;
    const segment = segments[i]!;
    if (segment.seq !== previous.seq + 1) {
      const missing = segment.seq === previous.seq ? `two segments have sequence number ${segment.seq}` : `segment ${previous.seq + 1} is missing`;
      throw new WalCorruptError(join(dir, segment.name), 0, `${missing} (it sits between ${previous.name} and ${segment.name})`);
    }
  }
}

function segmentFile(seq: number, firstIndex: number): SegmentFile {
  return { seq, firstIndex, name: `${hex16(seq)}-${hex16(firstIndex)}.wal` };
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

function checkUint(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
}

function checkMarker(marker: SnapshotMarker, lastIndex: number): void {
  checkUint(marker.index, 'snapshot index');
  checkUint(marker.term, 'snapshot term');
  if (!marker.replacesLog && marker.index > lastIndex) {
    throw new RangeError(
      `snapshot at index ${marker.index} is beyond the WAL's last index ${lastIndex}; ` +
        'the application can only snapshot entries it has persisted and applied',
    );
  }
}

function checkEntries(entries: readonly Entry[], lastIndex: number, snapshotIndex: number): void {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    checkUint(entry.index, 'entry index');
    checkUint(entry.term, 'entry term');
    if (!Number.isInteger(entry.type) || entry.type < 0 || entry.type > 255) {
      throw new RangeError(`entry ${entry.index} has type ${entry.type}, which does not fit a byte`);
    }
    if (i === 0) {
      if (entry.index < 1 || entry.index > lastIndex + 1) {
        throw new RangeError(`entry ${entry.index} cannot follow the WAL's last index ${lastIndex}: it would leave a gap`);
      }
      if (entry.index <= snapshotIndex) {
        throw new RangeError(
          `entry ${entry.index} is at or below the snapshot at index ${snapshotIndex}; entries a snapshot covers are committed and cannot change`,
        );
      }
    } else if (entry.index !== entries[i - 1]!.index + 1) {
      throw new RangeError(`entries of one batch must have consecutive indexes; ${entry.index} follows ${entries[i - 1]!.index}`);
    }
  }
}

function checkHardState(hs: HardState): void {
  checkUint(hs.term, 'hard state term');
  checkUint(hs.commit, 'hard state commit');
  if (typeof hs.vote !== 'string') throw new TypeError('hard state vote must be a string');
}
