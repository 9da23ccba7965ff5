// The logs protocol (/shoal/logs/1): a manager asks a node for the output of
// some of its tasks, one stream per node per request.
//
//   manager                                        node (worker/agent/log-server.ts)
//   request {taskIds, follow, tail, ...}  ──▶
//                                         ◀──      entries {entries: [...]}   (batches, ≤ 1 MiB)
//                                         ◀──      error {taskId, message}     (one task's output failed; others go on)
//                                         ◀──      end                         (everything sent)
//
// The manager keeps its end open while it wants lines: closing or resetting
// it (the HTTP client went away) stops the node. A request the node cannot
// serve at all is answered with an error frame without taskId, then the
// stream closes. Backpressure is the stream's own: the node reads its
// executor no faster than the manager drains the stream.
//
// Both sides validate what they receive (parseLogsRequest, parseLogsFrame),
// with bounds on every list and string. Below the messages: log times (to
// the nanosecond, and Docker's fixed format) and the ways both sides combine
// lines of many tasks or nodes (mergeSorted, fanIn) and batch them (batches).
import { InvalidArgumentError } from '../errors.js';

export const PROTOCOL_LOGS = '/shoal/logs/1';

/** Largest frame either side sends or accepts on this protocol. */
export const MAX_LOGS_FRAME_BYTES = 1024 * 1024;
/** Task IDs per request: a request stays far below the frame bound; more go in further streams. */
export const MAX_TASKS_PER_LOGS_REQUEST = 10_000;
/** Bytes of one entry's line: a longer line travels as several entries. */
export const MAX_LOG_LINE_BYTES = 256 * 1024;
/** Entries per frame. */
export const MAX_ENTRIES_PER_FRAME = 20_000;
/** What a batch of entries may weigh before it is sent: the frame bound less room for the envelope. */
export const LOGS_BATCH_BYTES = MAX_LOGS_FRAME_BYTES - 16 * 1024;

/** 1 = stdout, 2 = stderr: the stream types of Docker's multiplexed stream. */
export type WireStream = 1 | 2;

export interface LogsRequest {
  type: 'request';
  taskIds: string[];
  follow: boolean;
  /** Last N lines per task; absent: all. */
  tail?: number;
  /** Unix ms: lines at or after. */
  sinceMs?: number;
  /** Unix ms: lines before. */
  untilMs?: number;
  stdout: boolean;
  stderr: boolean;
}

export interface WireLogEntry {
  taskId: string;
  stream: WireStream;
  /** RFC 3339 with nanoseconds, as the executor recorded it. */
  time: string;
  line: Uint8Array;
}

export interface EntriesFrame {
  type: 'entries';
  entries: WireLogEntry[];
}

/** With taskId: that task's output could not be read (the rest goes on). Without: the whole request failed. */
export interface ErrorFrame {
  type: 'error';
  message: string;
  taskId?: string;
}

export interface EndFrame {
  type: 'end';
}

export type LogsFrame = EntriesFrame | ErrorFrame | EndFrame;

// --- validation ----------------------------------------------------------------

type Obj = Record<string, unknown>;
const ID_MAX = 128;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`${what} must be an object`);
  return v as Obj;
}
function str(o: Obj, k: string, what: string, max: number): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max) throw new InvalidArgumentError(`${what}.${k} must be a string of at most ${max} characters`);
  return v;
}
function bool(o: Obj, k: string, what: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what}.${k} must be true or false`);
  return v;
}
function optNum(o: Obj, k: string, what: string, integer: boolean): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new InvalidArgumentError(`${what}.${k} must be a ${integer ? 'whole ' : ''}number of at least 0`);
  }
  return v;
}
function list(o: Obj, k: string, what: string, max: number): unknown[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length > max) throw new InvalidArgumentError(`${what}.${k} must be a list of at most ${max} items`);
  return v;
}

export function parseLogsRequest(v: unknown): LogsRequest {
  const what = 'logs request';
  const o = obj(v, what);
  if (o['type'] !== 'request') throw new InvalidArgumentError(`${what}.type must be "request"`);
  const taskIds = list(o, 'taskIds', what, MAX_TASKS_PER_LOGS_REQUEST).map((id, i) => {
    if (typeof id !== 'string' || id === '' || id.length > ID_MAX) throw new InvalidArgumentError(`${what}.taskIds[${i}] must be a task ID`);
    return id;
  });
  const req: LogsRequest = { type: 'request', taskIds, follow: bool(o, 'follow', what), stdout: bool(o, 'stdout', what), stderr: bool(o, 'stderr', what) };
  const tail = optNum(o, 'tail', what, true);
  if (tail !== undefined) req.tail = tail;
  const since = optNum(o, 'sinceMs', what, false);
  if (since !== undefined) req.sinceMs = since;
  const until = optNum(o, 'untilMs', what, false);
  if (until !== undefined) req.untilMs = until;
  return req;
}

function parseEntry(v: unknown, i: number): WireLogEntry {
  const what = `entries[${i}]`;
  const o = obj(v, what);
  const stream = o['stream'];
  if (stream !== 1 && stream !== 2) throw new InvalidArgumentError(`${what}.stream must be 1 (stdout) or 2 (stderr)`);
  const time = str(o, 'time', what, 64);
  if (!RFC3339.test(time)) throw new InvalidArgumentError(`${what}.time must be an RFC 3339 time, got "${time}"`);
  const line = o['line'];
  if (!(line instanceof Uint8Array) || line.byteLength > MAX_LOG_LINE_BYTES) {
    throw new InvalidArgumentError(`${what}.line must be bytes, at most ${MAX_LOG_LINE_BYTES}`);
  }
  return { taskId: str(o, 'taskId', what, ID_MAX), stream, time, line };
}

export function parseLogsFrame(v: unknown): LogsFrame {
  const what = 'logs frame';
  const o = obj(v, what);
  switch (o['type']) {
    case 'entries':
      return { type: 'entries', entries: list(o, 'entries', what, MAX_ENTRIES_PER_FRAME).map(parseEntry) };
    case 'error': {
      const f: ErrorFrame = { type: 'error', message: str(o, 'message', what, 64 * 1024) };
      if (o['taskId'] !== undefined) f.taskId = str(o, 'taskId', what, ID_MAX);
      return f;
    }
    case 'end':
      return { type: 'end' };
    default:
      throw new InvalidArgumentError(`${what}.type must be entries, error or end`);
  }
}

/** About what an entry adds to a frame: its bytes plus msgpack's keys and headers. */
export function entryWireBytes(e: WireLogEntry): number {
  return e.line.byteLength + e.taskId.length + e.time.length + 48;
}

/** A line too long for one entry, as several (Docker's log drivers split long lines too). */
export function splitLine(line: Uint8Array, max = MAX_LOG_LINE_BYTES): Uint8Array[] {
  if (line.byteLength <= max) return [line];
  const out: Uint8Array[] = [];
  for (let at = 0; at < line.byteLength; at += max) out.push(line.subarray(at, Math.min(at + max, line.byteLength)));
  return out;
}

// --- time ----------------------------------------------------------------------

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** Nanoseconds since the epoch of an RFC 3339 time: the order of log lines, finer than Date's ms. */
export function logTimeNs(time: string): bigint {
  const m = RFC3339.exec(time);
  const ms = m ? Date.parse(`${m[1]}${m[3]!.toUpperCase()}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new InvalidArgumentError(`"${time}" is not an RFC 3339 time`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Docker's RFC3339NanoFixed in UTC (always nine fraction digits), as `--timestamps` prints. */
export function formatLogTimeFixed(ns: bigint): string {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n;
  const frac = ns - seconds * 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${base}.${frac.toString().padStart(9, '0')}Z`;
}

/** Unix ms as RFC 3339 with nanoseconds (UTC), plus `extraNs` nanoseconds to order lines written in one ms. */
export function formatLogTime(ms: number, extraNs = 0): string {
  const whole = Math.floor(ms);
  const ns = BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6)) + BigInt(extraNs);
  return formatLogTimeFixed(ns);
}

// --- combining ordered sources ---------------------------------------------------

/**
 * Items of sorted sources in one sorted sequence (ties: the earlier source
 * first). Reads each source one item ahead, no more; stopping early closes them.
 */
export async function* mergeSorted<T>(sources: readonly AsyncIterable<T>[], keyOf: (item: T) => bigint): AsyncGenerator<T, void, undefined> {
  const its = sources.map((s) => s[Symbol.asyncIterator]());
  const heads: Array<{ item: T; key: bigint } | undefined> = new Array<undefined>(its.length).fill(undefined);
  const pull = async (i: number): Promise<void> => {
    const r = await its[i]!.next();
    heads[i] = r.done ? undefined : { item: r.value, key: keyOf(r.value) };
  };
  let open = its.map((_, i) => i);
  try {
    await Promise.all(open.map(pull));
    open = open.filter((i) => heads[i] !== undefined);
    while (open.length > 0) {
      let best = open[0]!;
      for (const i of open) if (heads[i]!.key < heads[best]!.key) best = i;
      yield heads[best]!.item;
      await pull(best);
      if (heads[best] === undefined) open = open.filter((i) => i !== best);
    }
  } finally {
    closeAll(its);
  }
}

/**
 * Items of several sources as they come, each read one item ahead, no more,
 * so a slow consumer holds every source back instead of buffering. `more`
 * brings sources that join while it runs (a followed service's new tasks).
 * Ends when every source, and `more`, has.
 */
export async function* fanIn<T>(
  initial: readonly AsyncIterable<T>[],
  more?: AsyncIterable<AsyncIterable<T>>,
): AsyncGenerator<T, void, undefined> {
  type Step = { kind: 'item'; it: AsyncIterator<T>; r: IteratorResult<T> } | { kind: 'source'; r: IteratorResult<AsyncIterable<T>> };
  const pending = new Map<object, Promise<Step>>();
  // Live sources only: a long follow sees many tasks come and go.
  const its = new Set<AsyncIterator<T>>();
  const arm = (it: AsyncIterator<T>): void => {
    const p = it.next().then((r): Step => ({ kind: 'item', it, r }));
    // A source failing after the consumer stopped must not become an unhandled rejection.
    p.catch(() => undefined);
    pending.set(it, p);
  };
  const add = (source: AsyncIterable<T>): void => {
    const it = source[Symbol.asyncIterator]();
    its.add(it);
    arm(it);
  };
  const sources = more?.[Symbol.asyncIterator]();
  const armSources = (): void => {
    if (!sources) return;
    const p = sources.next().then((r): Step => ({ kind: 'source', r }));
    p.catch(() => undefined);
    pending.set(sources, p);
  };
  for (const s of initial) add(s);
  armSources();
  try {
    while (pending.size > 0) {
      const step = await Promise.race(pending.values());
      if (step.kind === 'source') {
        pending.delete(sources!);
        if (step.r.done) continue;
        add(step.r.value);
        armSources();
        continue;
      }
      pending.delete(step.it);
      if (step.r.done) {
        its.delete(step.it);
        continue;
      }
      yield step.r.value;
      arm(step.it);
    }
  } finally {
    closeAll([...its]);
    if (sources) closeAll([sources]);
  }
}

/** Closes iterators without waiting: one busy in a pending next() closes once that settles. */
function closeAll<T>(its: readonly AsyncIterator<T>[]): void {
  for (const it of its) {
    try {
      void it.return?.()?.catch(() => undefined);
    } catch {
      // Closing is best effort.
    }
  }
}

export interface BatchOptions<T> {
  /** A batch is sent once it weighs this much. */
  maxBytes: number;
  maxItems: number;
  /** ...or once its first item waited this long. */
  maxDelayMs: number;
  sizeOf: (item: T) => number;
}

/**
 * Groups a source's items into batches by weight and age, so a backlog
 * travels in large frames and a followed line leaves within maxDelayMs.
 */
export async function* batches<T>(source: AsyncIterable<T>, o: BatchOptions<T>): AsyncGenerator<T[], void, undefined> {
  const it = source[Symbol.asyncIterator]();
  let batch: T[] = [];
  let bytes = 0;
  let pending: Promise<IteratorResult<T>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let aged: Promise<'aged'> | undefined;
  try {
    for (;;) {
      pending ??= it.next();
      let r: IteratorResult<T> | 'aged';
      if (batch.length === 0) r = await pending;
      else {
        aged ??= new Promise((resolve) => (timer = setTimeout(() => resolve('aged'), o.maxDelayMs)));
        r = await Promise.race([pending, aged]);
      }
      if (r === 'aged') {
        aged = undefined;
        yield batch;
        batch = [];
        bytes = 0;
        continue;
      }
      pending = undefined;
      if (r.done) break;
      const size = o.sizeOf(r.value);
      // Never over maxBytes: what is held goes first when this item would not fit.
      if (batch.length > 0 && bytes + size > o.maxBytes) {
        clearTimeout(timer);
        aged = undefined;
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(r.value);
      bytes += size;
      if (bytes >= o.maxBytes || batch.length >= o.maxItems) {
        clearTimeout(timer);
        aged = undefined;
        yield batch;
        batch = [];
        bytes = 0;
      }
    }
    clearTimeout(timer);
    if (batch.length > 0) yield batch;
  } finally {
    clearTimeout(timer);
    if (pending !== undefined) {
      pending.catch(() => undefined);
      void it.return?.()?.catch(() => undefined);
    } else await it.return?.();
  }
}
