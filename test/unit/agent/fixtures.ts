// A scripted executor for agent tests, and task builders.
import type { ContainerSpec, Task, TaskState } from '../../../shared/model/index.js';
import type { AssignmentsMessage, TaskStatusReport } from '../../../shared/protocol/dispatch.js';
import type { ContainerInfo, Executor, ExitResult, HealthState, LogEntry, LogOptions } from '../../../worker/executor/executor.js';
import type { StatusSink } from '../../../worker/agent/reporter.js';

export type Call =
  | { op: 'prepare' | 'start' | 'wait' | 'remove' | 'health'; id: string }
  | { op: 'stop'; id: string; signal: string; graceMs: number };

/**
 * Does what the test says: prepare and start succeed at once unless told to
 * fail; a started task runs until exit() or stop(); health is whatever the
 * test set. Idempotent per task ID, like a real executor.
 */
export class FakeExecutor implements Executor {
  readonly name = 'fake';
  readonly calls: Call[] = [];
  readonly failPrepare = new Map<string, string>();
  readonly failStart = new Map<string, string>();
  readonly healthOf = new Map<string, HealthState>();
  /** Exit code a stop produces. */
  stopExitCode = 0;
  private readonly started = new Set<string>();
  private readonly exits = new Map<string, ExitResult>();
  private readonly waiters = new Map<string, Array<(r: ExitResult) => void>>();
  /** What each task's process wrote, oldest first (tests add lines with write()). */
  private readonly output = new Map<string, LogEntry[]>();
  /** Followers waiting for a task's next line or its exit. */
  private readonly outputWaiters = new Map<string, Set<() => void>>();

  prepare(task: Task): Promise<void> {
    this.calls.push({ op: 'prepare', id: task.ID });
    const err = this.failPrepare.get(task.ID);
    return err ? Promise.reject(new Error(err)) : Promise.resolve();
  }

  start(task: Task): Promise<void> {
    this.calls.push({ op: 'start', id: task.ID });
    const err = this.failStart.get(task.ID);
    if (err) return Promise.reject(new Error(err));
    this.started.add(task.ID);
    return Promise.resolve();
  }

  wait(task: Task, signal: AbortSignal): Promise<ExitResult> {
    this.calls.push({ op: 'wait', id: task.ID });
    const done = this.exits.get(task.ID);
    if (done) return Promise.resolve(done);
    if (!this.started.has(task.ID)) return Promise.reject(new Error(`no such container for task ${task.ID}`));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(task.ID) ?? [];
      list.push(resolve);
      this.waiters.set(task.ID, list);
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  stop(task: Task, opts: { signal: string; graceMs: number }): Promise<void> {
    this.calls.push({ op: 'stop', id: task.ID, ...opts });
    if (this.started.has(task.ID) && !this.exits.has(task.ID)) this.exit(task.ID, this.stopExitCode);
    return Promise.resolve();
  }

  remove(task: Task): Promise<void> {
    this.calls.push({ op: 'remove', id: task.ID });
    this.started.delete(task.ID);
    this.exits.delete(task.ID);
    this.output.delete(task.ID);
    this.wakeFollowers(task.ID);
    return Promise.resolve();
  }

  health(task: Task): Promise<HealthState | undefined> {
    this.calls.push({ op: 'health', id: task.ID });
    return Promise.resolve(this.healthOf.get(task.ID));
  }

  running(): Promise<string[]> {
    return Promise.resolve([...this.started].filter((id) => !this.exits.has(id)));
  }

  /** Lines as written (see write()); with follow, waits for more until the task exits or the signal aborts. */
  async *logs(taskId: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogEntry> {
    const all = this.outputOf(taskId);
    const ms = (e: LogEntry): number => Date.parse(e.time);
    const inRange = (e: LogEntry): boolean => (opts.sinceMs === undefined || ms(e) >= opts.sinceMs) && (opts.untilMs === undefined || ms(e) < opts.untilMs);
    let backlog = all.filter(inRange);
    if (opts.tail !== undefined) backlog = opts.tail === 0 ? [] : backlog.slice(-opts.tail);
    let next = all.length;
    yield* backlog;
    if (!opts.follow) return;
    for (;;) {
      while (next < all.length) {
        const e = all[next++]!;
        if (inRange(e)) yield e;
      }
      if (signal.aborted || this.exits.has(taskId) || !this.started.has(taskId)) return;
      await new Promise<void>((resolve) => {
        const set = this.outputWaiters.get(taskId) ?? new Set<() => void>();
        this.outputWaiters.set(taskId, set);
        const wake = (): void => {
          set.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        set.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  describe(taskId: string): Promise<ContainerInfo | undefined> {
    return Promise.resolve(this.started.has(taskId) ? { containerId: `fake-${taskId}` } : undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The task's process writes a line (time: RFC 3339, default now). */
  write(id: string, stream: LogEntry['stream'], text: string, time = new Date().toISOString()): void {
    this.outputOf(id).push({ stream, time, line: Buffer.from(text) });
    this.wakeFollowers(id);
  }

  /** The task's process ends by itself. */
  exit(id: string, exitCode: number, message?: string): void {
    const r: ExitResult = message === undefined ? { exitCode } : { exitCode, message };
    this.exits.set(id, r);
    for (const w of this.waiters.get(id) ?? []) w(r);
    this.waiters.delete(id);
    this.wakeFollowers(id);
  }

  private outputOf(id: string): LogEntry[] {
    let list = this.output.get(id);
    if (!list) this.output.set(id, (list = []));
    return list;
  }

  private wakeFollowers(id: string): void {
    for (const w of [...(this.outputWaiters.get(id) ?? [])]) w();
  }

  /** A process this executor runs (e.g. left over from before a restart). */
  adopt(id: string): void {
    this.started.add(id);
  }

  ops(id: string): string[] {
    return this.calls.filter((c) => c.id === id && c.op !== 'health').map((c) => c.op);
  }
}

/** Collects what the agent reports; can be told to refuse (a full stream). */
export class FakeSink implements StatusSink {
  readonly sent: TaskStatusReport[][] = [];
  accept = true;

  sendStatus(reports: TaskStatusReport[]): boolean {
    if (!this.accept) return false;
    this.sent.push(reports);
    return true;
  }

  /** Every state reported for a task, in order. */
  states(id: string): TaskState[] {
    return this.sent.flat().filter((r) => r.taskId === id).map((r) => r.status.State);
  }

  last(id: string): TaskStatusReport | undefined {
    return this.sent.flat().filter((r) => r.taskId === id).at(-1);
  }
}

export function task(id: string, desired: TaskState = 'running', container: Partial<ContainerSpec> = {}, state: TaskState = 'assigned'): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2024-05-01T12:00:00Z',
    UpdatedAt: '2024-05-01T12:00:00Z',
    ServiceID: 'svc1',
    NodeID: 'n1',
    Slot: 1,
    Spec: { ContainerSpec: { Image: 'sim/app:1', ...container } },
    Status: { Timestamp: '2024-05-01T12:00:00Z', State: state, Message: 'scheduled' },
    DesiredState: desired,
  };
}

export function full(tasks: Task[]): AssignmentsMessage {
  return { type: 'assignments', full: true, last: true, tasks, removed: [] };
}

export function inc(tasks: Task[], removed: string[] = []): AssignmentsMessage {
  return { type: 'assignments', full: false, last: true, tasks, removed };
}

/** Let promise chains run (no virtual time passes). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
