// Linearizable reads through ReadIndex. Every read() queued between two loop
// iterations shares one request context: one quorum round trip confirms the
// leadership for all of them. A batch then waits until this node has applied
// the read index the leader returned.
import type { Cancel, Clock } from '../../shared/clock.js';
import { OverloadedError, RaftTimeoutError } from './node-errors.js';
import type { ReadState } from './types.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
  settled: boolean;
  cancelTimer: Cancel | undefined;
}

interface ReadBatch {
  ctx: Uint8Array;
  waiters: Waiter[];
  /** The read index, once the leader has answered. */
  index: number | undefined;
  issuedAt: number;
}

export class ReadTracker {
  private queued: Waiter[] = [];
  private readonly issued = new Map<string, ReadBatch>();
  private answered: ReadBatch[] = [];
  private seq = 0;
  private live = 0;
  /** Distinguishes this incarnation's contexts from an earlier one's still pending at the leader. */
  private readonly prefix: string;

  constructor(
    nodeId: string,
    nonce: number,
    private readonly max: number,
    private readonly clock: Clock,
  ) {
    this.prefix = `${nodeId}/${nonce.toString(36)}/`;
  }

  get size(): number {
    return this.live;
  }

  hasQueued(): boolean {
    return this.queued.length > 0;
  }

  enqueue(timeoutMs: number): Promise<void> {
    if (this.live >= this.max) return Promise.reject(new OverloadedError('reads', this.max));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, settled: false, cancelTimer: undefined };
      w.cancelTimer = this.clock.setTimeout(() => {
        this.fail(
          w,
          new RaftTimeoutError(
            `linearizable read not confirmed within ${timeoutMs} ms; no leader could confirm a quorum (is a majority of nodes up and reachable?)`,
          ),
        );
      }, timeoutMs);
      this.live++;
      this.queued.push(w);
    });
  }

  /** Turn the queued reads into one batch; returns its context for RawNode.readIndex. */
  issue(): Uint8Array | undefined {
    const waiters = this.queued.filter((w) => !w.settled);
    this.queued = [];
    if (waiters.length === 0) return undefined;
    const key = `${this.prefix}${(this.seq++).toString(36)}`;
    const ctx = new Uint8Array(Buffer.from(key, 'latin1'));
    this.issued.set(key, { ctx, waiters, index: undefined, issuedAt: this.clock.now() });
    return ctx;
  }

  /**
   * Contexts of batches unanswered for retryMs: the request or its answer may
   * have been lost, or there was no leader to forward it to.
   */
  retryDue(retryMs: number): Uint8Array[] {
    const now = this.clock.now();
    const out: Uint8Array[] = [];
    for (const [key, b] of this.issued) {
      if (b.waiters.every((w) => w.settled)) {
        this.issued.delete(key);
        continue;
      }
      if (now - b.issuedAt < retryMs) continue;
      b.issuedAt = now;
      out.push(b.ctx);
    }
    return out;
  }

  /** A ReadState arrived; the batch is served as soon as `applied` reaches its index. */
  onReadState(rs: ReadState, applied: number): void {
    const key = Buffer.from(rs.requestCtx.buffer, rs.requestCtx.byteOffset, rs.requestCtx.byteLength).toString('latin1');
    const b = this.issued.get(key);
    // Unknown: a duplicate answer to a retried request, or one from before a restart.
    if (!b) return;
    this.issued.delete(key);
    b.index = rs.index;
    if (rs.index <= applied) this.serve(b);
    else this.answered.push(b);
  }

  onApplied(applied: number): void {
    if (this.answered.length === 0) return;
    const still: ReadBatch[] = [];
    for (const b of this.answered) {
      if (b.index !== undefined && b.index <= applied) this.serve(b);
      else still.push(b);
    }
    this.answered = still;
  }

  rejectAll(err: () => unknown): void {
    const all = [...this.queued];
    for (const b of this.issued.values()) all.push(...b.waiters);
    for (const b of this.answered) all.push(...b.waiters);
    this.queued = [];
    this.issued.clear();
    this.answered = [];
    for (const w of all) this.fail(w, err());
  }

  private serve(b: ReadBatch): void {
    for (const w of b.waiters) {
      if (this.finish(w)) w.resolve();
    }
  }

  private fail(w: Waiter, err: unknown): void {
    if (this.finish(w)) w.reject(err);
  }

  private finish(w: Waiter): boolean {
    if (w.settled) return false;
    w.settled = true;
    this.live--;
    w.cancelTimer?.();
    return true;
  }
}
