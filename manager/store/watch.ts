// Watching the store: an async stream of changes per watcher, each with a
// bounded queue. A watcher that falls behind is closed with an error it sees
// on its next read, and its queue is dropped: memory stays bounded, and the
// consumer (a level-triggered control loop) re-reads the store and watches
// again, which is what it would have to do after missing events anyway.
import { ShoalError } from '../../shared/errors.js';
import type { ObjectOf, TableName } from './tables.js';

/** One object changed by the entry at `index`. */
export type StoreEvent = {
  [N in TableName]:
    | { kind: 'create'; table: N; object: ObjectOf<N>; index: number }
    | { kind: 'update'; table: N; object: ObjectOf<N>; previous: ObjectOf<N>; index: number }
    /** object: the last version before the delete. */
    | { kind: 'delete'; table: N; object: ObjectOf<N>; index: number };
}[TableName];

/** The whole state was replaced by a snapshot at `index`: re-read everything. */
export interface ResetEvent {
  kind: 'reset';
  index: number;
}

export type WatchEvent = StoreEvent | ResetEvent;

export interface WatchOptions {
  /** Only these tables (default: all). */
  tables?: readonly TableName[];
  /** Only events it returns true for; resets always pass. A throw closes the watcher with that error. */
  filter?: (event: StoreEvent) => boolean;
  /** Events waiting unread at most before the watcher is closed (default 1024). */
  maxQueue?: number;
}

export const DEFAULT_MAX_QUEUE = 1024;

/** A watcher read too slowly and was closed. */
export class WatchOverflowError extends ShoalError {
  constructor(maxQueue: number) {
    super(
      'watch_overflow',
      `watch closed: its reader fell behind by more than ${maxQueue} events; re-read the store and start a new watch`,
      503,
    );
  }
}

/** The store was closed while the watcher was open. */
export class WatchClosedError extends ShoalError {
  constructor(reason: string) {
    super('watch_closed', `watch closed: ${reason}`, 503);
  }
}

export class Watcher implements AsyncIterableIterator<WatchEvent> {
  private queue: WatchEvent[] = [];
  private head = 0;
  private waiting: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (err: unknown) => void } | undefined;
  private done = false;
  private failure: unknown;
  private failureDelivered = false;
  private readonly tables: ReadonlySet<TableName> | undefined;
  private readonly filter: ((event: StoreEvent) => boolean) | undefined;
  private readonly maxQueue: number;

  constructor(
    opts: WatchOptions,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.tables = opts.tables ? new Set(opts.tables) : undefined;
    this.filter = opts.filter;
    this.maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 1) throw new RangeError(`maxQueue must be a positive integer, got ${opts.maxQueue}`);
  }

  /** True once closed, by close() or by an error. */
  get closed(): boolean {
    return this.done;
  }

  /** Why the watcher closed, if not by close(). */
  get error(): unknown {
    return this.failure;
  }

  /** Events waiting to be read. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      // Compact now and then rather than shift() per event.
      if (this.head > 64 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      if (this.failure !== undefined && !this.failureDelivered) {
        this.failureDelivered = true;
        return Promise.reject(this.failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiting) return Promise.reject(new Error('Watcher.next() called again before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Called by `break` in for-await: closes the watcher. */
  return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stop watching; queued events are dropped and a pending next() ends the iteration. */
  close(): void {
    this.finish(undefined);
  }

  /** @internal Offered every event of a committed transaction, in order. */
  deliver(events: readonly StoreEvent[]): void {
    if (this.done) return;
    for (const e of events) {
      if (this.tables && !this.tables.has(e.table)) continue;
      if (this.filter) {
        let pass: boolean;
        try {
          pass = this.filter(e);
        } catch (err) {
          this.finish(err);
          return;
        }
        if (!pass) continue;
      }
      if (!this.push(e)) return;
    }
  }

  /** @internal Everything queued before a reset is moot: the reader must re-read anyway. */
  reset(index: number): void {
    if (this.done) return;
    this.queue = [];
    this.head = 0;
    this.push({ kind: 'reset', index });
  }

  /** @internal */
  fail(err: unknown): void {
    this.finish(err);
  }

  private push(e: WatchEvent): boolean {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: e, done: false });
      return true;
    }
    if (this.pending >= this.maxQueue) {
      this.finish(new WatchOverflowError(this.maxQueue));
      return false;
    }
    this.queue.push(e);
    return true;
  }

  private finish(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = err;
    this.queue = [];
    this.head = 0;
    this.onClose(this);
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    if (err === undefined) {
      w.resolve({ value: undefined, done: true });
    } else {
      this.failureDelivered = true;
      w.reject(err);
    }
  }
}

/** The set of open watchers of one store. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  get size(): number {
    return this.watchers.size;
  }

  add(opts: WatchOptions = {}): Watcher {
    const w = new Watcher(opts, (closed) => this.watchers.delete(closed));
    this.watchers.add(w);
    return w;
  }

  publish(events: readonly StoreEvent[]): void {
    if (events.length === 0) return;
    // A copy: a watcher closing itself mid-loop edits the set.
    for (const w of [...this.watchers]) w.deliver(events);
  }

  reset(index: number): void {
    for (const w of [...this.watchers]) w.reset(index);
  }

  closeAll(err: unknown): void {
    for (const w of [...this.watchers]) w.fail(err);
  }
}
