// Task status reports, coalesced on the agent's side: a change only marks the
// task, and a flush (every `flushMs`, or at once when `batchSize` tasks are
// marked) sends each marked task's status as it is then. Intermediate states
// within one window are skipped, which the dispatcher accepts (it only needs
// states to move forward). Marks are a set of task IDs, so a disconnected or
// slow session costs at most one entry per task, however many changes happen.
import type { Clock } from '../../shared/clock.js';
import { MAX_REPORTS_PER_MESSAGE, type TaskStatusReport } from '../../shared/protocol/dispatch.js';

/** Where reports go: the session with the leader. */
export interface StatusSink {
  /** Send now; false when it cannot (no session, or the stream is full): the reporter keeps them. */
  sendStatus(reports: TaskStatusReport[]): boolean;
}

export interface StatusReporterOptions {
  clock: Clock;
  /** The report for a task as it is now; undefined when the task is gone. */
  report: (taskId: string) => TaskStatusReport | undefined;
  sink: () => StatusSink | undefined;
  flushMs?: number;
  batchSize?: number;
}

export class StatusReporter {
  private marked = new Set<string>();
  private timer: (() => void) | undefined;
  private stopped = false;
  private readonly flushMs: number;
  private readonly batchSize: number;

  constructor(private readonly o: StatusReporterOptions) {
    this.flushMs = o.flushMs ?? 50;
    this.batchSize = Math.max(1, Math.min(o.batchSize ?? MAX_REPORTS_PER_MESSAGE, MAX_REPORTS_PER_MESSAGE));
  }

  get pending(): number {
    return this.marked.size;
  }

  mark(taskId: string): void {
    if (this.stopped) return;
    this.marked.add(taskId);
    if (this.marked.size >= this.batchSize) {
      this.flush();
      return;
    }
    this.timer ??= this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushMs);
  }

  /** Send what is marked, while the sink takes it. */
  flush(): void {
    this.timer?.();
    this.timer = undefined;
    if (this.stopped) return;
    const sink = this.o.sink();
    if (sink === undefined) return;
    while (this.marked.size > 0) {
      const ids: string[] = [];
      for (const id of this.marked) {
        ids.push(id);
        if (ids.length >= this.batchSize) break;
      }
      const reports: TaskStatusReport[] = [];
      for (const id of ids) {
        this.marked.delete(id);
        const r = this.o.report(id);
        if (r !== undefined) reports.push(r);
      }
      if (reports.length === 0) continue;
      if (!sink.sendStatus(reports)) {
        // Kept for the next flush (the session calls it when it can send again).
        for (const r of reports) this.marked.add(r.taskId);
        return;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
    this.marked.clear();
  }
}
