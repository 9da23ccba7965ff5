// One task on this node: carries out the steps nextStep() (task-fsm.ts)
// decides, one at a time, records each state it reaches, and tells the agent
// (which reports and persists). Executor calls are idempotent, so a runner
// rebuilt from the records after a restart may repeat the step it was in.
import type { Cancel, Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Task, TaskState, TaskStatus } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import type { TaskHealth } from '../../shared/protocol/dispatch.js';
import type { ContainerInfo, Executor, ExitResult } from '../executor/executor.js';
import { nextStep, type Step } from './task-fsm.js';

export const DEFAULT_STOP_SIGNAL = 'SIGTERM';
export const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
/** While a task's health is still `starting`, it is polled at least this often. */
const STARTING_POLL_MS = 1000;
const MIN_POLL_MS = 50;
/** The executor runs the checks; the runner only reads their result, so it can look often. */
const MAX_HEALTH_POLL_MS = 1000;
export const UNHEALTHY_MESSAGE = 'unhealthy container';

export interface RunnerHost {
  executor: Executor;
  clock: Clock;
  log: Logger;
  /** Status or health changed: report it and save the records. */
  changed(r: TaskRunner): void;
  /** Removed and no longer assigned: drop the runner. */
  forget(r: TaskRunner): void;
  /** Delay before retrying a stop or remove that failed. */
  retryMs: number;
  /**
   * A task on an overlay network keeps running this long after it was told
   * to stop: the managers take it out of every node's load balancer at the
   * same moment, and connections in flight finish (0: stop at once).
   */
  drainMs?: number;
}

export interface RunnerState {
  task: Task;
  status: TaskStatus;
  health?: TaskHealth;
  assigned: boolean;
  removed: boolean;
}

/** The task has a healthcheck the executor evaluates (not absent, not NONE). */
export function hasHealthcheck(task: Task): boolean {
  const test = task.Spec.ContainerSpec?.HealthCheck?.Test;
  return test !== undefined && test.length > 0 && test[0] !== 'NONE';
}

export function stopOptions(task: Task): { signal: string; graceMs: number } {
  const c = task.Spec.ContainerSpec;
  const grace = c?.StopGracePeriod;
  return {
    signal: c?.StopSignal !== undefined && c.StopSignal !== '' ? c.StopSignal : DEFAULT_STOP_SIGNAL,
    // Docker's durations are nanoseconds.
    graceMs: grace !== undefined && grace >= 0 ? Math.round(grace / 1e6) : DEFAULT_STOP_GRACE_MS,
  };
}

function healthIntervalMs(task: Task): number {
  const ns = task.Spec.ContainerSpec?.HealthCheck?.Interval;
  return ns !== undefined && ns > 0 ? Math.max(MIN_POLL_MS, Math.round(ns / 1e6)) : DEFAULT_HEALTH_INTERVAL_MS;
}

export class TaskRunner {
  task: Task;
  status: TaskStatus;
  health: TaskHealth | undefined;
  assigned: boolean;
  removed: boolean;
  private busy = false;
  private watching = false;
  private stopping = false;
  private closed = false;
  private watchAbort: AbortController | undefined;
  /** The executor said this task has no healthcheck (none in the spec or the image). */
  private healthless = false;
  /** Stopped by the agent because its healthcheck failed: the exit is a failure, as in swarmkit. */
  private unhealthyStop = false;
  private container: ContainerInfo | undefined;
  private healthTimer: Cancel | undefined;
  private retryTimer: Cancel | undefined;

  constructor(
    private readonly host: RunnerHost,
    s: RunnerState,
  ) {
    this.task = s.task;
    this.status = s.status;
    this.health = s.health;
    this.assigned = s.assigned;
    this.removed = s.removed;
    const cs = s.status.ContainerStatus;
    if (cs?.ContainerID !== undefined) this.container = { containerId: cs.ContainerID, ...(cs.PID !== undefined ? { pid: cs.PID } : {}) };
  }

  get id(): string {
    return this.task.ID;
  }

  get state(): TaskState {
    return this.status.State;
  }

  snapshot(): RunnerState {
    const s: RunnerState = { task: this.task, status: this.status, assigned: this.assigned, removed: this.removed };
    if (this.health !== undefined) s.health = this.health;
    return s;
  }

  /**
   * The managers' latest word on the task. If the store is further along than
   * this runner (its records were lost or lag behind a report), the runner
   * takes the store's state rather than doing steps again from an earlier one.
   */
  assign(task: Task): void {
    this.task = task;
    this.assigned = true;
    const theirs = task.Status.State;
    if (!this.busy && !this.watching && !isTerminal(this.state) && !isTerminal(theirs) && stateIndex(theirs) > stateIndex(this.state)) {
      this.status = task.Status;
      this.host.changed(this);
    }
    this.kick();
  }

  unassign(): void {
    this.assigned = false;
    this.kick();
  }

  kick(): void {
    if (this.busy || this.closed) return;
    void this.run();
  }

  /** The agent stops (daemon shutdown): timers and waits end; the process, if any, keeps running. */
  close(): void {
    this.closed = true;
    this.retryTimer?.();
    this.healthTimer?.();
    this.healthTimer = undefined;
    this.watchAbort?.abort(new Error('agent closing'));
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      for (;;) {
        if (this.closed) return;
        const step = nextStep({
          observed: this.state,
          desired: this.task.DesiredState,
          assigned: this.assigned,
          removed: this.removed,
          watching: this.watching,
        });
        if (step === 'idle') return;
        if (!(await this.perform(step))) return;
      }
    } catch (err) {
      this.host.log.error({ err, task: this.id }, 'task runner failed');
    } finally {
      this.busy = false;
      this.syncHealthPolling();
    }
  }

  /** Carries out one step; false ends the loop (forgotten, or a retry is scheduled). */
  private async perform(step: Exclude<Step, 'idle'>): Promise<boolean> {
    const x = this.host.executor;
    switch (step) {
      case 'accept':
        this.set('accepted', 'accepted');
        return true;
      case 'prepare':
        if (this.state !== 'preparing') this.set('preparing', 'preparing');
        try {
          await x.prepare(this.task);
          this.set('ready', 'prepared');
        } catch (err) {
          this.set('rejected', 'preparing', { err: errMessage(err) });
        }
        return true;
      case 'start':
        if (this.state !== 'starting') this.set('starting', 'starting');
        try {
          await x.start(this.task);
          this.container = await x.describe(this.id).catch(() => undefined);
          this.set('running', 'started');
        } catch (err) {
          this.set('failed', 'starting', { err: errMessage(err) });
        }
        return true;
      case 'watch':
        this.watch();
        return true;
      case 'stop':
        if (!this.stopping && this.state === 'running' && (this.host.drainMs ?? 0) > 0 && (this.task.NetworksAttachments?.length ?? 0) > 0) {
          await new Promise<void>((resolve) => this.host.clock.setTimeout(resolve, this.host.drainMs!));
        }
        this.stopping = true;
        try {
          await x.stop(this.task, stopOptions(this.task));
        } catch (err) {
          this.host.log.warn({ task: this.id, err: errMessage(err) }, 'could not stop the task; retrying');
          this.retryLater();
          return false;
        }
        if (!isTerminal(this.state)) this.set('shutdown', 'shutdown');
        return true;
      case 'shutdown':
        this.set('shutdown', 'shutdown');
        return true;
      case 'remove':
        try {
          await x.remove(this.task);
        } catch (err) {
          this.host.log.warn({ task: this.id, err: errMessage(err) }, 'could not remove the task; retrying');
          this.retryLater();
          return false;
        }
        this.removed = true;
        this.host.changed(this);
        return true;
      case 'forget':
        this.close();
        this.host.forget(this);
        return false;
    }
  }

  /** Waits for the process in the background; its exit is the next state. */
  private watch(): void {
    this.watching = true;
    const ac = new AbortController();
    this.watchAbort = ac;
    this.host.executor
      .wait(this.task, ac.signal)
      .then(
        (exit) => this.exited(exit),
        (err: unknown) => {
          if (ac.signal.aborted) return;
          this.exited(undefined, errMessage(err));
        },
      )
      .catch((err: unknown) => this.host.log.error({ err, task: this.id }, 'task runner failed'));
  }

  private exited(exit: ExitResult | undefined, err?: string): void {
    this.watching = false;
    this.watchAbort = undefined;
    if (this.closed || isTerminal(this.state)) return;
    if (exit === undefined) {
      this.set('failed', 'task lost', { err: err ?? 'the task is no longer known to the executor' });
    } else if (this.unhealthyStop) {
      this.set('failed', UNHEALTHY_MESSAGE, { exitCode: exit.exitCode, err: UNHEALTHY_MESSAGE });
    } else if (this.stopping) {
      this.set('shutdown', 'shutdown', { exitCode: exit.exitCode });
    } else if (exit.exitCode === 0) {
      this.set('complete', 'finished', { exitCode: 0 });
    } else {
      const why = `task: non-zero exit (${exit.exitCode})${exit.message ? `: ${exit.message}` : ''}`;
      this.set('failed', why, { exitCode: exit.exitCode, err: why });
    }
    this.kick();
  }

  private set(state: TaskState, message: string, extra: { err?: string; exitCode?: number } = {}): void {
    // Observed state only moves forward; nextStep() never asks otherwise, so this is a bug if it fires.
    if (stateIndex(state) < stateIndex(this.state) || (isTerminal(this.state) && state !== this.state)) {
      throw new Error(`illegal task state transition ${this.state} -> ${state} for task ${this.id}`);
    }
    const status: TaskStatus = { Timestamp: new Date(this.host.clock.now()).toISOString(), State: state, Message: message };
    if (extra.err !== undefined) status.Err = extra.err;
    if (this.container !== undefined || extra.exitCode !== undefined) {
      status.ContainerStatus = {
        ...(this.container !== undefined ? { ContainerID: this.container.containerId } : {}),
        ...(this.container?.pid !== undefined ? { PID: this.container.pid } : {}),
        ...(extra.exitCode !== undefined ? { ExitCode: extra.exitCode } : {}),
      };
    }
    this.status = status;
    this.host.changed(this);
  }

  private retryLater(): void {
    this.retryTimer?.();
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.host.retryMs);
  }

  /** Health is polled while the task runs and has a healthcheck; it starts as `starting`, as in Docker. */
  private syncHealthPolling(): void {
    // The image may bring a healthcheck the spec does not name: the executor knows.
    const wanted = !this.closed && this.state === 'running' && !this.healthless && !this.unhealthyStop;
    if (!wanted) {
      this.healthTimer?.();
      this.healthTimer = undefined;
      return;
    }
    if (this.healthTimer) return;
    if (this.health === undefined && hasHealthcheck(this.task)) {
      this.health = 'starting';
      this.host.changed(this);
    }
    this.scheduleHealth();
  }

  private scheduleHealth(): void {
    if (this.health === undefined && !hasHealthcheck(this.task)) {
      // First ask at once whether the executor runs a healthcheck at all.
      this.healthTimer = this.host.clock.setTimeout(() => void this.pollHealth(), 0);
      return;
    }
    const every = Math.min(healthIntervalMs(this.task), MAX_HEALTH_POLL_MS);
    const ms = this.health === 'starting' ? Math.min(every, STARTING_POLL_MS) : every;
    this.healthTimer = this.host.clock.setTimeout(() => void this.pollHealth(), ms);
  }

  private async pollHealth(): Promise<void> {
    let h: TaskHealth | undefined;
    try {
      h = await this.host.executor.health(this.task);
    } catch (err) {
      this.host.log.debug({ task: this.id, err: errMessage(err) }, 'health check failed to run');
    }
    if (this.closed || this.state !== 'running') {
      this.healthTimer = undefined;
      return;
    }
    if (h === undefined && this.health === undefined && !hasHealthcheck(this.task)) {
      this.healthless = true;
      this.healthTimer = undefined;
      return;
    }
    if (h !== undefined && h !== this.health) {
      this.health = h;
      this.host.changed(this);
    }
    if (h === 'unhealthy') {
      this.healthTimer = undefined;
      this.stopUnhealthy();
      return;
    }
    this.scheduleHealth();
  }

  /**
   * swarmkit's agent ends a container whose healthcheck failed; the task
   * fails with "unhealthy container" and the orchestrator's restart policy
   * replaces it.
   */
  private stopUnhealthy(): void {
    if (this.unhealthyStop || this.stopping) return;
    this.unhealthyStop = true;
    this.host.log.info({ task: this.id }, 'healthcheck failed; stopping the unhealthy container');
    this.host.executor.stop(this.task, stopOptions(this.task)).catch((err: unknown) => {
      this.host.log.warn({ task: this.id, err: errMessage(err) }, 'could not stop the unhealthy container');
    });
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
