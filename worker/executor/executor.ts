// How the agent runs a task, whatever runs it: `sim` (a simulated runtime
// for tests and benchmarks) now, `oci` (runc) in the next issue. Every call
// is idempotent for a given task ID, so an agent that restarts and repeats a
// step does no harm.
import type { Task } from '../../shared/model/index.js';

export interface ExitResult {
  exitCode: number;
  /** Why it ended, in words a user can act on (e.g. "OOM killed", "pull access denied"). */
  message?: string;
}

export type HealthState = 'starting' | 'healthy' | 'unhealthy';

export interface Executor {
  readonly name: string;
  /** Get everything ready to start (pull the image, create the container). Throws with a clear message. */
  prepare(task: Task): Promise<void>;
  start(task: Task): Promise<void>;
  /** Resolves when the task's process exits; an abort only stops the waiting. */
  wait(task: Task, signal: AbortSignal): Promise<ExitResult>;
  /** StopSignal, then kill after the grace period. Resolves once it has exited. */
  stop(task: Task, opts: { signal: string; graceMs: number }): Promise<void>;
  /** Remove whatever prepare made. */
  remove(task: Task): Promise<void>;
  /** Health of a task with a healthcheck; undefined without one. */
  health(task: Task): Promise<HealthState | undefined>;
  /** IDs of tasks this executor still runs: a restarted agent re-attaches to them. */
  running(): Promise<string[]>;
  close(): Promise<void>;
}
