// `shoal daemon`: run this host's daemon in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { createApiServer, listen } from '../../manager/api/server.js';
import { DEFAULT_HOST, commandLogger, getGlobalOptions } from '../globals.js';
import { lockDataRoot } from './data-root.js';
import { Daemon } from './daemon.js';

export const DEFAULT_DATA_ROOT = '/var/lib/shoal';

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the shoal daemon (one per host); -H sets where its API listens')
    .option('--data-root <dir>', 'where the daemon keeps its identity, swarm state and Raft log', DEFAULT_DATA_ROOT)
    .action(async (opts: { dataRoot: string }, command: Command) => {
      const log = commandLogger(command);
      const apiHost = getGlobalOptions(command).host ?? DEFAULT_HOST;
      const lock = await lockDataRoot(opts.dataRoot);
      let daemon: Daemon | undefined;
      let server: ReturnType<typeof createApiServer>;
      try {
        daemon = await Daemon.open({ dataRoot: opts.dataRoot, logger: log });
        server = createApiServer({ backend: daemon, logger: log.child({ component: 'api' }) });
        await listen(server, apiHost);
      } catch (err) {
        await daemon?.close().catch(() => undefined);
        await lock.release();
        throw err;
      }
      const running = daemon;
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
              await running.close();
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
