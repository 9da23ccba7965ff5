// The WAL's on-disk record format.
//
// Frame:   [u32 payload length][u32 CRC32C of payload][payload]   little endian
// Payload: [u8 record type][body]
//
// Bodies are hand-laid-out fixed fields rather than msgpack: the entry record
// is on the hot path, and a fixed layout lets a whole batch be encoded into
// one reused buffer without allocating per record. Integers are u64 (written
// as two u32 halves) and limited to Number.MAX_SAFE_INTEGER.
//
//   SegmentHeader  magic "SHOALWAL" | u8 format version | u64 seq | u64 firstIndex
//   Entry          u8 entry type | u64 term | u64 index | data (rest of payload)
//   HardState      u64 term | u64 commit | vote as UTF-8 (rest of payload)
//   Snapshot       u8 flags (bit 0: replaces the log) | u64 index | u64 term

import { crc32cRange } from './crc32c.js';
import type { Entry, EntryType, HardState } from '../types.js';

export const FRAME_HEADER_BYTES = 8;

/**
 * Larger lengths are treated as a damaged length field. Raft entries are far
 * smaller than this; the cap keeps a flipped high bit from looking plausible.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export const WAL_FORMAT_VERSION = 1;
const SEGMENT_MAGIC = Buffer.from('SHOALWAL', 'latin1');

export enum RecordType {
  SegmentHeader = 1,
  Entry = 2,
  HardState = 3,
  Snapshot = 4,
}

const ENTRY_FIXED_BYTES = 1 + 1 + 8 + 8;
const HARD_STATE_FIXED_BYTES = 1 + 8 + 8;
const SNAPSHOT_BYTES = 1 + 1 + 8 + 8;
const SEGMENT_HEADER_BYTES = 1 + SEGMENT_MAGIC.length + 1 + 8 + 8;
const SNAPSHOT_REPLACES_LOG = 1;

/** First record of every segment: ties the file to its place in the sequence. */
export interface SegmentHeader {
  seq: number;
  /** Index the segment's first entry was expected to have when it was cut. */
  firstIndex: number;
}

/** The WAL's note that a snapshot at (index, term) exists. */
export interface SnapshotMarker {
  index: number;
  term: number;
  /**
   * True for a snapshot received from the leader: it replaces the whole log,
   * so replay discards every entry before it. False for a snapshot the
   * application took of its own state, which leaves the log as it is.
   */
  replacesLog: boolean;
}

export type WalRecord =
  | { type: RecordType.SegmentHeader; header: SegmentHeader }
  | { type: RecordType.Entry; entry: Entry }
  | { type: RecordType.HardState; hardState: HardState }
  | { type: RecordType.Snapshot; marker: SnapshotMarker };

/** Outcome of reading one frame: where its payload is, or why it is unusable. */
export type FrameRead =
  | { ok: true; payloadStart: number; end: number }
  | { ok: false; reason: string };

/** Reads and checksums the frame at `offset`; never throws. */
export function readFrame(buf: Uint8Array, offset: number, limit: number): FrameRead {
  if (offset + FRAME_HEADER_BYTES > limit) {
    return { ok: false, reason: `incomplete record header (${limit - offset} of ${FRAME_HEADER_BYTES} bytes)` };
  }
  const length = readU32(buf, offset);
  if (length === 0) return { ok: false, reason: 'zero record length (zero-filled or never written)' };
  if (length > MAX_PAYLOAD_BYTES) return { ok: false, reason: `implausible record length ${length}` };
  const payloadStart = offset + FRAME_HEADER_BYTES;
  const end = payloadStart + length;
  if (end > limit) {
    return { ok: false, reason: `record of ${length} bytes extends past the end of the file (${limit - payloadStart} present)` };
  }
  const stored = readU32(buf, offset + 4);
  const actual = crc32cRange(buf, payloadStart, end);
  if (stored !== actual) {
    return { ok: false, reason: `checksum mismatch (stored ${hex32(stored)}, computed ${hex32(actual)})` };
  }
  return { ok: true, payloadStart, end };
}

/** True when a checksummed payload starts with a record type this version writes. */
export function isKnownRecordType(buf: Uint8Array, payloadStart: number): boolean {
  const type = buf[payloadStart];
  return type !== undefined && type >= RecordType.SegmentHeader && type <= RecordType.Snapshot;
}

/**
 * Decodes a payload whose checksum has already matched. Returns a string
 * describing the problem when the payload is not a well-formed record: with a
 * good checksum that means a format mismatch or a bug, never a torn write.
 */
export function decodeRecord(buf: Buffer, start: number, end: number): WalRecord | string {
  const type = buf[start];
  const bodyLength = end - start;
  switch (type) {
    case RecordType.Entry: {
      if (bodyLength < ENTRY_FIXED_BYTES) return `entry record too short (${bodyLength} bytes)`;
      const term = readU64(buf, start + 2);
      const index = readU64(buf, start + 10);
      if (term === undefined || index === undefined) return 'entry term or index exceeds 2^53';
      const dataStart = start + ENTRY_FIXED_BYTES;
      // A copy, not a view: a view would pin the whole segment buffer in
      // memory for as long as the Raft log holds the entry.
      const data = new Uint8Array(end - dataStart);
      data.set(buf.subarray(dataStart, end));
      return { type: RecordType.Entry, entry: { term, index, type: buf[start + 1] as EntryType, data } };
    }
    case RecordType.HardState: {
      if (bodyLength < HARD_STATE_FIXED_BYTES) return `hard state record too short (${bodyLength} bytes)`;
      const term = readU64(buf, start + 1);
      const commit = readU64(buf, start + 9);
      if (term === undefined || commit === undefined) return 'hard state term or commit exceeds 2^53';
      const vote = buf.toString('utf8', start + HARD_STATE_FIXED_BYTES, end);
      return { type: RecordType.HardState, hardState: { term, vote, commit } };
    }
    case RecordType.Snapshot: {
      if (bodyLength !== SNAPSHOT_BYTES) return `snapshot record has ${bodyLength} bytes, expected ${SNAPSHOT_BYTES}`;
      const index = readU64(buf, start + 2);
      const term = readU64(buf, start + 10);
      if (index === undefined || term === undefined) return 'snapshot index or term exceeds 2^53';
      return { type: RecordType.Snapshot, marker: { index, term, replacesLog: (buf[start + 1]! & SNAPSHOT_REPLACES_LOG) !== 0 } };
    }
    case RecordType.SegmentHeader: {
      if (bodyLength !== SEGMENT_HEADER_BYTES) {
        return `segment header has ${bodyLength} bytes, expected ${SEGMENT_HEADER_BYTES}`;
      }
      const magicEnd = start + 1 + SEGMENT_MAGIC.length;
      if (!SEGMENT_MAGIC.equals(buf.subarray(start + 1, magicEnd))) return 'segment header lacks the SHOALWAL magic';
      const version = buf[magicEnd]!;
      if (version !== WAL_FORMAT_VERSION) {
        return `segment format version ${version} is not supported (this build reads version ${WAL_FORMAT_VERSION})`;
      }
      const seq = readU64(buf, magicEnd + 1);
      const firstIndex = readU64(buf, magicEnd + 9);
      if (seq === undefined || firstIndex === undefined) return 'segment seq or first index exceeds 2^53';
      return { type: RecordType.SegmentHeader, header: { seq, firstIndex } };
    }
    default:
      return `unknown record type ${type ?? '(none)'}`;
  }
}

/**
 * Encodes records back to back into one buffer that is reused from batch to
 * batch, so a batch costs one write and no per-record allocation.
 */
export class RecordEncoder {
  private static readonly INITIAL_BYTES = 64 * 1024;
  /** A buffer grown past this by one huge batch is not kept for the next. */
  private static readonly RETAIN_LIMIT_BYTES = 16 * 1024 * 1024;

  private buf = Buffer.allocUnsafe(RecordEncoder.INITIAL_BYTES);
  private length = 0;

  /** Starts a new batch. */
  reset(): void {
    this.length = 0;
    if (this.buf.length > RecordEncoder.RETAIN_LIMIT_BYTES) this.buf = Buffer.allocUnsafe(RecordEncoder.INITIAL_BYTES);
  }

  /** The encoded batch; valid until the next reset or append. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  get byteLength(): number {
    return this.length;
  }

  segmentHeader(header: SegmentHeader): void {
    const start = this.begin(RecordType.SegmentHeader, SEGMENT_HEADER_BYTES);
    let at = start + 1;
    at += SEGMENT_MAGIC.copy(this.buf, at);
    this.buf[at++] = WAL_FORMAT_VERSION;
    writeU64(this.buf, at, header.seq);
    writeU64(this.buf, at + 8, header.firstIndex);
    this.finish(start, start + SEGMENT_HEADER_BYTES);
  }

  entry(entry: Entry): void {
    const length = ENTRY_FIXED_BYTES + entry.data.length;
    const start = this.begin(RecordType.Entry, length);
    this.buf[start + 1] = entry.type;
    writeU64(this.buf, start + 2, entry.term);
    writeU64(this.buf, start + 10, entry.index);
    this.buf.set(entry.data, start + ENTRY_FIXED_BYTES);
    this.finish(start, start + length);
  }

  hardState(hs: HardState): void {
    const voteBytes = Buffer.byteLength(hs.vote, 'utf8');
    const length = HARD_STATE_FIXED_BYTES + voteBytes;
    const start = this.begin(RecordType.HardState, length);
    writeU64(this.buf, start + 1, hs.term);
    writeU64(this.buf, start + 9, hs.commit);
    this.buf.write(hs.vote, start + HARD_STATE_FIXED_BYTES, voteBytes, 'utf8');
    this.finish(start, start + length);
  }

  snapshot(marker: SnapshotMarker): void {
    const start = this.begin(RecordType.Snapshot, SNAPSHOT_BYTES);
    this.buf[start + 1] = marker.replacesLog ? SNAPSHOT_REPLACES_LOG : 0;
    writeU64(this.buf, start + 2, marker.index);
    writeU64(this.buf, start + 10, marker.term);
    this.finish(start, start + SNAPSHOT_BYTES);
  }

  /** Reserves a frame for a payload of `payloadLength` bytes; returns the payload start. */
  private begin(type: RecordType, payloadLength: number): number {
    if (payloadLength > MAX_PAYLOAD_BYTES) {
      throw new RangeError(`WAL record of ${payloadLength} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit; split the proposal`);
    }
    const needed = this.length + FRAME_HEADER_BYTES + payloadLength;
    if (needed > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    const payloadStart = this.length + FRAME_HEADER_BYTES;
    this.buf[payloadStart] = type;
    return payloadStart;
  }

  private finish(payloadStart: number, end: number): void {
    const frameStart = payloadStart - FRAME_HEADER_BYTES;
    this.buf.writeUInt32LE(end - payloadStart, frameStart);
    this.buf.writeUInt32LE(crc32cRange(this.buf, payloadStart, end), frameStart + 4);
    this.length = end;
  }
}

function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

const TWO_POW_32 = 2 ** 32;
/** Largest high half of a u64 that still gives a safe integer. */
const MAX_SAFE_HIGH = 0x1fffff;

function writeU64(buf: Buffer, at: number, value: number): void {
  buf.writeUInt32LE(value >>> 0, at);
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), at + 4);
}

/** undefined when the value does not fit a safe integer. */
function readU64(buf: Uint8Array, at: number): number | undefined {
  const high = readU32(buf, at + 4);
  if (high > MAX_SAFE_HIGH) return undefined;
  return high * TWO_POW_32 + readU32(buf, at);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
