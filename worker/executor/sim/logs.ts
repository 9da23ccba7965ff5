// What a simulated container "writes": lines derived from its start time and
// its SHOAL_SIM_LOG_* settings, never stored. The same container gives the
// same lines before and after a daemon restart, and a tail of the last N
// lines of a container that ran for days costs N lines of work, not days.
//
// Entry j of a container: first `lines` stdout lines and the optional stderr
// line, all at the start (a nanosecond apart, to keep their order), then one
// stdout tick every `everyMs` while it runs.
import type { Task } from '../../../shared/model/index.js';
import { formatLogTime } from '../../../shared/protocol/logs.js';
import type { LogEntry } from '../executor.js';
import { SimConfigError, simSettings } from './config.js';

export interface SimLogPlan {
  /** stdout lines written at the start: `line <i> of <label>`. */
  lines: number;
  /** A stdout line `tick <k> of <label>` every this many ms while running. */
  everyMs: number | undefined;
  /** One stderr line written at the start, after the stdout ones. */
  stderr: string | undefined;
}

export const SIM_LOG_VARS = {
  lines: 'SHOAL_SIM_LOG_LINES',
  everyMs: 'SHOAL_SIM_LOG_EVERY_MS',
  stderr: 'SHOAL_SIM_STDERR',
} as const;

export const NO_SIM_LOGS: SimLogPlan = { lines: 0, everyMs: undefined, stderr: undefined };

/** Throws SimConfigError naming the bad variable. */
export function simLogPlan(task: Task): SimLogPlan {
  const s = simSettings(task);
  const rawLines = s.get(SIM_LOG_VARS.lines)?.trim() ?? '';
  const lines = rawLines === '' ? 0 : Number(rawLines);
  if (!Number.isSafeInteger(lines) || lines < 0) throw new SimConfigError(`${SIM_LOG_VARS.lines} must be a whole number >= 0, got "${rawLines}"`);
  const rawEvery = s.get(SIM_LOG_VARS.everyMs)?.trim() ?? '';
  const every = rawEvery === '' ? undefined : Number(rawEvery);
  if (every !== undefined && (!Number.isFinite(every) || every < 1)) {
    throw new SimConfigError(`${SIM_LOG_VARS.everyMs} must be a number of milliseconds >= 1, got "${rawEvery}"`);
  }
  const stderr = s.get(SIM_LOG_VARS.stderr);
  return { lines, everyMs: every, stderr: stderr === undefined || stderr === '' ? undefined : stderr };
}

/** The lines of one started container, addressed by index. */
export class SimLog {
  /** Entries written at the start. */
  private readonly atStart: number;

  constructor(
    private readonly plan: SimLogPlan,
    /** `<task name>.<task ID>`, as Docker names a task's container. */
    private readonly label: string,
    private readonly startedAt: number,
  ) {
    this.atStart = plan.lines + (plan.stderr === undefined ? 0 : 1);
  }

  /** Entries written at or before `ms`. */
  countAtOrBefore(ms: number): number {
    if (ms < this.startedAt) return 0;
    const every = this.plan.everyMs;
    return this.atStart + (every === undefined ? 0 : Math.floor((ms - this.startedAt) / every));
  }

  /** Entries written before `ms`. */
  countBefore(ms: number): number {
    if (ms <= this.startedAt) return 0;
    const every = this.plan.everyMs;
    return this.atStart + (every === undefined ? 0 : Math.max(0, Math.ceil((ms - this.startedAt) / every) - 1));
  }

  /** When entry j is written (ms). */
  timeOf(j: number): number {
    return j < this.atStart ? this.startedAt : this.startedAt + (j - this.atStart + 1) * this.plan.everyMs!;
  }

  entry(j: number): LogEntry {
    if (j < this.plan.lines) return { stream: 'stdout', time: formatLogTime(this.startedAt, j + 1), line: Buffer.from(`line ${j + 1} of ${this.label}\n`) };
    if (j < this.atStart) return { stream: 'stderr', time: formatLogTime(this.startedAt, j + 1), line: Buffer.from(`${this.plan.stderr!}\n`) };
    const k = j - this.atStart + 1;
    return { stream: 'stdout', time: formatLogTime(this.timeOf(j)), line: Buffer.from(`tick ${k} of ${this.label}\n`) };
  }

  /**
   * The index range [from, to) a request reads from what was written by
   * `endMs`: since/until bound it, then tail keeps its last lines.
   */
  range(endMs: number, o: { sinceMs?: number | undefined; untilMs?: number | undefined; tail?: number | undefined }): { from: number; to: number } {
    let to = this.countAtOrBefore(endMs);
    if (o.untilMs !== undefined) to = Math.min(to, this.countBefore(o.untilMs));
    let from = o.sinceMs === undefined ? 0 : this.countBefore(o.sinceMs);
    if (o.tail !== undefined) from = Math.max(from, to - o.tail);
    return { from: Math.min(from, to), to };
  }
}
