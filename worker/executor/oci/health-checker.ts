// Runs one container's healthcheck probes (`runc exec` inside it) on the
// schedule health.ts decides, and keeps its current health. A probe slower
// than its timeout is killed (the process in the container, through the pid
// runc exec reports, and runc exec itself) and counts as a failure.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import type { Cancel, Clock } from '../../../shared/clock.js';
import type { Logger } from '../../../shared/logger.js';
import type { HealthState } from '../executor.js';
import { afterProbe, initialHealth, probeDelayMs, type HealthSettings, type HealthStatus } from './health.js';
import type { Runtime } from './runc.js';

const MAX_OUTPUT = 4096;

export interface HealthCheckerOptions {
  runtime: Runtime;
  containerId: string;
  settings: HealthSettings;
  /** When the container's process started, unix ms. */
  startedAtMs: number;
  /** Where runc exec writes the probe's pid. */
  pidFile: string;
  clock: Clock;
  logger: Logger;
}

export class HealthChecker {
  private status: HealthStatus = initialHealth();
  private timer: Cancel | undefined;
  private stopped = false;

  constructor(private readonly o: HealthCheckerOptions) {}

  get state(): HealthState {
    return this.status.state;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.timer = this.o.clock.setTimeout(() => void this.probe(), probeDelayMs(this.status, this.o.settings, now, this.o.startedAtMs));
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    const startedAtMs = this.o.clock.now();
    let ok = false;
    try {
      const r = await this.exec();
      ok = r.code === 0;
      this.o.logger.debug({ container: this.o.containerId, code: r.code, output: r.output }, 'health probe');
    } catch (err) {
      this.o.logger.debug({ container: this.o.containerId, err }, 'health probe could not run');
    }
    if (this.stopped) return;
    const before = this.status.state;
    this.status = afterProbe(this.status, { ok, startedAtMs }, this.o.settings, this.o.startedAtMs);
    if (this.status.state !== before) this.o.logger.info({ container: this.o.containerId, health: this.status.state }, 'container health changed');
    this.schedule();
  }

  private exec(): Promise<{ code: number | null; output: string }> {
    const { runtime, containerId, settings, pidFile } = this.o;
    return new Promise((resolve, reject) => {
      const child = spawn(runtime.bin, ['--root', runtime.root, 'exec', '--pid-file', pidFile, containerId, ...settings.argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (b: Buffer): void => {
        if (output.length < MAX_OUTPUT) output += b.toString('utf8').slice(0, MAX_OUTPUT - output.length);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      let timedOut = false;
      const cancel = this.o.clock.setTimeout(() => {
        timedOut = true;
        void killProbe(pidFile).finally(() => child.kill('SIGKILL'));
      }, settings.timeoutMs);
      child.once('error', (err) => {
        cancel();
        reject(err);
      });
      child.once('close', (code) => {
        cancel();
        void rm(pidFile, { force: true });
        resolve(timedOut ? { code: -1, output: `Health check exceeded timeout (${settings.timeoutMs}ms)` } : { code, output });
      });
    });
  }
}

async function killProbe(pidFile: string): Promise<void> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // it ended meanwhile
  }
}
