#!/usr/bin/env node
// The `shoal` command. Each command group lives in its own file and registers itself here.

import { Command, CommanderError } from 'commander';
import { ShoalError } from '../shared/errors.js';
import { resolveLogLevel } from '../shared/logger.js';
import { VERSION } from '../shared/version.js';
import { registerDemo } from './demo.js';
import { addGlobalOptions, getGlobalOptions } from './globals.js';
import { registerVersion } from './version.js';

function buildProgram(): Command {
  const program = new Command('shoal')
    .description('a Swarm-style container cluster')
    .version(VERSION, '-v, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    // Let the caller decide how to exit, so errors from actions and from parsing end the same way.
    .exitOverride();
  addGlobalOptions(program);
  // Reject a bad --log-level before any command runs, rather than at its first log line.
  program.hook('preAction', (_root, action) => {
    resolveLogLevel(getGlobalOptions(action).logLevel);
  });
  registerVersion(program);
  registerDemo(program);
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    // Commander already printed its message (or help/version) and picked an exit code.
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ShoalError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      return 1;
    }
    const detail = err instanceof Error ? (process.env['SHOAL_DEBUG'] ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`shoal: ${detail}\n`);
    return 1;
  }
}

// Set exitCode instead of calling exit() so pending stdout writes flush first.
process.exitCode = await main(process.argv);
