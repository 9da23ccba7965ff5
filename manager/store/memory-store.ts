// The store's state machine: every manager runs one, and Raft feeds it the
// same committed entries in the same order. Nothing else writes to it.
//
// Objects handed out (getters, watch events, apply results) are the stored
// objects themselves, deep-frozen when they were written: reads cost no copy,
// and a reader that tries to modify one gets a TypeError instead of silently
// changing the replica. To change an object, copy it (structuredClone or
// spreads), edit the copy and propose it.
import type { Logger } from '../../shared/logger.js';
import { createLogger } from '../../shared/logger.js';
import type { StateMachine } from '../raft/node-types.js';
import type { Entry } from '../raft/types.js';
import { type Change, planTransaction } from './plan.js';
import { buildTables, decodeSnapshot, emptySnapshot, encodeSnapshot } from './snapshot.js';
import type { TableState } from './table-state.js';
import { decodeTransaction } from './transaction.js';
import {
  type IndexKey,
  type MultiIndexOf,
  type ObjectOf,
  type StoredObject,
  TABLE_NAMES,
  type TableName,
  type UniqueIndexOf,
} from './tables.js';
import { type ResetEvent, type StoreEvent, WatchClosedError, type Watcher, WatchHub, type WatchOptions } from './watch.js';

/** What apply returns to the proposer. */
export interface ApplyResult {
  /** The entry's Raft index: the new Version.Index of every object written. */
  index: number;
  /** Per op, in op order: the object as stored now (create, update) or as it was (delete). */
  objects: readonly StoredObject[];
}

/** Read access to the store's current state. */
export interface StoreView {
  /** Index of the last entry applied (or restored from a snapshot). */
  readonly appliedIndex: number;
  get<N extends TableName>(table: N, id: string): ObjectOf<N> | undefined;
  /** Every object of the table, ordered by ID. */
  list<N extends TableName>(table: N): ObjectOf<N>[];
  /** The object holding `key` in a unique index. */
  lookup<N extends TableName>(table: N, index: UniqueIndexOf<N>, key: IndexKey): ObjectOf<N> | undefined;
  /** The objects under `key` in a non-unique index, ordered by ID. */
  find<N extends TableName>(table: N, index: MultiIndexOf<N>, key: IndexKey): ObjectOf<N>[];
  count(table: TableName): number;
}

/** One applied transaction, for in-process listeners. */
export interface CommitEvent {
  kind: 'commit';
  index: number;
  time: string;
  events: readonly StoreEvent[];
}

export type CommitListener = (event: CommitEvent | ResetEvent) => void;

export interface MemoryStoreOptions {
  /** Where a throwing commit listener is reported (default: a 'store' logger on stderr). */
  logger?: Logger;
}

function toEvent(c: Change, index: number): StoreEvent {
  // The planner pairs kinds with before/after; the casts only re-attach each table's object type.
  switch (c.kind) {
    case 'create':
      return { kind: 'create', table: c.table, object: c.after!, index } as StoreEvent;
    case 'update':
      return { kind: 'update', table: c.table, object: c.after!, previous: c.before!, index } as StoreEvent;
    case 'delete':
      return { kind: 'delete', table: c.table, object: c.before!, index } as StoreEvent;
  }
}

export class MemoryStore implements StateMachine, StoreView {
  private tables: Map<TableName, TableState> = buildTables(emptySnapshot());
  private applied = 0;
  private readonly hub = new WatchHub();
  private readonly listeners = new Set<CommitListener>();
  private logger: Logger | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.logger = opts.logger;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /**
   * Apply one committed entry. A rejected transaction (malformed, stale
   * version, missing object, unique clash) throws before any object changes;
   * the entry still counts as applied, on every replica alike.
   */
  apply(entry: Entry): ApplyResult {
    const index = entry.index;
    if (index <= this.applied) {
      // Raft never does this; carrying on would stamp versions that go backwards.
      throw new Error(`store asked to apply entry ${index} but has already applied up to ${this.applied}`);
    }
    // Empty entries are the no-ops new leaders append; they change nothing.
    if (entry.data.byteLength === 0) {
      this.applied = index;
      return { index, objects: [] };
    }
    let changes: Change[];
    let time: string;
    try {
      const tx = decodeTransaction(entry.data);
      time = tx.time;
      changes = planTransaction(this.tables, tx, index);
    } catch (err) {
      this.applied = index;
      throw err;
    }
    for (const c of changes) {
      const t = this.tables.get(c.table)!;
      if (c.after) t.put(c.after);
      else t.delete(c.before!.ID);
    }
    this.applied = index;
    const events = changes.map((c) => toEvent(c, index));
    this.hub.publish(events);
    this.notify({ kind: 'commit', index, time, events });
    return { index, objects: changes.map((c) => (c.after ?? c.before)!) };
  }

  snapshot(): Uint8Array {
    const s = emptySnapshot();
    s.appliedIndex = this.applied;
    for (const name of TABLE_NAMES) s.tables[name] = this.tables.get(name)!.list();
    return encodeSnapshot(s);
  }

  /** Replace everything with a snapshot's state; watchers and listeners get a reset. Throws (changing nothing) on a bad snapshot. */
  restore(data: Uint8Array): void {
    const s = decodeSnapshot(data);
    // Built completely before the swap, so a bad snapshot leaves the old state in place.
    const tables = buildTables(s);
    this.tables = tables;
    this.applied = s.appliedIndex;
    this.hub.reset(s.appliedIndex);
    this.notify({ kind: 'reset', index: s.appliedIndex });
  }

  get<N extends TableName>(table: N, id: string): ObjectOf<N> | undefined {
    return this.table(table).get(id) as ObjectOf<N> | undefined;
  }

  list<N extends TableName>(table: N): ObjectOf<N>[] {
    return this.table(table).list() as ObjectOf<N>[];
  }

  lookup<N extends TableName>(table: N, index: UniqueIndexOf<N>, key: IndexKey): ObjectOf<N> | undefined {
    const t = this.table(table);
    const id = t.owner(index, key);
    return id === undefined ? undefined : (t.get(id) as ObjectOf<N>);
  }

  find<N extends TableName>(table: N, index: MultiIndexOf<N>, key: IndexKey): ObjectOf<N>[] {
    const t = this.table(table);
    return t.findIds(index, key).map((id) => t.get(id) as ObjectOf<N>);
  }

  count(table: TableName): number {
    return this.table(table).size;
  }

  /**
   * The store as read-only state. It is live: it reflects entries applied
   * later. Reads in one synchronous stretch see one consistent state, since
   * entries are applied synchronously between turns of the event loop.
   */
  view(): StoreView {
    return this;
  }

  /**
   * Changes from now on. To pair a consistent read with the changes after it,
   * read and call watch() in the same synchronous stretch: nothing can be
   * applied in between.
   */
  watch(opts: WatchOptions = {}): Watcher {
    return this.hub.add(opts);
  }

  /** Open watchers. */
  get watchers(): number {
    return this.hub.size;
  }

  /**
   * Called synchronously after each applied transaction (and after a
   * restore), for in-process control loops that only need a nudge. Keep it
   * cheap: it runs inside Raft's apply loop. Returns the unsubscribe function.
   */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Close every watcher with an error saying why (e.g. this manager is stopping). */
  closeWatchers(reason: string): void {
    this.hub.closeAll(new WatchClosedError(reason));
  }

  private table(name: TableName): TableState {
    const t = this.tables.get(name);
    if (!t) throw new RangeError(`no table "${String(name)}" (tables: ${TABLE_NAMES.join(', ')})`);
    return t;
  }

  private notify(event: CommitEvent | ResetEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        // The entry is applied whatever a listener does; its bug must not turn into a replica divergence.
        this.logger ??= createLogger({ name: 'store' });
        this.logger.error({ err, index: event.index }, 'a store commit listener threw');
      }
    }
  }
}
