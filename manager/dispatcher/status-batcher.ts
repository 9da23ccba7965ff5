// Task status reports from every agent, coalesced into few Raft proposals:
// reports wait up to `flushMs` (or until `batchSize` are waiting), one report
// per task survives (mergeReports), and one transaction carries them all.
// One proposal is in flight at a time; reports arriving meanwhile wait for
// the next. The waiting room is bounded: when it is full, the sessions stop
// reading from their agents (waitForSpace), which pushes back through the
// stream's flow control to the agents, whose own reporters coalesce per task.
import type { Clock } from '../../shared/clock.js';
import { ConflictError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { TaskStatusReport } from '../../shared/protocol/dispatch.js';
import type { StoreView } from '../store/memory-store.js';
import type { Tx } from '../store/tx-builder.js';
import { applyReport, mergeReports, type PendingReport } from './status-updates.js';

/** What the batcher needs of the store: ReplicatedStore satisfies it. */
export interface StatusWriter {
  update(build: (t: Tx) => unknown): Promise<unknown>;
}

export interface StatusBatcherOptions {
  writer: StatusWriter;
  /** The leader's replica: current, since every write goes through this leader. */
  view: StoreView;
  clock: Clock;
  log: Logger;
  /** How long the first waiting report waits for company (default 50 ms). */
  flushMs?: number;
  /** Waiting reports that trigger a proposal at once (default 500). */
  batchSize?: number;
  /** Tasks per transaction at most (default 2000). */
  maxPerProposal?: number;
  /** Tasks waiting at most before sessions stop reading (default 10000). */
  maxPending?: number;
}

export class StatusBatcher {
  private pending = new Map<string, PendingReport>();
  private timer: (() => void) | undefined;
  private inFlight = false;
  private stopped = false;
  private spaceWaiters: Array<() => void> = [];
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly maxPerProposal: number;
  private readonly maxPending: number;
  /** Counters for tests and logs. */
  readonly stats = { proposals: 0, written: 0, stale: 0, foreign: 0, conflicts: 0 };

  constructor(private readonly o: StatusBatcherOptions) {
    this.flushMs = o.flushMs ?? 50;
    this.batchSize = o.batchSize ?? 500;
    this.maxPerProposal = o.maxPerProposal ?? 2000;
    this.maxPending = o.maxPending ?? 10_000;
  }

  get size(): number {
    return this.pending.size;
  }

  hasSpace(): boolean {
    return this.pending.size < this.maxPending;
  }

  /** Resolves once another report fits (at once if one does now, or after stop()). */
  waitForSpace(): Promise<void> {
    if (this.hasSpace() || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  add(nodeId: string, reports: readonly TaskStatusReport[]): void {
    if (this.stopped) return;
    for (const report of reports) {
      this.pending.set(report.taskId, mergeReports(this.pending.get(report.taskId), { nodeId, report }));
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
    this.pending.clear();
    this.wakeSpaceWaiters();
  }

  private schedule(): void {
    if (this.stopped || this.inFlight || this.pending.size === 0) return;
    if (this.pending.size >= this.batchSize) {
      this.timer?.();
      this.timer = undefined;
      void this.flush();
      return;
    }
    this.timer ??= this.o.clock.setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  private async flush(): Promise<void> {
    if (this.stopped || this.inFlight || this.pending.size === 0) return;
    this.inFlight = true;
    const batch = new Map<string, PendingReport>();
    for (const [id, p] of this.pending) {
      if (batch.size >= this.maxPerProposal) break;
      batch.set(id, p);
    }
    for (const id of batch.keys()) this.pending.delete(id);
    this.wakeSpaceWaiters();
    try {
      await this.propose(batch);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof ConflictError) {
        // Someone else (the orchestrator, say) wrote one of these tasks since we
        // read it: put back what nothing newer replaced and re-read next round.
        this.stats.conflicts++;
        for (const [id, p] of batch) if (!this.pending.has(id)) this.pending.set(id, p);
      } else {
        // Not leader any more, or Raft trouble: the agents report again when
        // they reconnect to the next leader, so nothing is kept.
        this.o.log.warn({ err: errMessage(err), reports: batch.size }, 'could not write task status reports');
      }
    } finally {
      this.inFlight = false;
    }
    this.schedule();
  }

  private async propose(batch: Map<string, PendingReport>): Promise<void> {
    let written = 0;
    await this.o.writer.update((t) => {
      // Built when the proposal is made, from the store as it is now.
      for (const [id, p] of batch) {
        const verdict = applyReport(this.o.view.get('tasks', id), p.nodeId, p.report);
        if (verdict.kind === 'apply') {
          t.update('tasks', verdict.task, verdict.task.Version.Index);
          written++;
        } else {
          this.stats[verdict.kind]++;
        }
      }
    });
    if (written > 0) {
      this.stats.proposals++;
      this.stats.written += written;
    }
  }

  private wakeSpaceWaiters(): void {
    if (!this.hasSpace() && !this.stopped) return;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
