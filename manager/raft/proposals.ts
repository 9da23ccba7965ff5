// Bookkeeping for proposals between propose() and apply: queued until the
// driver's next loop iteration hands them to the core in one batch, then
// tracked by log index until the entry at that index is applied.
import type { Clock } from '../../shared/clock.js';
import { LeadershipChangedError, OverloadedError, RaftTimeoutError } from './node-errors.js';
import { type Entry, EntryType } from './types.js';

export interface PendingProposal {
  /** index and term are 0 until the core appends it. */
  readonly entry: Entry;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  settled: boolean;
  /** clock.now() after which the proposal times out. */
  readonly deadline: number;
  readonly timeoutMs: number;
}

export class ProposalTracker {
  private queued: PendingProposal[] = [];
  private confQueued: PendingProposal[] = [];
  private readonly byIndex = new Map<number, PendingProposal>();
  private live = 0;

  constructor(
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  /** Proposals queued or in the log and not yet settled. */
  get size(): number {
    return this.live;
  }

  hasQueued(): boolean {
    return this.queued.length > 0;
  }

  hasQueuedConfChange(): boolean {
    return this.confQueued.length > 0;
  }

  enqueue(entry: Entry, timeoutMs: number): Promise<unknown> {
    if (this.live >= this.max) return Promise.reject(new OverloadedError('proposals', this.max));
    // Timeouts are swept on ticks (expire) instead of a timer per proposal:
    // at tens of thousands of proposals a second, timers were a visible cost.
    const deadline = this.clock.now() + timeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const p: PendingProposal = { entry, resolve, reject, settled: false, deadline, timeoutMs };
      this.live++;
      (entry.type === EntryType.ConfChange ? this.confQueued : this.queued).push(p);
    });
  }

  /** Up to `max` queued normal proposals, oldest first; timed-out ones are skipped. */
  takeQueued(max: number): PendingProposal[] {
    let taken: PendingProposal[];
    if (this.queued.length <= max) {
      taken = this.queued;
      this.queued = [];
    } else {
      taken = this.queued.slice(0, max);
      this.queued = this.queued.slice(max);
    }
    return taken.some((p) => p.settled) ? taken.filter((p) => !p.settled) : taken;
  }

  /** The oldest queued configuration change: they go to the core one at a time. */
  takeQueuedConfChange(): PendingProposal | undefined {
    for (;;) {
      const p = this.confQueued.shift();
      if (p === undefined || !p.settled) return p;
    }
  }

  /** The core appended p.entry (its index and term are set now). */
  track(p: PendingProposal): void {
    if (p.settled) return;
    const prev = this.byIndex.get(p.entry.index);
    // Our own older proposal at the same index can only have been overwritten.
    if (prev) this.fail(prev, new LeadershipChangedError(prev.entry.index));
    this.byIndex.set(p.entry.index, p);
  }

  /** The proposal at this index, if any, removed from tracking. */
  take(index: number): PendingProposal | undefined {
    const p = this.byIndex.get(index);
    if (p) this.byIndex.delete(index);
    return p;
  }

  /**
   * An entry of `term` was applied at `index`. A log's terms never decrease,
   * so a proposal tracked above `index` from an older term is in no log a
   * leader can ever commit: it was dropped, and retrying is safe. (Without
   * this, a deposed leader's proposal past the new leader's last entry would
   * wait out its timeout and then claim it "may still be applied".)
   */
  dropSuperseded(index: number, term: number): void {
    for (const p of [...this.byIndex.values()]) {
      if (p.entry.index > index && p.entry.term < term) this.fail(p, new LeadershipChangedError(p.entry.index));
    }
  }

  /** Tracked proposals at or below `index`, removed from tracking. */
  takeUpTo(index: number): PendingProposal[] {
    const out: PendingProposal[] = [];
    for (const [i, p] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      out.push(p);
    }
    return out;
  }

  succeed(p: PendingProposal, value: unknown): void {
    if (this.finish(p)) p.resolve(value);
  }

  fail(p: PendingProposal, err: unknown): void {
    if (this.finish(p)) p.reject(err);
  }

  /** Reject every proposal whose deadline has passed. Called on each tick. */
  expire(now: number): void {
    if (this.live === 0) return;
    const expired = (p: PendingProposal): boolean => !p.settled && p.deadline <= now;
    const due = [...this.queued.filter(expired), ...this.confQueued.filter(expired)];
    for (const p of this.byIndex.values()) if (expired(p)) due.push(p);
    for (const p of due) {
      const where = p.entry.index > 0 ? `at log index ${p.entry.index}` : 'before it reached the log';
      this.fail(
        p,
        new RaftTimeoutError(
          `proposal not applied within ${p.timeoutMs} ms (${where}); a majority of nodes may be down or unreachable. ` +
            'It may still be applied later: read the state before retrying',
        ),
      );
    }
  }

  /** Marks p settled; false if it already was. */
  private finish(p: PendingProposal): boolean {
    if (p.settled) return false;
    p.settled = true;
    this.live--;
    if (p.entry.index > 0 && this.byIndex.get(p.entry.index) === p) this.byIndex.delete(p.entry.index);
    return true;
  }

  /** Reject every proposal still queued (not yet handed to the core). */
  rejectQueued(err: () => unknown): void {
    const all = [...this.queued, ...this.confQueued];
    this.queued = [];
    this.confQueued = [];
    for (const p of all) this.fail(p, err());
  }

  rejectAll(err: () => unknown): void {
    this.rejectQueued(err);
    for (const p of [...this.byIndex.values()]) this.fail(p, err());
    this.byIndex.clear();
  }
}
