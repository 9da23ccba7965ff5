// Content digests (`sha256:<hex>`) as the OCI specs define them.
import { createHash } from 'node:crypto';

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The hex part of `sha256:<hex>`, which names blob files and layer directories. */
export function digestHex(digest: string): string {
  const colon = digest.indexOf(':');
  return colon === -1 ? digest : digest.slice(colon + 1);
}

/** Docker's short ID: the first 12 hex characters. */
export function shortId(digest: string): string {
  return digestHex(digest).slice(0, 12);
}

export function isSha256Digest(s: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(s);
}
