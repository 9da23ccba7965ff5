// Structured logging. Logs go to stderr so that a CLI command's stdout carries only its
// output (tables, JSON) and stays safe to pipe into other programs.

import { pino, type Logger, type DestinationStream } from 'pino';
import { InvalidArgumentError } from './errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Minimum level; falls back to SHOAL_LOG_LEVEL, then 'info'. */
  level?: string;
  /** Component name, e.g. 'raft' or 'cli'; appears as `name` on every line. */
  name?: string;
  /** Where to write; defaults to stderr. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Resolve the level from the option, then the environment, then the default. */
export function resolveLogLevel(level?: string, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = (level ?? env['SHOAL_LOG_LEVEL'] ?? 'info').trim().toLowerCase();
  if (!isLogLevel(raw)) {
    // Checked here because pino's own "unknown level" error does not say what is accepted.
    throw new InvalidArgumentError(`invalid log level "${raw}" (--log-level or SHOAL_LOG_LEVEL); use one of ${LOG_LEVELS.join(', ')}`);
  }
  return raw;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = resolveLogLevel(options.level);
  // Synchronous writes: a CLI may exit right after logging, and async buffers would lose
  // the last lines. Log volume on stderr is small enough that this costs nothing measurable.
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  return pino({ level, ...(options.name !== undefined ? { name: options.name } : {}) }, destination);
}

export type { Logger };
