// A small key-value state machine: what the integration tests, the benchmark
// and `shoal demo raft` replicate. The real store (manager/store) replaces it
// in the daemon; this one exists to exercise the Raft driver end to end.
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { StateMachine } from './node.js';
import type { Entry } from './types.js';

const packr = new Packr({ useRecords: false });

/** The bytes to propose for `key = value`. */
export function encodePut(key: string, value: string): Uint8Array {
  return packr.pack([key, value]);
}

export class KvStateMachine implements StateMachine {
  readonly data = new Map<string, string>();
  /** Index of the last entry applied (or restored from a snapshot). */
  lastIndex = 0;

  /** Returns the key's previous value (undefined if it was unset). */
  apply(entry: Entry): string | undefined {
    let decoded: unknown;
    try {
      decoded = packr.unpack(entry.data);
    } catch {
      decoded = undefined;
    }
    if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'string' || typeof decoded[1] !== 'string') {
      // Thrown before any change, so every replica rejects it the same way.
      throw new Error(`entry ${entry.index} is not a key-value put; propose encodePut(key, value)`);
    }
    const [key, value] = decoded as [string, string];
    const previous = this.data.get(key);
    this.data.set(key, value);
    this.lastIndex = entry.index;
    return previous;
  }

  snapshot(): Uint8Array {
    return packr.pack([this.lastIndex, [...this.data]]);
  }

  restore(bytes: Uint8Array): void {
    this.data.clear();
    this.lastIndex = 0;
    if (bytes.byteLength === 0) return;
    const [lastIndex, pairs] = packr.unpack(bytes) as [number, [string, string][]];
    this.lastIndex = lastIndex;
    for (const [k, v] of pairs) this.data.set(k, v);
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  /** A fingerprint of the contents: equal digests mean equal states. */
  digest(): string {
    const h = createHash('sha256');
    for (const k of [...this.data.keys()].sort()) h.update(`${k.length}:${k}=${this.data.get(k)!.length}:${this.data.get(k)!}\n`);
    return h.digest('hex').slice(0, 16);
  }
}
