// Docker's json-file log format: one JSON object per line,
// {"log":"hello\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"},
// in container.log, rotated to container.log.1, .2, ... (oldest highest).
// Pure: encoding, parsing, the rotation names and the driver options.
import { InvalidArgumentError } from '../../../shared/errors.js';
import type { TaskSpec } from '../../../shared/model/index.js';

export const LOG_FILE = 'container.log';
export const DEFAULT_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 3;
/** Docker cuts a line without a newline into pieces of this size. */
export const MAX_LINE_BYTES = 16 * 1024;

export type LogStream = 'stdout' | 'stderr';

export interface LogRotation {
  /** Rotate once the current file would grow past this. */
  maxSize: number;
  /** Files kept, the current one included (1: truncate in place). */
  maxFiles: number;
}

export interface ParsedLine {
  stream: LogStream;
  /** As written: RFC 3339, UTC, nine fraction digits. */
  time: string;
  /** Unix ms, for since/until. */
  timeMs: number;
  log: string;
}

/** `10m`, `512k`, `1g` or bytes, as Docker's json-file `max-size` (binary units). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(s);
  if (m === null) throw new InvalidArgumentError(`invalid log max-size "${s}"; use a size such as 10m or 512k`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.floor(Number(m[1]) * mult);
  if (n <= 0) throw new InvalidArgumentError(`invalid log max-size "${s}"; it must be more than 0`);
  return n;
}

/**
 * Rotation from the task's LogDriver (json-file, or none named): Docker's
 * `max-size` and `max-file` options, with shoal's defaults (10 MiB, 3 files)
 * so a chatty task cannot fill the disk.
 */
export function logRotation(driver: TaskSpec['LogDriver']): LogRotation {
  const out: LogRotation = { maxSize: DEFAULT_MAX_SIZE, maxFiles: DEFAULT_MAX_FILES };
  const name = driver?.Name;
  if (name !== undefined && name !== '' && name !== 'json-file') {
    throw new InvalidArgumentError(`log driver "${name}" is not supported by shoal's oci executor; use json-file`);
  }
  const opts = driver?.Options ?? {};
  if (opts['max-size'] !== undefined) out.maxSize = parseSize(opts['max-size']);
  if (opts['max-file'] !== undefined) {
    const n = Number(opts['max-file']);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`invalid log max-file "${opts['max-file']}"; use a whole number of at least 1`);
    out.maxFiles = n;
  }
  return out;
}

/** Every log file, oldest first: container.log.<maxFiles-1> ... container.log.1, container.log. */
export function logFileNames(maxFiles: number): string[] {
  const out: string[] = [];
  for (let i = maxFiles - 1; i >= 1; i--) out.push(`${LOG_FILE}.${i}`);
  out.push(LOG_FILE);
  return out;
}

/** The renames a rotation does, in order (the oldest file is overwritten by the one before it). */
export function rotationRenames(maxFiles: number): Array<{ from: string; to: string }> {
  const out: Array<{ from: string; to: string }> = [];
  for (let i = maxFiles - 1; i >= 1; i--) out.push({ from: i === 1 ? LOG_FILE : `${LOG_FILE}.${i - 1}`, to: `${LOG_FILE}.${i}` });
  return out;
}

/** Nanoseconds since the epoch as RFC 3339 with nine fraction digits, as `docker logs -t` prints. */
export function formatTimeNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

/** Any RFC 3339 UTC time as nine fraction digits (Docker trims trailing zeros in its files). */
export function normalizeTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(t);
  if (m === null) return t;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

export function encodeLine(stream: LogStream, log: string, time: string): string {
  return `${JSON.stringify({ log, stream, time })}\n`;
}

/** One line of a json-file log; undefined for a line that is not one (a torn write, garbage). */
export function parseLine(line: string): ParsedLine | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['log'] !== 'string' || typeof o['time'] !== 'string') return undefined;
  if (o['stream'] !== 'stdout' && o['stream'] !== 'stderr') return undefined;
  const timeMs = Date.parse(o['time']);
  if (Number.isNaN(timeMs)) return undefined;
  return { stream: o['stream'], time: normalizeTime(o['time']), timeMs, log: o['log'] };
}

/**
 * Splits a stream's output into log lines: complete lines keep their newline;
 * a piece without one is held until more comes, or cut at MAX_LINE_BYTES.
 */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl >= 0 && nl < MAX_LINE_BYTES) {
        out.push(buf.subarray(0, nl + 1));
        buf = buf.subarray(nl + 1);
      } else if (buf.length >= MAX_LINE_BYTES) {
        out.push(buf.subarray(0, MAX_LINE_BYTES));
        buf = buf.subarray(MAX_LINE_BYTES);
      } else {
        break;
      }
    }
    this.pending = Buffer.from(buf);
    return out;
  }

  /** Whatever is left when the stream ends. */
  end(): Buffer[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest.length > 0 ? [rest] : [];
  }
}
