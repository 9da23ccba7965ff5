// The one msgpackr configuration the store uses for entries and snapshots.
// Records (msgpackr's shared structures) stay off: they make the bytes depend
// on what the packer saw before, and replicas must produce identical bytes.
import { Packr } from 'msgpackr';

// copyBuffers: decoded byte arrays get their own memory instead of pinning the
// whole entry or snapshot they came from.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Throws on malformed or trailing bytes; callers turn that into their own error. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
