// Where the container monitor of a data root keeps its socket, pid and log.
import { join } from 'node:path';

export interface MonitorPaths {
  containersDir: string;
  socket: string;
  pidFile: string;
  logFile: string;
  runcRoot: string;
}

export function monitorPaths(dataRoot: string): MonitorPaths {
  const containersDir = join(dataRoot, 'containers');
  return {
    containersDir,
    socket: join(containersDir, 'monitor.sock'),
    pidFile: join(containersDir, 'monitor.pid'),
    logFile: join(containersDir, 'monitor.log'),
    runcRoot: join(dataRoot, 'runc'),
  };
}
