// The daemon's data root: created on first start and locked, so two daemons
// never share one Raft log (which would corrupt it).
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '../../shared/errors.js';

export interface DataRootLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataRoot(dataRoot: string): Promise<DataRootLock> {
  await mkdir(dataRoot, { recursive: true, mode: 0o700 });
  const file = join(dataRoot, 'shoal.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return { release: () => rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new ShoalError(
          'data_root_locked',
          `another shoal daemon (pid ${pid}) is using ${dataRoot}; stop it or choose another --data-root`,
          500,
        );
      }
      // The daemon that wrote it is gone (killed): the lock is stale.
      await rm(file, { force: true });
    }
  }
  throw new ShoalError('data_root_locked', `could not lock ${dataRoot}; remove ${file} if no daemon is running`, 500);
}
