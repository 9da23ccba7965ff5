// The query of GET /services/{id}/logs and /tasks/{id}/logs, read as dockerd
// reads it (api/server/router/swarm/helpers.go, daemon/cluster/services.go),
// with dockerd's words for what it refuses.
import { InvalidArgumentError } from '../../shared/errors.js';
import { lenientBool } from '../api/query.js';
import type { LineFormat } from './docker-stream.js';
import type { LogsQuery } from './types.js';

export interface LogsHttpQuery {
  details?: string;
  follow?: string;
  stdout?: string;
  stderr?: string;
  since?: string;
  until?: string;
  timestamps?: string;
  tail?: string;
}

export interface ParsedLogsQuery {
  query: LogsQuery;
  format: LineFormat;
}

export const NO_STREAM_MESSAGE = 'Bad parameters: you must choose at least one stream';

export function parseLogsHttpQuery(q: LogsHttpQuery): ParsedLogsQuery {
  const stdout = lenientBool(q.stdout);
  const stderr = lenientBool(q.stderr);
  if (!stdout && !stderr) throw new InvalidArgumentError(NO_STREAM_MESSAGE);
  const query: LogsQuery = { follow: lenientBool(q.follow), stdout, stderr };
  const tail = parseTail(q.tail);
  if (tail !== undefined) query.tail = tail;
  const since = parseTimestampMs('since', q.since);
  if (since !== undefined) query.sinceMs = since;
  const until = parseTimestampMs('until', q.until);
  if (until !== undefined) query.untilMs = until;
  return { query, format: { details: lenientBool(q.details), timestamps: lenientBool(q.timestamps) } };
}

/** "all" or empty: every line; otherwise a count of lines per task. */
export function parseTail(raw: string | undefined): number | undefined {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'all') return undefined;
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('tail value must be a positive integer or "all"');
  const n = Number(v);
  if (n < 0) throw new InvalidArgumentError('negative tail values not supported');
  return n;
}

/**
 * Docker's API timestamps: unix seconds with an optional fraction
 * ("1700000000.123456789", what the docker CLI sends for --since), as ms.
 */
export function parseTimestampMs(name: string, raw: string | undefined): number | undefined {
  const v = raw ?? '';
  if (v === '') return undefined;
  const dot = v.indexOf('.');
  const secPart = dot === -1 ? v : v.slice(0, dot);
  const fracPart = dot === -1 ? '' : v.slice(dot + 1);
  const bad = (part: string): InvalidArgumentError =>
    new InvalidArgumentError(`could not parse ${name} timestamp: strconv.ParseInt: parsing ${JSON.stringify(part)}: invalid syntax`);
  if (!/^[+-]?\d+$/.test(secPart)) throw bad(secPart);
  if (dot !== -1 && !/^\d{1,9}$/.test(fracPart)) throw bad(fracPart);
  const seconds = Number(secPart);
  const nanos = fracPart === '' ? 0 : Number(fracPart.padEnd(9, '0'));
  return seconds * 1000 + nanos / 1e6;
}
