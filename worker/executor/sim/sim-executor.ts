// `sim`: a SIMULATED container runtime, for tests and benchmarks only (in the
// spirit of Kubernetes' kubemark hollow nodes and Nomad's mock driver). It
// runs nothing: a "container" is a record with a start time, and its whole
// behaviour (pull and start latency, run time, exit code, health, failures,
// output) comes from SHOAL_SIM_* variables in the task's env or container
// labels (see config.ts, logs.ts and the README). `shoal daemon --executor
// sim` selects it.
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
import type { ContainerInfo, Executor, ExitResult, HealthState, LogEntry, LogOptions } from '../executor.js';
import { healthAt, simConfig, type SimConfig } from './config.js';
import { NO_SIM_LOGS, SimLog, simLogPlan, type SimLogPlan } from './logs.js';

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
  /** What it writes (absent in records from before logs existed: nothing). */
  logs?: SimLogPlan;
  /** The task's name (web.1), for the lines it writes. */
  name?: string;
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
  /** Log followers, woken when a container starts, exits or goes. */
  private readonly followers = new Set<() => void>();
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
    const logs = simLogPlan(task);
    if (config.prepareError !== undefined) throw new Error(config.prepareError);
    if (this.containers.has(task.ID)) return;
    await this.delay(config.prepareMs);
    if (this.containers.has(task.ID)) return;
    const c: SimContainer = { id: task.ID, config, createdAt: this.o.clock.now(), logs };
    if (task.Name !== undefined) c.name = task.Name;
    this.containers.set(task.ID, c);
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
    this.wakeFollowers();
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
    this.wakeFollowers();
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

  /**
   * The lines the container wrote by now (see logs.ts). Following, it waits
   * for the next tick, the start of a created container, or the exit.
   */
  async *logs(taskId: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogEntry> {
    let next: number | undefined;
    for (;;) {
      if (signal.aborted || this.closed) return;
      const c = this.containers.get(taskId);
      if (c === undefined) return;
      let wakeAt: number | undefined;
      if (c.startedAt !== undefined) {
        const log = new SimLog(c.logs ?? NO_SIM_LOGS, c.name === undefined ? c.id : `${c.name}.${c.id}`, c.startedAt);
        const end = c.exitedAt ?? this.o.clock.now();
        const written = log.countAtOrBefore(end);
        let from: number;
        let to: number;
        if (next === undefined) ({ from, to } = log.range(end, opts));
        else {
          from = next;
          to = opts.untilMs === undefined ? written : Math.min(written, log.countBefore(opts.untilMs));
        }
        for (let j = from; j < to; j++) {
          if (signal.aborted) return;
          yield log.entry(j);
        }
        next = written;
        // Nothing more will come: exited, or past `until`.
        if (!opts.follow || c.exitedAt !== undefined || (opts.untilMs !== undefined && to < written)) return;
        if (c.logs?.everyMs !== undefined) wakeAt = log.timeOf(written);
      } else if (!opts.follow) return;
      await this.nextChange(signal, wakeAt);
    }
  }

  describe(taskId: string): Promise<ContainerInfo | undefined> {
    return Promise.resolve(this.containers.has(taskId) ? { containerId: `sim-${taskId}` } : undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeFollowers();
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
    this.wakeFollowers();
    if (!this.closed) void this.save();
  }

  /** Resolves at `atMs` (clock time), on the next start, exit or removal, or on abort. */
  private nextChange(signal: AbortSignal, atMs: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let cancel: (() => void) | undefined;
      const done = (): void => {
        this.followers.delete(done);
        signal.removeEventListener('abort', done);
        cancel?.();
        resolve();
      };
      if (this.closed || signal.aborted) return resolve();
      this.followers.add(done);
      signal.addEventListener('abort', done, { once: true });
      if (atMs !== undefined) cancel = this.o.clock.setTimeout(done, Math.max(0, atMs - this.o.clock.now()));
    });
  }

  private wakeFollowers(): void {
    for (const f of [...this.followers]) f();
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
