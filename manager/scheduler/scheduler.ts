// The scheduler's shell: keeps the ClusterState and the set of schedulable
// tasks current from the leader's commit stream, runs a round shortly after
// something relevant changed (debounced, as swarmkit does), and proposes the
// round's task writes in batched transactions.
//
// One round at a time. A round records its placements in the ClusterState
// at once; the next round starts only after every transaction of this one
// has been applied locally or has failed, so a task is never placed twice
// and a failed write is undone by re-reading the tasks it carried.
import type { ControlLoop, LeaderContext } from '../control-loop.js';
import type { CommitEvent } from '../store/memory-store.js';
import { formatTime } from '../store/transaction.js';
import type { ResetEvent, StoreEvent } from '../store/watch.js';
import { ConflictError } from '../../shared/errors.js';
import type { ServiceRecord, TaskRecord } from '../../shared/model/index.js';
import type { Cancel } from '../../shared/clock.js';
import { ClusterState } from './node-info.js';
import { type Assignment, scheduleRound, type Unplaced } from './placement.js';
import { awaitsNetworks, isSchedulable, occupiesNode, type ServiceLookup } from './task-facts.js';
import { assignedTask, explainedTask } from './task-updates.js';

export interface SchedulerOptions {
  /** Quiet time after the last relevant commit before a round starts (default 25 ms). */
  debounceMs?: number;
  /** A steady stream of commits delays a round at most this long (default 500 ms). */
  maxDelayMs?: number;
  /** Task writes per transaction (default 2500; the store allows 10,000). */
  batchSize?: number;
  /** Wait before retrying after a write failed for a reason other than a conflict (default 1000 ms). */
  retryMs?: number;
  /** Transactions in flight at once (default 4). */
  inFlight?: number;
  /** Per transaction (default: the proposer's). */
  proposalTimeoutMs?: number;
}

export interface SchedulerStats {
  rounds: number;
  /** Tasks written as assigned (committed). */
  assigned: number;
  /** Pending tasks given a new Status.Err (committed). */
  explained: number;
  transactions: number;
  /** Transactions refused because a task moved meanwhile. */
  conflicts: number;
  /** Transactions that failed otherwise (lost leadership, timeouts). */
  failures: number;
  /** Milliseconds the last round spent deciding (before proposing). */
  lastDecideMs: number;
}

export interface Scheduler extends ControlLoop {
  /** Resolves once no round is running; a round merely scheduled on the clock is not waited for. */
  idle(): Promise<void>;
  stats(): SchedulerStats;
}

const DEFAULTS = { debounceMs: 25, maxDelayMs: 500, batchSize: 2500, retryMs: 1000, inFlight: 4 };

export function createScheduler(opts: SchedulerOptions = {}): Scheduler {
  return new SchedulerLoop({ ...DEFAULTS, ...opts });
}

type Options = typeof DEFAULTS & SchedulerOptions;

/** What a round decided for one task: a node, or why none. */
type Decision = Assignment | Unplaced;

/** A pending task changed in a way that may change its placement (not just our own Status.Err). */
function placementInputsChanged(prev: TaskRecord, next: TaskRecord): boolean {
  return (
    prev.NodeID !== next.NodeID ||
    prev.DesiredState !== next.DesiredState ||
    // The spec version names the spec: tasks are made from the service's TaskTemplate at that version.
    prev.Internal.SpecVersion !== next.Internal.SpecVersion ||
    // The allocator gave it its network addresses: it may be placed now.
    prev.NetworksAttachments !== next.NetworksAttachments
  );
}

class SchedulerLoop implements Scheduler {
  readonly name = 'scheduler';
  private ctx: LeaderContext | undefined;
  /** Bumped by start and stop, so a round outliving its term changes nothing. */
  private term = 0;
  private unsubscribe: (() => void) | undefined;
  private state: ClusterState | undefined;
  private readonly pending = new Map<string, TaskRecord>();
  private needsRebuild = true;
  private dirty = false;
  private firstDirtyAt: number | undefined;
  private timer: Cancel | undefined;
  private roundDone: Promise<void> | undefined;
  /** Set from the moment a round starts, before its promise exists. */
  private roundRunning = false;
  private readonly counters: SchedulerStats = { rounds: 0, assigned: 0, explained: 0, transactions: 0, conflicts: 0, failures: 0, lastDecideMs: 0 };
  private services: ServiceLookup = () => undefined;

  constructor(private readonly opts: Options) {}

  start(ctx: LeaderContext): void {
    if (this.ctx) throw new Error('scheduler already started; stop it first');
    this.ctx = ctx;
    this.term++;
    const memory = ctx.memory;
    this.services = (id: string): ServiceRecord | undefined => memory.get('services', id);
    // Listen first, read on the first round: the read supersedes every event
    // before it, and events after it are applied on top.
    this.needsRebuild = true;
    this.unsubscribe = memory.onCommit((e) => this.onCommit(e));
    this.markDirty(0);
  }

  async stop(): Promise<void> {
    if (!this.ctx) return;
    this.term++;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.timer?.();
    this.timer = undefined;
    this.ctx = undefined;
    await this.roundDone;
    this.state = undefined;
    this.pending.clear();
    this.dirty = false;
    this.firstDirtyAt = undefined;
  }

  async idle(): Promise<void> {
    while (this.roundDone) await this.roundDone;
  }

  stats(): SchedulerStats {
    return { ...this.counters };
  }

  private rebuild(): void {
    const memory = this.ctx!.memory;
    const state = ClusterState.build(memory.list('nodes'), [], this.services);
    this.pending.clear();
    for (const t of memory.list('tasks')) {
      if (occupiesNode(t)) state.observeTask(t.ID, t);
      else if (isSchedulable(t)) this.pending.set(t.ID, t);
    }
    this.state = state;
    this.needsRebuild = false;
  }

  private onCommit(e: CommitEvent | ResetEvent): void {
    if (e.kind === 'reset') {
      this.needsRebuild = true;
      this.markDirty();
      return;
    }
    if (this.needsRebuild) {
      // The rebuild will read all of this; only make sure it happens.
      this.markDirty();
      return;
    }
    let relevant = false;
    for (const ev of e.events) if (this.observe(ev)) relevant = true;
    if (relevant) this.markDirty();
  }

  /** Apply one store event to the cache; true if it may let a round place something new. */
  private observe(ev: StoreEvent): boolean {
    const state = this.state!;
    switch (ev.table) {
      case 'tasks': {
        const task = ev.kind === 'delete' ? undefined : ev.object;
        const freed = state.observeTask(ev.object.ID, task);
        let relevant = freed && this.pending.size > 0;
        if (task && isSchedulable(task)) {
          const prev = this.pending.get(task.ID);
          this.pending.set(task.ID, task);
          if (!prev || placementInputsChanged(prev, task)) relevant = true;
        } else {
          this.pending.delete(ev.object.ID);
        }
        return relevant;
      }
      case 'nodes':
        if (ev.kind === 'delete') state.removeNode(ev.object.ID);
        else state.upsertNode(ev.object);
        return this.pending.size > 0;
      case 'services':
        // Host ports come from the service's endpoint spec.
        return this.pending.size > 0;
      default:
        return false;
    }
  }

  /** Ask for a round: after the debounce gap, or `delayMs` when given. */
  private markDirty(delayMs?: number): void {
    this.dirty = true;
    if (!this.ctx || this.roundRunning) return; // the running round re-arms when it ends
    const clock = this.ctx.clock;
    const now = clock.now();
    this.firstDirtyAt ??= now;
    // Debounced, but a steady stream of commits cannot hold a round off for longer than maxDelayMs.
    const delay = delayMs ?? Math.max(0, Math.min(this.opts.debounceMs, this.firstDirtyAt + this.opts.maxDelayMs - now));
    this.timer?.();
    const term = this.term;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (term === this.term) this.startRound();
    }, delay);
  }

  private startRound(): void {
    this.roundRunning = true;
    const round = this.round(this.term).catch((err: unknown) => {
      this.ctx?.log.error({ err }, 'scheduler round failed');
    });
    this.roundDone = round.finally(() => {
      this.roundRunning = false;
      this.roundDone = undefined;
      const retryAfter = this.retryAfter;
      this.retryAfter = undefined;
      if (this.dirty && this.ctx) this.markDirty(retryAfter);
    });
  }

  /** Pending tasks minus those still waiting for their network addresses (the allocator's commit brings them back). */
  private *placeable(): Iterable<TaskRecord> {
    for (const t of this.pending.values()) if (!awaitsNetworks(t, this.services)) yield t;
  }

  /** Set by a round whose writes failed for a reason other than a conflict. */
  private retryAfter: number | undefined;

  private async round(term: number): Promise<void> {
    const ctx = this.ctx!;
    this.dirty = false;
    this.firstDirtyAt = undefined;
    if (this.needsRebuild) this.rebuild();
    const started = ctx.clock.now();
    const result = scheduleRound(this.state!, this.placeable(), this.services);
    const time = formatTime(ctx.clock.now());
    const decisions: Decision[] = result.assigned.slice();
    // An unchanged verdict costs no write (and so triggers no further round).
    for (const u of result.unplaced) if (u.task.Status.Err !== u.err) decisions.push(u);
    this.counters.rounds++;
    this.counters.lastDecideMs = ctx.clock.now() - started;
    if (decisions.length === 0) return;
    ctx.log.debug({ assigned: result.assigned.length, unplaced: result.unplaced.length, writes: decisions.length }, 'scheduler round');
    await this.propose(ctx, term, decisions, time);
  }

  /**
   * A few transactions in flight at a time: enough for Raft to batch them
   * into shared fsyncs, few enough that the first ones commit while later
   * ones are still being encoded, and that a big round cannot queue more than
   * the proposer accepts or time out waiting behind itself. Each batch's task
   * objects are built just before it is proposed, so they die young instead
   * of all 100,000 surviving into the old generation.
   */
  private async propose(ctx: LeaderContext, term: number, decisions: readonly Decision[], time: string): Promise<void> {
    const timeout = this.opts.proposalTimeoutMs === undefined ? {} : { timeoutMs: this.opts.proposalTimeoutMs };
    const size = this.opts.batchSize;
    let next = 0;
    let stopped = false;
    const worker = async (): Promise<void> => {
      while (!stopped && next < decisions.length && term === this.term) {
        const batch = decisions.slice(next, next + size);
        next += batch.length;
        try {
          await ctx.store.update((t) => {
            for (const d of batch) {
              const w = 'nodeId' in d ? assignedTask(d, time) : explainedTask(d, time);
              if (w) t.tasks.update(w, d.task.Version.Index);
            }
          }, timeout);
          this.counters.transactions++;
          for (const d of batch) {
            if ('nodeId' in d) this.counters.assigned++;
            else this.counters.explained++;
          }
        } catch (err) {
          this.counters.transactions++;
          if (err instanceof ConflictError) {
            // Someone moved a task first: normal, the next round reads it again.
            this.counters.conflicts++;
            ctx.log.debug({ err, tasks: batch.length }, 'scheduler lost a race; retrying on the next round');
          } else {
            // Lost leadership, timed out...: the rest would fail alike. Try again later.
            this.counters.failures++;
            this.retryAfter = this.opts.retryMs;
            stopped = true;
            ctx.log.warn({ err, tasks: batch.length }, 'scheduler could not write its decisions; retrying later');
          }
          if (term === this.term) this.undo(batch);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.inFlight, Math.ceil(decisions.length / size)) }, worker));
    // Decisions never proposed: forget their placements too.
    if (term === this.term && next < decisions.length) this.undo(decisions.slice(next));
  }

  /** Forget what a failed transaction claimed: the store's version of each task is the truth. */
  private undo(batch: readonly Decision[]): void {
    const memory = this.ctx!.memory;
    for (const { task } of batch) {
      const current = memory.get('tasks', task.ID);
      this.state!.observeTask(task.ID, current);
      if (current && isSchedulable(current)) this.pending.set(task.ID, current);
      else this.pending.delete(task.ID);
    }
    this.dirty = true;
  }
}
