// What every command action needs besides its flags: where to print, and a client for the
// daemon named by -H / SHOAL_HOST. Passing these in (rather than using process.stdout and
// a module-level client) lets tests run the whole CLI in-process and read its output.

import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';
import { ShoalError } from '../../shared/errors.js';
import { getGlobalOptions } from '../globals.js';
import { DaemonClient, type DaemonClientOptions } from '../http-client.js';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export interface CommandContext {
  readonly io: CliIO;
  /** A client for the daemon this command talks to; closed when the command ends. */
  client(command: Command): DaemonClient;
}

export interface OwnedContext extends CommandContext {
  /** Closes every client handed out. */
  close(): Promise<void>;
}

export function createContext(io: CliIO, clientOptions: Omit<DaemonClientOptions, 'host'> = {}): OwnedContext {
  const clients: DaemonClient[] = [];
  return {
    io,
    client(command) {
      const client = new DaemonClient({ ...clientOptions, host: getGlobalOptions(command).host });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    },
  };
}

/** An error whose message is already worded for the terminal (several lines, each one complete). */
export class PreformattedError extends ShoalError {
  constructor(message: string) {
    super('failed', message, 500);
  }
}

/** `--format json` (docker's --format takes Go templates; shoal offers the raw API JSON). */
export function formatOption(flags = '--format <format>'): Option {
  return new Option(flags, 'output format: "json" prints the API\'s JSON').choices(['json']);
}

export function printJson(io: CliIO, value: unknown, indent?: number): void {
  io.out(`${JSON.stringify(value, null, indent)}\n`);
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new CommanderArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** Like Go's int64 flags: negative numbers allowed. */
export function integer(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n)) throw new CommanderArgumentError(`expected an integer, got "${value}"`);
  return n;
}

/** Turns a thrown Error into commander's "option ... argument ... is invalid" message. */
export function asOptionParser<T, P = T>(parse: (value: string, previous: P) => T): (value: string, previous: P) => T {
  return (value, previous) => {
    try {
      return parse(value, previous);
    } catch (err) {
      throw new CommanderArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}
