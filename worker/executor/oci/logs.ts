// Reads a container's json-file log (rotated files first, oldest first) with
// Docker's tail/since/until, and follows it: new lines as the monitor writes
// them (fs.watch on the log directory), across rotations, until the
// container has exited and the last line was sent.
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogEntry, LogOptions } from '../executor.js';
import { LOG_FILE, parseLine, type ParsedLine } from './json-log.js';

export interface LogSource {
  logDir: string;
  /** Whether the container may still write: follow only then. */
  running: boolean;
  /** Resolves once the container has exited (its output is then all written). */
  exited: (signal: AbortSignal) => Promise<unknown>;
}

const CHUNK = 64 * 1024;

/** The rotated files present, oldest first (container.log.3, .2, .1), without the current one. */
export function rotatedFiles(names: readonly string[]): string[] {
  return names
    .map((n) => ({ n, m: /^container\.log\.(\d+)$/.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]))
    .map((x) => x.n);
}

/** Whether a line passes since/until (unix ms; since inclusive, until exclusive). */
export function inWindow(l: ParsedLine, o: Pick<LogOptions, 'sinceMs' | 'untilMs'>): boolean {
  return (o.sinceMs === undefined || l.timeMs >= o.sinceMs) && (o.untilMs === undefined || l.timeMs < o.untilMs);
}

function entry(l: ParsedLine): LogEntry {
  return { stream: l.stream, time: l.time, line: Buffer.from(l.log, 'utf8') };
}

/** Parses whole lines out of a growing byte stream. */
class LineBuffer {
  private rest: Buffer = Buffer.alloc(0);

  push(b: Buffer): ParsedLine[] {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, b]) : b;
    const out: ParsedLine[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      const l = parseLine(buf.subarray(start, nl).toString('utf8'));
      if (l !== undefined) out.push(l);
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return out;
  }

  reset(): void {
    this.rest = Buffer.alloc(0);
  }
}

class Cursor {
  private pos = 0;
  private readonly lines = new LineBuffer();

  constructor(
    private fh: FileHandle,
    private readonly path: string,
  ) {}

  static async open(path: string): Promise<Cursor | undefined> {
    try {
      return new Cursor(await open(path, 'r'), path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Everything from where it was to the end of the file. */
  async read(): Promise<ParsedLine[]> {
    const out: ParsedLine[] = [];
    const buf = Buffer.alloc(CHUNK);
    const size = (await this.fh.stat()).size;
    // Truncated in place (rotation with a single file): start again.
    if (size < this.pos) {
      this.pos = 0;
      this.lines.reset();
    }
    for (;;) {
      const { bytesRead } = await this.fh.read(buf, 0, CHUNK, this.pos);
      if (bytesRead === 0) break;
      this.pos += bytesRead;
      out.push(...this.lines.push(buf.subarray(0, bytesRead)));
    }
    return out;
  }

  /** After rotation the path names a new file: finish the old one, then switch. */
  async followRotation(): Promise<ParsedLine[]> {
    let renamed: boolean;
    try {
      renamed = (await stat(this.path)).ino !== (await this.fh.stat()).ino;
    } catch {
      return [];
    }
    if (!renamed) return [];
    const out = await this.read();
    const next = await Cursor.open(this.path);
    if (next === undefined) return out;
    await this.fh.close();
    this.fh = next.fh;
    this.pos = 0;
    this.lines.reset();
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

async function readWhole(path: string): Promise<ParsedLine[]> {
  const c = await Cursor.open(path);
  if (c === undefined) return [];
  try {
    return await c.read();
  } finally {
    await c.close();
  }
}

export async function* readLogs(src: LogSource, opts: LogOptions, signal: AbortSignal): AsyncGenerator<LogEntry> {
  const currentPath = join(src.logDir, LOG_FILE);
  let names: string[];
  try {
    names = await readdir(src.logDir);
  } catch {
    return;
  }
  // The current file first: a rotation from here on is then seen by the cursor, not lost between files.
  const cursor = await Cursor.open(currentPath);
  try {
    let history: ParsedLine[] = [];
    for (const name of rotatedFiles(names)) history.push(...(await readWhole(join(src.logDir, name))));
    if (cursor !== undefined) history.push(...(await cursor.read()));
    history = history.filter((l) => inWindow(l, opts));
    if (opts.tail !== undefined) history = opts.tail <= 0 ? [] : history.slice(-opts.tail);
    for (const l of history) {
      if (signal.aborted) return;
      yield entry(l);
    }
    if (!opts.follow || !src.running || cursor === undefined || signal.aborted) return;
    if (opts.untilMs !== undefined && Date.now() >= opts.untilMs) return;
    yield* follow(src, cursor, opts, signal);
  } finally {
    await cursor?.close();
  }
}

async function* follow(src: LogSource, cursor: Cursor, opts: LogOptions, signal: AbortSignal): AsyncGenerator<LogEntry> {
  let wake: (() => void) | undefined;
  let dirty = false;
  const poke = (): void => {
    dirty = true;
    const w = wake;
    wake = undefined;
    w?.();
  };
  let exited = false;
  const stopWaiting = new AbortController();
  const onAbort = (): void => {
    stopWaiting.abort();
    poke();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  src.exited(stopWaiting.signal).then(
    () => {
      exited = true;
      poke();
    },
    () => undefined,
  );
  let watcher: FSWatcher | undefined;
  const untilTimer = opts.untilMs !== undefined ? setTimeout(poke, Math.max(0, opts.untilMs - Date.now())) : undefined;
  try {
    watcher = watch(src.logDir, poke);
    watcher.on('error', poke);
    for (;;) {
      dirty = false;
      const done = exited;
      const lines = [...(await cursor.followRotation()), ...(await cursor.read())];
      for (const l of lines) {
        if (signal.aborted) return;
        if (opts.untilMs !== undefined && l.timeMs >= opts.untilMs) return;
        if (inWindow(l, opts)) yield entry(l);
      }
      // Everything written before the exit was seen was read in this pass.
      if (done || signal.aborted) return;
      if (opts.untilMs !== undefined && Date.now() >= opts.untilMs) return;
      if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    clearTimeout(untilTimer);
    watcher?.close();
    stopWaiting.abort();
    signal.removeEventListener('abort', onAbort);
  }
}
