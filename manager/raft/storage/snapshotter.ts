// Snapshot files: `<term>-<index>.snap` (16 hex digits each), one per snapshot.
//
// Layout (little endian):
//   magic "SHOALSNP" | u32 format version | u32 CRC32C | u32 metadata length |
//   u64 data length | metadata (msgpack) | data
// The CRC covers everything after itself, so a truncated or altered file, or
// one whose lengths were damaged, fails it.
//
// A file only ever appears complete: it is written under a temp name, fsynced,
// renamed into place and the directory fsynced. A file that still fails its
// check was damaged at rest; it is renamed to `.broken` (kept for inspection,
// never loaded again) and an older snapshot is used instead.

import { open, readdir, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import type { ConfState, Snapshot, SnapshotMetadata } from '../types.js';
import { crc32c, crc32cRange } from './crc32c.js';
import { ensureDir, FILE_MODE, fsyncDir, removeFile, writeAll } from './durable-fs.js';

export const DEFAULT_KEEP_SNAPSHOTS = 3;

const MAGIC = Buffer.from('SHOALSNP', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4 + 4 + 4 + 8;
/** The CRC covers the file from here on. */
const CHECKED_FROM = MAGIC.length + 4 + 4;
const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TEMP_SUFFIX = '.tmp';
const BROKEN_SUFFIX = '.broken';

/** Identity of a snapshot file, known from its name without reading it. */
export interface SnapshotId {
  term: number;
  index: number;
}

export interface SnapshotterOptions {
  /** How many of the newest snapshot files `purge` keeps. */
  keep?: number;
  /** Told about broken snapshot files and other repairs. */
  onWarning?: (message: string) => void;
}

/** A snapshot file that cannot be used as it is. */
class BrokenSnapshotError extends Error {}

export class Snapshotter {
  private readonly keep: number;
  private readonly warn: (message: string) => void;

  private constructor(
    readonly dir: string,
    options: SnapshotterOptions,
  ) {
    this.keep = options.keep ?? DEFAULT_KEEP_SNAPSHOTS;
    this.warn = options.onWarning ?? ((): void => {});
    if (!Number.isSafeInteger(this.keep) || this.keep < 1) {
      throw new RangeError(`keepSnapshots must be an integer >= 1, got ${this.keep}`);
    }
  }

  /** Opens (creating if needed) the snapshot directory and removes interrupted writes. */
  static async open(dir: string, options: SnapshotterOptions = {}): Promise<Snapshotter> {
    const snapshotter = new Snapshotter(dir, options);
    await ensureDir(dir);
    for (const name of await readdir(dir)) {
      if (!name.endsWith(`.snap${TEMP_SUFFIX}`)) continue;
      await removeFile(join(dir, name));
      snapshotter.warn(`snapshot: removed ${join(dir, name)}, a snapshot whose write was interrupted`);
    }
    return snapshotter;
  }

  /** Snapshot files present, newest (highest index, then term) first. */
  async list(): Promise<SnapshotId[]> {
    const ids: SnapshotId[] = [];
    for (const name of await readdir(this.dir)) {
      const match = SNAP_NAME.exec(name);
      if (match !== null) ids.push({ term: parseInt(match[1]!, 16), index: parseInt(match[2]!, 16) });
    }
    return ids.sort((a, b) => compareIds(b, a));
  }

  /** Writes the snapshot's file atomically and durably. */
  async save(snapshot: Snapshot): Promise<void> {
    const { metadata, data } = snapshot;
    const finalPath = this.pathOf(metadata);
    const tempPath = finalPath + TEMP_SUFFIX;
    const meta = pack({ index: metadata.index, term: metadata.term, confState: metadata.confState });
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(FORMAT_VERSION, MAGIC.length);
    header.writeUInt32LE(meta.length, CHECKED_FROM);
    header.writeBigUInt64LE(BigInt(data.length), CHECKED_FROM + 4);
    const crc = crc32c(data, crc32c(meta, crc32cRange(header, CHECKED_FROM, HEADER_BYTES)));
    header.writeUInt32LE(crc, MAGIC.length + 4);

    let handle: FileHandle | undefined;
    try {
      handle = await open(tempPath, 'w', FILE_MODE);
      // Three writes rather than one concatenation: snapshot data can be large.
      await writeAll(handle, header, 0);
      await writeAll(handle, meta, HEADER_BYTES);
      await writeAll(handle, data, HEADER_BYTES + meta.length);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(tempPath, finalPath);
      await fsyncDir(this.dir);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await removeFile(tempPath).catch(() => undefined);
      throw new Error(`could not write snapshot ${finalPath}: ${err instanceof Error ? err.message : String(err)}; check the disk (space, permissions)`, { cause: err });
    }
  }

  /**
   * The newest snapshot that passes its checks and that `available` accepts
   * (e.g. "the WAL has a marker for it"). Files failing their checks are
   * renamed to `.broken` and reported, and the search goes on to older ones.
   */
  async loadNewest(available?: (id: SnapshotId) => boolean): Promise<Snapshot | undefined> {
    for (const id of await this.list()) {
      if (available !== undefined && !available(id)) continue;
      const path = this.pathOf(id);
      try {
        return await readSnapshotFile(path, id);
      } catch (err) {
        if (!(err instanceof BrokenSnapshotError)) throw err;
        await rename(path, path + BROKEN_SUFFIX);
        await fsyncDir(this.dir);
        this.warn(
          `snapshot ${path} is unusable (${err.message}); renamed it to ${path + BROKEN_SUFFIX} and trying an older snapshot`,
        );
      }
    }
    return undefined;
  }

  /**
   * Deletes what `current` (the snapshot now in use, its WAL marker written)
   * makes unnecessary: all but the newest `keep` snapshots up to it, and any
   * newer file, which can only be a write whose WAL marker never made it and
   * which would otherwise crowd the usable snapshots out of the kept ones.
   * Returns how many files were deleted.
   */
  async purge(current: SnapshotId): Promise<number> {
    const ids = await this.list();
    const newer = ids.filter((id) => compareIds(id, current) > 0);
    const stale = [...newer, ...ids.filter((id) => compareIds(id, current) <= 0).slice(this.keep)];
    for (const id of stale) await removeFile(this.pathOf(id));
    if (stale.length > 0) await fsyncDir(this.dir);
    return stale.length;
  }

  private pathOf(id: SnapshotId): string {
    return join(this.dir, `${hex16(id.term)}-${hex16(id.index)}.snap`);
  }
}

async function readSnapshotFile(path: string, id: SnapshotId): Promise<Snapshot> {
  const buf = await readFile(path);
  if (buf.length < HEADER_BYTES) throw new BrokenSnapshotError(`only ${buf.length} bytes, shorter than the header`);
  if (!MAGIC.equals(buf.subarray(0, MAGIC.length))) throw new BrokenSnapshotError('it lacks the SHOALSNP magic');
  const version = buf.readUInt32LE(MAGIC.length);
  if (version !== FORMAT_VERSION) {
    throw new BrokenSnapshotError(`format version ${version} is not supported (this build reads version ${FORMAT_VERSION})`);
  }
  const stored = buf.readUInt32LE(MAGIC.length + 4);
  const actual = crc32cRange(buf, CHECKED_FROM, buf.length);
  if (stored !== actual) {
    throw new BrokenSnapshotError(`checksum mismatch: stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}`);
  }
  const metaLength = buf.readUInt32LE(CHECKED_FROM);
  const dataLength = buf.readBigUInt64LE(CHECKED_FROM + 4);
  if (BigInt(HEADER_BYTES + metaLength) + dataLength !== BigInt(buf.length)) {
    throw new BrokenSnapshotError(`its lengths (${metaLength} + ${dataLength}) do not add up to its size ${buf.length}`);
  }
  let decoded: unknown;
  try {
    decoded = unpack(buf.subarray(HEADER_BYTES, HEADER_BYTES + metaLength));
  } catch (err) {
    throw new BrokenSnapshotError(`its metadata does not decode: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isSnapshotMetadata(decoded)) throw new BrokenSnapshotError('its metadata is malformed');
  if (decoded.index !== id.index || decoded.term !== id.term) {
    throw new BrokenSnapshotError(
      `it holds the snapshot at term ${decoded.term} index ${decoded.index}, not the one its name says (term ${id.term} index ${id.index})`,
    );
  }
  const dataStart = HEADER_BYTES + metaLength;
  // A plain Uint8Array view of the file buffer: no copy of possibly large data.
  const data = new Uint8Array(buf.buffer, buf.byteOffset + dataStart, buf.length - dataStart);
  const metadata: SnapshotMetadata = {
    index: decoded.index,
    term: decoded.term,
    confState: { voters: decoded.confState.voters, learners: decoded.confState.learners },
  };
  return { metadata, data };
}

function isSnapshotMetadata(value: unknown): value is SnapshotMetadata {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isUint(v['index']) && isUint(v['term']) && isConfState(v['confState']);
}

function isConfState(value: unknown): value is ConfState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isStringArray(v['voters']) && isStringArray(v['learners']);
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Orders snapshots by index, then term. */
function compareIds(a: SnapshotId, b: SnapshotId): number {
  return a.index - b.index || a.term - b.term;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}
