// Membership changes travel as ordinary log entries of type ConfChange.
import { pack, unpack } from 'msgpackr';
import { type ConfChange, ConfChangeType, type Entry, EntryType } from './types.js';

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return pack({ t: cc.type, n: cc.node, c: cc.context });
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const raw: unknown = unpack(data);
  if (typeof raw !== 'object' || raw === null) throw new Error('raft: malformed configuration change entry');
  const r = raw as { t?: unknown; n?: unknown; c?: unknown };
  if (typeof r.t !== 'number' || !(r.t in ConfChangeType) || typeof r.n !== 'string') {
    throw new Error('raft: malformed configuration change entry');
  }
  const cc: ConfChange = { type: r.t as ConfChangeType, node: r.n };
  if (r.c instanceof Uint8Array) cc.context = r.c;
  return cc;
}

export function isConfChangeEntry(e: Entry): boolean {
  return e.type === EntryType.ConfChange;
}
