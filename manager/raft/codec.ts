// The wire codec for Raft messages: msgpackr with a positional layout.
//
// Messages are packed as arrays, not maps: a replication message carries
// dozens of entries and repeating field names in every one of them would
// double the bytes and the decode work. Records (msgpackr's shared structures)
// are off, because they make a frame depend on the frames before it, which a
// lossy network must never do.
//
// Everything arriving from the network is validated before the Raft core sees
// it: the core trusts its inputs, so a malformed frame must stop here with an
// error that says which field was wrong.
//
// Layering note: DESIGN.md keeps shared/ free of imports from manager/, but the
// Raft message shape lives in manager/raft/types.ts. Only the plain data types
// and their enums are imported here; moving them to shared/ would remove this.

import { Packr } from 'msgpackr';
import {
  type ConfState,
  type Entry,
  EntryType,
  isLocalMessage,
  type Message,
  MessageType,
  type SnapshotChunk,
  type SnapshotMetadata,
} from './types.js';
import { ShoalError } from '../../shared/errors.js';

/** Bumped when the layout changes incompatibly; a peer with another version is refused. */
export const WIRE_VERSION = 1;

/** A frame that is not a well-formed message: a bug or an incompatible peer, never retried as is. */
export class MessageDecodeError extends ShoalError {
  constructor(problem: string, options?: { cause?: unknown }) {
    super('bad_message', `malformed raft message: ${problem}`, 400, options);
  }
}

// Decoded binaries are views into the frame rather than copies: entries are
// kept for a long time but the frame is rarely much bigger than its entries.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.values(MessageType));
const ENTRY_TYPES: ReadonlySet<number> = new Set(
  Object.values(EntryType).filter((v): v is number => typeof v === 'number'),
);

// Field positions within an encoded message. Optional fields trail so that
// frames without them stay short.
const F = {
  version: 0,
  type: 1,
  from: 2,
  to: 3,
  term: 4,
  index: 5,
  logTerm: 6,
  entries: 7,
  commit: 8,
  reject: 9,
  rejectHint: 10,
  chunk: 11,
  received: 12,
  force: 13,
  context: 14,
} as const;
const REQUIRED_FIELDS = F.rejectHint + 1;

type Packed = unknown[];

// Entries travel as one binary blob of [term f64][index f64][type u8][length u32][data]
// records inside the msgpack frame. Packing each entry as msgpack values made
// the codec one of the largest CPU costs of replication; a blob is one copy
// in and one view per entry out.
const ENTRY_HEADER_BYTES = 21;

function packEntries(entries: Entry[]): Uint8Array {
  let size = 0;
  for (const e of entries) size += ENTRY_HEADER_BYTES + e.data.byteLength;
  // Every byte is written below, so the unzeroed allocation is safe.
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const e of entries) {
    out.writeDoubleBE(e.term, o);
    out.writeDoubleBE(e.index, o + 8);
    out.writeUInt8(e.type, o + 16);
    out.writeUInt32BE(e.data.byteLength, o + 17);
    out.set(e.data, o + ENTRY_HEADER_BYTES);
    o += ENTRY_HEADER_BYTES + e.data.byteLength;
  }
  return out;
}

function packMeta(m: SnapshotMetadata): Packed {
  return [m.index, m.term, m.confState.voters, m.confState.learners];
}

function toPacked(m: Message): Packed {
  if (isLocalMessage(m.type)) throw new Error(`raft: ${m.type} is a local message and is never sent over the wire`);
  const out: unknown[] = [
    WIRE_VERSION,
    m.type,
    m.from,
    m.to,
    m.term,
    m.index,
    m.logTerm,
    packEntries(m.entries),
    m.commit,
    m.reject,
    m.rejectHint,
  ];
  const c = m.chunk;
  const tail: unknown[] = [
    c === undefined ? null : [packMeta(c.metadata), c.offset, c.total, c.data],
    m.received ?? null,
    m.force ?? null,
    m.context ?? null,
  ];
  // Drop trailing absent fields.
  let n = tail.length;
  while (n > 0 && tail[n - 1] === null) n--;
  for (let i = 0; i < n; i++) out.push(tail[i]);
  return out;
}

/** Encode one message. */
export function encodeMessage(m: Message): Uint8Array {
  return packr.pack(toPacked(m));
}

/** Encode many messages (typically all of one Ready's messages to one peer) as one frame. */
export function encodeMessages(ms: readonly Message[]): Uint8Array {
  return packr.pack(ms.map(toPacked));
}

/** Decode one message from encodeMessage; throws MessageDecodeError on anything malformed. */
export function decodeMessage(frame: Uint8Array): Message {
  return fromPacked(unpackFrame(frame), 'message');
}

/** Decode a frame from encodeMessages; throws MessageDecodeError on anything malformed. */
export function decodeMessages(frame: Uint8Array): Message[] {
  const raw = unpackFrame(frame);
  if (!Array.isArray(raw)) throw new MessageDecodeError(`expected an array of messages, got ${describe(raw)}`);
  return raw.map((r, i) => fromPacked(r, `message ${i}`));
}

function unpackFrame(frame: Uint8Array): unknown {
  if (!(frame instanceof Uint8Array)) throw new MessageDecodeError(`expected bytes, got ${describe(frame)}`);
  try {
    return packr.unpack(frame);
  } catch (err) {
    throw new MessageDecodeError(`not valid msgpack (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

function fromPacked(raw: unknown, where: string): Message {
  if (!Array.isArray(raw)) throw new MessageDecodeError(`${where}: expected an array, got ${describe(raw)}`);
  if (raw[F.version] !== WIRE_VERSION) {
    throw new MessageDecodeError(
      `${where}: wire version ${describe(raw[F.version])} is not ${WIRE_VERSION}; the peer runs an incompatible shoal release`,
    );
  }
  if (raw.length < REQUIRED_FIELDS || raw.length > F.context + 1) {
    throw new MessageDecodeError(`${where}: expected ${REQUIRED_FIELDS} to ${F.context + 1} fields, got ${raw.length}`);
  }
  const type = raw[F.type];
  if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) {
    throw new MessageDecodeError(`${where}: unknown message type ${describe(type)}`);
  }
  if (isLocalMessage(type as MessageType)) throw new MessageDecodeError(`${where}: ${type} is a local message type`);
  const m: Message = {
    type: type as MessageType,
    from: str(raw[F.from], where, 'from'),
    to: str(raw[F.to], where, 'to'),
    term: uint(raw[F.term], where, 'term'),
    index: uint(raw[F.index], where, 'index'),
    logTerm: uint(raw[F.logTerm], where, 'logTerm'),
    entries: entries(raw[F.entries], where),
    commit: uint(raw[F.commit], where, 'commit'),
    reject: bool(raw[F.reject], where, 'reject'),
    rejectHint: uint(raw[F.rejectHint], where, 'rejectHint'),
  };
  const chunk = raw[F.chunk];
  if (chunk !== undefined && chunk !== null) m.chunk = snapshotChunk(chunk, where);
  const received = raw[F.received];
  if (received !== undefined && received !== null) m.received = uint(received, where, 'received');
  const force = raw[F.force];
  if (force !== undefined && force !== null) m.force = bool(force, where, 'force');
  const context = raw[F.context];
  if (context !== undefined && context !== null) m.context = bytes(context, where, 'context');
  return m;
}

function entries(raw: unknown, where: string): Entry[] {
  if (!(raw instanceof Uint8Array)) throw new MessageDecodeError(`${where}: entries must be binary, got ${describe(raw)}`);
  const out: Entry[] = [];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let o = 0, i = 0; o < raw.byteLength; i++) {
    const at = `${where} entry ${i}`;
    if (o + ENTRY_HEADER_BYTES > raw.byteLength) throw new MessageDecodeError(`${at}: truncated header`);
    const type = view.getUint8(o + 16);
    if (!ENTRY_TYPES.has(type)) throw new MessageDecodeError(`${at}: unknown entry type ${type}`);
    const length = view.getUint32(o + 17);
    const start = o + ENTRY_HEADER_BYTES;
    if (start + length > raw.byteLength) {
      throw new MessageDecodeError(`${at}: data of ${length} bytes runs past the end of the frame`);
    }
    out.push({
      term: uint(view.getFloat64(o), at, 'term'),
      index: uint(view.getFloat64(o + 8), at, 'index'),
      type: type as EntryType,
      data: raw.subarray(start, start + length),
    });
    o = start + length;
  }
  return out;
}

function snapshotChunk(raw: unknown, where: string): SnapshotChunk {
  const at = `${where} chunk`;
  if (!Array.isArray(raw) || raw.length !== 4) throw new MessageDecodeError(`${at}: expected 4 fields, got ${describe(raw)}`);
  const meta = raw[0];
  if (!Array.isArray(meta) || meta.length !== 4) {
    throw new MessageDecodeError(`${at}: metadata must have 4 fields, got ${describe(meta)}`);
  }
  const confState: ConfState = { voters: strList(meta[2], at, 'voters'), learners: strList(meta[3], at, 'learners') };
  const chunk: SnapshotChunk = {
    metadata: { index: uint(meta[0], at, 'index'), term: uint(meta[1], at, 'term'), confState },
    offset: uint(raw[1], at, 'offset'),
    total: uint(raw[2], at, 'total'),
    data: bytes(raw[3], at, 'data'),
  };
  if (chunk.offset + chunk.data.byteLength > chunk.total) {
    throw new MessageDecodeError(`${at}: offset ${chunk.offset} + ${chunk.data.byteLength} bytes exceeds total ${chunk.total}`);
  }
  return chunk;
}

function uint(v: unknown, where: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new MessageDecodeError(`${where}: ${field} must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

function str(v: unknown, where: string, field: string): string {
  if (typeof v !== 'string') throw new MessageDecodeError(`${where}: ${field} must be a string, got ${describe(v)}`);
  return v;
}

function bool(v: unknown, where: string, field: string): boolean {
  if (typeof v !== 'boolean') throw new MessageDecodeError(`${where}: ${field} must be a boolean, got ${describe(v)}`);
  return v;
}

function bytes(v: unknown, where: string, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new MessageDecodeError(`${where}: ${field} must be binary, got ${describe(v)}`);
  return v;
}

function strList(v: unknown, where: string, field: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new MessageDecodeError(`${where}: ${field} must be a list of strings, got ${describe(v)}`);
  }
  return v as string[];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined) return 'nothing';
  return typeof v;
}
