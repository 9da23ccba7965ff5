// The daemon itself, loaded only when `shoal daemon` runs: every other
// command starts faster without libp2p, fastify and the manager in memory.
import type { Command } from 'commander';
import { createApiServer, listen } from '../../manager/api/server.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { EXECUTOR_KINDS, isExecutorKind } from '../../worker/executor/index.js';
import type { DaemonCommandOptions } from './command.js';
import { DEFAULT_HOST, commandLogger, getGlobalOptions } from '../globals.js';
import { lockDataRoot } from './data-root.js';
import { Daemon } from './daemon.js';

export async function runDaemon(opts: DaemonCommandOptions, command: Command): Promise<void> {
  const log = commandLogger(command);
  const executor = opts.executor;
  if (!isExecutorKind(executor)) {
    throw new InvalidArgumentError(`unknown executor "${executor}"; use --executor ${EXECUTOR_KINDS.join(' or --executor ')}`);
  }
  const apiHost = getGlobalOptions(command).host ?? DEFAULT_HOST;
  const lock = await lockDataRoot(opts.dataRoot);
  let daemon: Daemon | undefined;
  let server: ReturnType<typeof createApiServer>;
  try {
    daemon = await Daemon.open({
      dataRoot: opts.dataRoot,
      logger: log,
      executor,
      runtime: opts.runtime,
      insecureRegistries: opts.insecureRegistry ?? [],
    });
    server = createApiServer({ backend: daemon, logger: log.child({ component: 'api' }), images: daemon.imageApi() });
    await listen(server, apiHost);
  } catch (err) {
    await daemon?.close().catch(() => undefined);
    await lock.release();
    throw err;
  }
  const running = daemon;
  log.info({ api: apiHost, dataRoot: opts.dataRoot, executor, pid: process.pid }, 'shoal daemon ready');
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
}
