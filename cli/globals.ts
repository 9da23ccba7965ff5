// Options every command accepts. Commands read them through getGlobalOptions() so later
// commands (the HTTP client, the daemon) share one interpretation of -H and --log-level.

import { Option, type Command } from 'commander';
import { createLogger, type Logger } from '../shared/logger.js';

/** Where the CLI looks for the daemon, and where `shoal daemon` listens, without -H. */
export const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

export interface GlobalOptions {
  /** Daemon address (-H / SHOAL_HOST); undefined means the default local socket. */
  host: string | undefined;
  /** Log level (--log-level / SHOAL_LOG_LEVEL); undefined means the logger's default. */
  logLevel: string | undefined;
}

export function addGlobalOptions(program: Command): void {
  program
    .addOption(new Option('-H, --host <url>', `daemon address, e.g. tcp://127.0.0.1:2375 (default: ${DEFAULT_HOST})`).env('SHOAL_HOST'))
    .addOption(
      new Option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace, silent (logs go to stderr)').env(
        'SHOAL_LOG_LEVEL',
      ),
    );
}

/** Global options as seen from any (sub)command's action. */
export function getGlobalOptions(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{ host?: string; logLevel?: string }>();
  return { host: opts.host, logLevel: opts.logLevel };
}

/** A logger honouring --log-level, named after the command that runs. */
export function commandLogger(command: Command): Logger {
  const { logLevel } = getGlobalOptions(command);
  return createLogger({ level: logLevel, name: `cli.${command.name()}` });
}
