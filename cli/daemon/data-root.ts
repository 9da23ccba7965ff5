// The daemon's data root: created on first start and locked, so two daemons
// never share one Raft log (which would corrupt it).
//
// The lock is a Linux abstract unix socket named after the data root's real
// path: binding it is atomic, and the kernel releases it when the process
// dies, however it dies. A pid file beside it only tells a second daemon whom
// it collided with. (A pid file alone cannot be a lock: a stale one must be
// taken over, and two daemons can race to take it over.)
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ShoalError } from '../../shared/errors.js';

export interface DataRootLock {
  release(): Promise<void>;
}

function lockName(root: string): string {
  return `\0shoal-data-root-${createHash('sha256').update(root).digest('hex').slice(0, 32)}`;
}

function bind(name: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ path: name, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export async function lockDataRoot(dataRoot: string): Promise<DataRootLock> {
  await mkdir(dataRoot, { recursive: true, mode: 0o700 });
  const root = await realpath(dataRoot);
  const pidFile = join(root, 'shoal.pid');
  let server: Server;
  try {
    server = await bind(lockName(root));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const pid = (await readFile(pidFile, 'utf8').catch(() => '')).trim();
    throw new ShoalError(
      'data_root_locked',
      `another shoal daemon${/^\d+$/.test(pid) ? ` (pid ${pid})` : ''} is using ${dataRoot}; stop it or choose another --data-root`,
      500,
      { cause: err },
    );
  }
  // The socket must not keep the event loop alive on its own.
  server.unref();
  await writeFile(pidFile, `${process.pid}\n`, { mode: 0o600 });
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await rm(pidFile, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
