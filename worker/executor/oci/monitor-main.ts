// Entry point of the container monitor process, which the executor starts
// detached (monitor-launch.ts):
//   node monitor-main.js --data-root <dir> --runtime <path-to-runc>
// One per data root: a Linux abstract unix socket named after the data root
// is the lock (the kernel frees it however the process dies). Readiness is
// told on fd 3 when the launcher passed one: `ready` or `busy` (another
// monitor holds the lock).
import { createHash } from 'node:crypto';
import { closeSync, writeSync } from 'node:fs';
import { mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createLogger } from '../../../shared/logger.js';
import { Monitor } from './monitor.js';
import { monitorPaths } from './monitor-paths.js';
import { serveMonitor } from './monitor-server.js';

const IDLE_CHECK_MS = 5000;
const IDLE_CHECKS_BEFORE_EXIT = 2;

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined || v === '') {
    process.stderr.write(`usage: monitor-main.js --data-root <dir> --runtime <runc>\n(missing ${name})\n`);
    process.exit(2);
  }
  return v;
}

function tell(word: string): void {
  try {
    writeSync(3, `${word}\n`);
    closeSync(3);
  } catch {
    // started by hand, without a readiness pipe
  }
}

function lock(root: string): Promise<Server | undefined> {
  const name = `\0shoal-oci-monitor-${createHash('sha256').update(root).digest('hex').slice(0, 32)}`;
  return new Promise((resolve, reject) => {
    const server = createServer((s) => s.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen({ path: name, exclusive: true }, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const dataRoot = await realpath(arg('--data-root'));
  const runtime = arg('--runtime');
  const log = createLogger({ name: 'oci-monitor' });
  const paths = monitorPaths(dataRoot);
  await mkdir(paths.containersDir, { recursive: true, mode: 0o711 });
  const held = await lock(dataRoot);
  if (held === undefined) {
    log.info({ dataRoot }, 'another container monitor runs for this data root');
    tell('busy');
    return;
  }
  held.unref();
  const monitor = await Monitor.open({ dataRoot, runtime: { bin: runtime, root: paths.runcRoot }, logger: log });
  const pidFile = paths.pidFile;
  let server: { clients(): number; close(): Promise<void> } | undefined;
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'container monitor stopping; containers keep running');
    monitor.close();
    void (async () => {
      await server?.close();
      await rm(pidFile, { force: true });
      held.close();
      process.exit(0);
    })();
  };
  server = await serveMonitor(monitor, paths.socket, log, () => stop('shutdown requested'));
  await writeFile(pidFile, `${process.pid}\n`);
  // Nothing to watch and nobody asking: go, rather than outlive every daemon
  // that ever ran here. The next executor that needs one starts another.
  let idleChecks = 0;
  setInterval(() => {
    idleChecks = monitor.size === 0 && server?.clients() === 0 ? idleChecks + 1 : 0;
    if (idleChecks >= IDLE_CHECKS_BEFORE_EXIT) stop('idle: no containers and no clients');
  }, IDLE_CHECK_MS).unref();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => undefined);
  tell('ready');
}

process.on('uncaughtException', (err) => {
  process.stderr.write(`container monitor crashed: ${err.stack ?? String(err)}\n`);
  process.exit(1);
});

main().catch((err: unknown) => {
  process.stderr.write(`container monitor failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  tell('failed');
  process.exit(1);
});
