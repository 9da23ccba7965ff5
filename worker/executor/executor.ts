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

/** One line a task's process wrote (Docker's json-file log driver keeps the same three facts). */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, UTC, as Docker prints with --timestamps. */
  time: string;
  /** The line, with its trailing newline when it had one. */
  line: Buffer;
}

export interface LogOptions {
  /** Keep the stream open and send new lines as they are written. */
  follow: boolean;
  /** Only the last N lines (before following); undefined means all. */
  tail?: number;
  /** Only lines written at or after this time (unix ms). */
  sinceMs?: number;
  /** Only lines written before this time (unix ms). */
  untilMs?: number;
}

/** What the runtime knows of a task's container, for the task's ContainerStatus. */
export interface ContainerInfo {
  containerId: string;
  pid?: number;
}

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
  /**
   * The task's output, oldest first; with follow, it ends when the task's
   * process has exited and its last line was sent, or when `signal` aborts.
   * A task this executor never ran gives an empty stream.
   */
  logs(taskId: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogEntry>;
  /** The container behind a task, once created; undefined before. */
  describe(taskId: string): Promise<ContainerInfo | undefined>;
  close(): Promise<void>;
}
