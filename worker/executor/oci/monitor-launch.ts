// Starts the container monitor for a data root as a detached process that
// outlives the agent (its own session, stdio to monitor.log), and waits for
// its word on fd 3 that it serves, or that another monitor already does.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { UnavailableError } from '../../../shared/errors.js';
import { monitorPaths } from './monitor-paths.js';

const MONITOR_MAIN = fileURLToPath(new URL('./monitor-main.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export type LaunchOutcome = 'started' | 'already-running';

export async function launchMonitor(o: { dataRoot: string; runtimeBin: string }): Promise<LaunchOutcome> {
  const paths = monitorPaths(o.dataRoot);
  await mkdir(paths.containersDir, { recursive: true, mode: 0o711 });
  const logFd = openSync(paths.logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [MONITOR_MAIN, '--data-root', o.dataRoot, '--runtime', o.runtimeBin], {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'pipe'],
    });
  } finally {
    closeSync(logFd);
  }
  child.unref();
  const pipe = child.stdio[3];
  const word = await new Promise<string>((resolve) => {
    if (pipe === null || pipe === undefined) return resolve('');
    let text = '';
    const timer = setTimeout(() => finish(), START_TIMEOUT_MS);
    const finish = (): void => {
      clearTimeout(timer);
      pipe.destroy();
      resolve(text.trim());
    };
    pipe.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      if (text.includes('\n')) finish();
    });
    pipe.on('error', finish);
    pipe.on('close', finish);
  });
  if (word === 'ready') return 'started';
  if (word === 'busy') return 'already-running';
  const tail = (await readFile(paths.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
  throw new UnavailableError(`the container monitor did not start (see ${paths.logFile})${tail !== '' ? `:\n${tail}` : ''}`);
}
