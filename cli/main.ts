#!/usr/bin/env node
// The `shoal` command. Each command group lives in its own file and registers itself here.
// run() is the whole CLI as a function of its arguments and output streams, so tests can
// drive it in-process; the bottom of this file runs it when this module is the entry point.

import { Command, CommanderError } from 'commander';
import { resolveLogLevel } from '../shared/logger.js';
import { VERSION } from '../shared/version.js';
import { createContext, processIO, type CliIO, type CommandContext } from './commands/context.js';
import { describeError } from './commands/errors.js';
import { registerImage } from './commands/image.js';
import { registerInfo } from './commands/info.js';
import { registerNetwork } from './commands/network.js';
import { registerNode } from './commands/node.js';
import { registerService } from './commands/service.js';
import { registerSwarm } from './commands/swarm.js';
import { registerDaemon } from './daemon/command.js';
import { registerDemo } from './demo.js';
import { addGlobalOptions, getGlobalOptions } from './globals.js';
import type { DaemonClientOptions } from './http-client.js';
import { registerVersion } from './version.js';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('shoal')
    .description('a Swarm-style container cluster')
    .version(VERSION, '-v, --version', 'print the version and exit')
    // Before any subcommand exists: subcommands copy these settings when created.
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) })
    .showHelpAfterError('(run with --help for usage)')
    // Let the caller decide how to exit, so errors from actions and from parsing end the same way.
    .exitOverride();
  addGlobalOptions(program);
  // Reject a bad --log-level before any command runs, rather than at its first log line.
  program.hook('preAction', (_root, action) => {
    resolveLogLevel(getGlobalOptions(action).logLevel);
  });
  registerSwarm(program, ctx);
  registerNode(program, ctx);
  registerService(program, ctx);
  registerNetwork(program, ctx);
  registerImage(program, ctx);
  registerInfo(program, ctx);
  registerVersion(program, ctx);
  registerDemo(program);
  registerDaemon(program);
  return program;
}

export interface RunOptions {
  io?: CliIO;
  /** Timeouts for the daemon client (tests shorten them). */
  client?: Omit<DaemonClientOptions, 'host'>;
}

/** Runs `shoal <args...>` and resolves to its exit code; output goes to `io`. */
export async function run(args: readonly string[], opts: RunOptions = {}): Promise<number> {
  const io = opts.io ?? processIO;
  const ctx = createContext(io, opts.client);
  try {
    await buildProgram(ctx).parseAsync([...args], { from: 'user' });
    return 0;
  } catch (err) {
    // Commander already printed its message (or help/version) and picked an exit code.
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`${describeError(err)}\n`);
    return 1;
  } finally {
    await ctx.close();
  }
}

if (import.meta.main) {
  // Set exitCode instead of calling exit() so pending stdout writes flush first.
  process.exitCode = await run(process.argv.slice(2));
}
