// `sim`: a SIMULATED container runtime, for tests and benchmarks only (in the
// spirit of Kubernetes' kubemark hollow nodes and Nomad's mock driver). It
// runs nothing: a "container" is a record with a start time, and its whole
// behaviour (pull and start latency, run time, exit code, health, failures)
// comes from SHOAL_SIM_* variables in the task's env or container labels (see
// config.ts and the README). `shoal daemon --executor sim` selects it.
//
// Its containers outlive the agent: their records (start times, exits) are
// kept in <data-root>/sim/containers.json, so a daemon killed with SIGKILL and
// started again finds its tasks still running (or finds they exited while it
// was down, at the time and with the code they would have), exactly as a real
// runtime's containers would keep running without their daemon.
import { join } from 'node:path';
import type { Clock } from '../../../shared/clock.js';
import type { Logger } from '../../../shared/logger.js';
import type { Task } from '../../../shared/model/index.js';
import { StateFile } from '../../state-file.js';
import type { Executor, ExitResult, HealthState } from '../executor.js';
import { healthAt, simConfig, type SimConfig } from './config.js';

interface SimContainer {
  id: string;
  config: SimConfig;
  createdAt: number;
  startedAt?: number;
  /** Set once a stop signal was sent: when the process exits, and with what. */
  stopAt?: number;
  stopExitCode?: number;
  exitedAt?: number;
  exitCode?: number;
  exitMessage?: string;
}

export interface SimExecutorOptions {
  /** Where containers.json lives (<data-root>/sim). */
  dataDir: string;
  clock: Clock;
  logger: Logger;
}

const KILL_SIGNALS = new Set(['SIGKILL', 'KILL', '9']);
const KILLED_EXIT_CODE = 137;

export class SimExecutor implements Executor {
  readonly name = 'sim';
  private readonly containers = new Map<string, SimContainer>();
  private readonly timers = new Map<string, () => void>();
  private readonly waiters = new Map<string, Set<(r: ExitResult) => void>>();
  private readonly file: StateFile<{ containers: SimContainer[] }>;
  private closed = false;

  private constructor(private readonly o: SimExecutorOptions) {
    this.file = new StateFile(join(o.dataDir, 'containers.json'), () => ({ containers: [...this.containers.values()] }));
  }

  /** Load the containers a previous run left, settle the ones that exited meanwhile, and time the rest. */
  static async open(o: SimExecutorOptions): Promise<SimExecutor> {
    const x = new SimExecutor(o);
    const saved = (await x.file.load()) as { containers?: SimContainer[] } | undefined;
    for (const c of saved?.containers ?? []) {
      if (typeof c?.id !== 'string' || typeof c.config !== 'object') continue;
      x.containers.set(c.id, c);
      if (c.startedAt !== undefined && c.exitedAt === undefined) x.arm(c);
    }
    o.logger.info({ containers: x.containers.size, running: (await x.running()).length }, 'sim executor (simulated runtime) ready');
    return x;
  }

  async prepare(task: Task): Promise<void> {
    const config = simConfig(task);
    if (config.prepareError !== undefined) throw new Error(config.prepareError);
    if (this.containers.has(task.ID)) return;
    await this.delay(config.prepareMs);
    if (this.containers.has(task.ID)) return;
    this.containers.set(task.ID, { id: task.ID, config, createdAt: this.o.clock.now() });
    void this.save();
  }

  async start(task: Task): Promise<void> {
    let c = this.containers.get(task.ID);
    if (c === undefined) {
      await this.prepare(task);
      c = this.containers.get(task.ID)!;
    }
    if (c.startedAt !== undefined) return;
    if (c.config.startError !== undefined) throw new Error(c.config.startError);
    await this.delay(c.config.startMs);
    const now = this.containers.get(task.ID);
    if (now === undefined) throw new Error(`container for task ${task.ID} was removed while starting`);
    if (now.startedAt !== undefined) return;
    now.startedAt = this.o.clock.now();
    this.arm(now);
    // On disk before the task is reported running: a daemon killed right after still finds it.
    await this.save();
  }

  wait(task: Task, signal: AbortSignal): Promise<ExitResult> {
    const c = this.containers.get(task.ID);
    if (c === undefined || c.startedAt === undefined) {
      return Promise.reject(new Error(`no such container for task ${task.ID}: it is not running on this node`));
    }
    if (c.exitedAt !== undefined) return Promise.resolve(result(c));
    return new Promise<ExitResult>((resolve, reject) => {
      let set = this.waiters.get(task.ID);
      if (!set) this.waiters.set(task.ID, (set = new Set()));
      const onAbort = (): void => {
        set.delete(done);
        reject(signal.reason instanceof Error ? signal.reason : new Error('wait aborted'));
      };
      const done = (r: ExitResult): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      if (signal.aborted) return onAbort();
      set.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async stop(task: Task, opts: { signal: string; graceMs: number }): Promise<void> {
    const c = this.containers.get(task.ID);
    if (c === undefined || c.startedAt === undefined || c.exitedAt !== undefined) return;
    const exited = this.wait(task, new AbortController().signal);
    if (c.stopAt === undefined) {
      const kill = KILL_SIGNALS.has(opts.signal.toUpperCase());
      const graceMs = Math.max(0, opts.graceMs);
      const inMs = kill ? 0 : Math.min(c.config.stopMs, graceMs);
      c.stopAt = this.o.clock.now() + inMs;
      c.stopExitCode = kill || c.config.stopMs > graceMs ? KILLED_EXIT_CODE : 0;
      this.arm(c);
      void this.save();
    }
    await exited;
  }

  async remove(task: Task): Promise<void> {
    const c = this.containers.get(task.ID);
    if (c === undefined) return;
    // Removing a running container kills it, as `docker rm -f` does.
    if (c.startedAt !== undefined && c.exitedAt === undefined) this.exit(c, KILLED_EXIT_CODE, 'removed while running');
    this.timers.get(task.ID)?.();
    this.timers.delete(task.ID);
    this.containers.delete(task.ID);
    await this.save();
  }

  health(task: Task): Promise<HealthState | undefined> {
    const test = task.Spec.ContainerSpec?.HealthCheck?.Test;
    if (test === undefined || test.length === 0 || test[0] === 'NONE') return Promise.resolve(undefined);
    const c = this.containers.get(task.ID);
    if (c === undefined || c.startedAt === undefined || c.exitedAt !== undefined) return Promise.resolve(undefined);
    return Promise.resolve(healthAt(c.config.health, this.o.clock.now() - c.startedAt));
  }

  running(): Promise<string[]> {
    return Promise.resolve([...this.containers.values()].filter((c) => c.startedAt !== undefined && c.exitedAt === undefined).map((c) => c.id));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    await this.file.flush().catch(() => undefined);
  }

  /** Time the container's exit: its own run time, or its stop, whichever comes first. */
  private arm(c: SimContainer): void {
    this.timers.get(c.id)?.();
    this.timers.delete(c.id);
    const runEnd = c.config.runMs === undefined ? undefined : c.startedAt! + c.config.runMs;
    const candidates: Array<{ at: number; code: number; message?: string }> = [];
    if (runEnd !== undefined) candidates.push({ at: runEnd, code: c.config.exitCode });
    if (c.stopAt !== undefined) candidates.push({ at: c.stopAt, code: c.stopExitCode ?? 0, message: 'stopped' });
    if (candidates.length === 0) return;
    const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
    const inMs = first.at - this.o.clock.now();
    if (inMs <= 0) {
      this.exit(c, first.code, first.message, first.at);
      return;
    }
    this.timers.set(
      c.id,
      this.o.clock.setTimeout(() => {
        this.timers.delete(c.id);
        this.exit(c, first.code, first.message, first.at);
      }, inMs),
    );
  }

  private exit(c: SimContainer, code: number, message?: string, at = this.o.clock.now()): void {
    if (c.exitedAt !== undefined) return;
    c.exitedAt = at;
    c.exitCode = code;
    if (message !== undefined) c.exitMessage = message;
    this.timers.get(c.id)?.();
    this.timers.delete(c.id);
    const r = result(c);
    const set = this.waiters.get(c.id);
    this.waiters.delete(c.id);
    for (const w of set ?? []) w(r);
    if (!this.closed) void this.save();
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.o.clock.setTimeout(resolve, ms));
  }

  private async save(): Promise<void> {
    try {
      await this.file.save();
    } catch (err) {
      this.o.logger.error({ err }, 'sim executor could not save its containers');
    }
  }
}

function result(c: SimContainer): ExitResult {
  const r: ExitResult = { exitCode: c.exitCode ?? 0 };
  if (c.exitMessage !== undefined) r.message = c.exitMessage;
  return r;
}
