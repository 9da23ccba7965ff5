// Shared helpers of the storage tests: temp directories, entries with
// recognisable data, a model of the Raft log to compare replays against, and
// a reader of the WAL's framing (the spec'd part of the format) for tests
// that damage files at record boundaries.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../../shared/random.js';
import { EntryType, type Entry } from '../../../manager/raft/types.js';

/** Runs `fn` with a fresh temp directory, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-storage-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes derived from (index, term, size): a replay that mixes entries up shows it. */
export function dataFor(index: number, term: number, size: number): Uint8Array {
  const rng = new SeededRandom(index * 7919 + term * 104729 + size);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.int(256);
  return data;
}

export function entry(index: number, term: number, size = 16, type = EntryType.Normal): Entry {
  return { index, term, type, data: dataFor(index, term, size) };
}

/** Entries from..to inclusive. */
export function entries(from: number, to: number, term: number, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

/** What the log must look like after a sequence of appends, computed independently of the WAL. */
export class LogModel {
  entries: Entry[] = [];

  append(batch: readonly Entry[]): void {
    for (const e of batch) {
      const first = this.entries[0]?.index ?? e.index;
      this.entries.length = Math.max(0, Math.min(this.entries.length, e.index - first));
      this.entries.push(e);
    }
  }

  get lastIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? 0;
  }

  after(index: number): Entry[] {
    return this.entries.filter((e) => e.index > index);
  }
}

/** WAL segment file names in sequence order. */
export async function segmentNames(walDir: string): Promise<string[]> {
  return (await readdir(walDir)).filter((n) => n.endsWith('.wal')).sort();
}

/** End offsets of the records framed as [u32 length][u32 crc][payload], starting at `from`. */
export function recordEnds(buf: Uint8Array, from: number): number[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ends: number[] = [];
  let at = from;
  while (at + 8 <= buf.length) {
    const end = at + 8 + view.getUint32(at, true);
    if (end > buf.length) break;
    ends.push(end);
    at = end;
  }
  return ends;
}

/** Collects onWarning messages. */
export function warnings(): { messages: string[]; onWarning: (m: string) => void } {
  const messages: string[] = [];
  return { messages, onWarning: (m: string) => messages.push(m) };
}
