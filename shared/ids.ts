// Identifiers shaped like swarmkit's: 25 lowercase base-36 characters from
// 128 random bits, so IDs look familiar to Docker users and prefixes work.
import { randomBytes } from 'node:crypto';

const ID_LENGTH = 25;

export function newObjectId(bytes: (n: number) => Uint8Array = randomBytes): string {
  let n = 0n;
  for (const b of bytes(16)) n = (n << 8n) | BigInt(b);
  return n.toString(36).padStart(ID_LENGTH, '0').slice(-ID_LENGTH);
}

/** A Raft member id: random so that ids of removed members are never reused by accident. */
export function newRaftId(bytes: (n: number) => Uint8Array = randomBytes): number {
  const b = bytes(6);
  let n = 0;
  for (const x of b) n = n * 256 + x;
  // Zero means "none" in the Raft core.
  return n === 0 ? 1 : n;
}

/** RFC 3339 with nanoseconds, the way Docker prints CreatedAt/UpdatedAt. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}
