// `shoal daemon`: run this host's daemon in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { createApiServer, listen } from '../../manager/api/server.js';
import { commandLogger, getGlobalOptions } from '../globals.js';
import { lockDataRoot } from './data-root.js';
import { Daemon } from './daemon.js';

export const DEFAULT_DATA_ROOT = '/var/lib/shoal';
export const DEFAULT_API_HOST = 'unix:///run/shoal/shoal.sock';

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the shoal daemon (one per host); -H sets where its API listens')
    .option('--data-root <dir>', 'where the daemon keeps its identity, swarm state and Raft log', DEFAULT_DATA_ROOT)
    .action(async (opts: { dataRoot: string }, command: Command) => {
      const log = commandLogger(command);
      const apiHost = getGlobalOptions(command).host ?? DEFAULT_API_HOST;
      const lock = await lockDataRoot(opts.dataRoot);
      const daemon = await Daemon.open({ dataRoot: opts.dataRoot, logger: log });
      const server = createApiServer({ backend: daemon, logger: log.child({ component: 'api' }) });
      await listen(server, apiHost);
      log.info({ api: apiHost, dataRoot: opts.dataRoot, pid: process.pid }, 'shoal daemon ready');
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals): void => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, 'stopping');
          void (async () => {
            try {
              await server.close();
              await daemon.close();
            } catch (err) {
              log.error({ err }, 'error while stopping');
            } finally {
              await lock.release();
              resolve();
            }
          })();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
