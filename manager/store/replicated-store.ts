// The store as the rest of the manager uses it: writes go through Raft as one
// entry per transaction, reads come from the local MemoryStore that Raft
// applies to. RaftNode is the Proposer in the daemon; tests use fakes.
import type { Clock } from '../../shared/clock.js';
import type { ApplyResult, CommitListener, MemoryStore, StoreView } from './memory-store.js';
import { encodeTransaction, formatTime } from './transaction.js';
import { type Tx, tx } from './tx-builder.js';
import type { Watcher, WatchOptions } from './watch.js';

/** What the store needs from Raft (RaftNode satisfies it). */
export interface Proposer {
  /** Replicate `data`; resolves with the state machine's apply result for it, rejects with its error. */
  propose(data: Uint8Array, opts?: { timeoutMs?: number }): Promise<unknown>;
  /** Resolves once the local state machine has applied everything committed before the call. */
  read(opts?: { timeoutMs?: number }): Promise<void>;
}

function isApplyResult(value: unknown): value is ApplyResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApplyResult).index === 'number' &&
    Array.isArray((value as ApplyResult).objects)
  );
}

export class ReplicatedStore {
  /**
   * @param store the state machine this node's Raft applies to
   * @param clock source of each transaction's time (CreatedAt / UpdatedAt)
   */
  constructor(
    readonly store: MemoryStore,
    private readonly proposer: Proposer,
    private readonly clock: Clock,
  ) {}

  /**
   * Build a transaction and commit it as one Raft entry. Resolves with what
   * apply returned (the entry's index and the written objects); rejects with
   * apply's error (ConflictError, NotFoundError, InvalidArgumentError) or
   * Raft's (NotLeaderError, timeouts...). A transaction with no ops is not
   * proposed and resolves with the current applied index. `build` may be
   * async; its return value is otherwise ignored (so `(t) => t.nodes.create(n)` reads well).
   */
  async update(build: (t: Tx) => unknown, opts: { timeoutMs?: number } = {}): Promise<ApplyResult> {
    const t = tx();
    await build(t);
    if (t.ops.length === 0) return { index: this.store.appliedIndex, objects: [] };
    const data = encodeTransaction({ time: formatTime(this.clock.now()), ops: t.ops });
    const result = await this.proposer.propose(data, opts);
    if (!isApplyResult(result)) {
      throw new Error(`the proposer resolved with ${typeof result}, not a store apply result: is it replicating a MemoryStore?`);
    }
    return result;
  }

  /**
   * Read with linearizable semantics: `fn` sees every write that completed
   * before this call, on any manager. `fn` runs synchronously on the local
   * state right after the read barrier, so it sees one consistent state.
   */
  async readLinearizable<T>(fn: (view: StoreView) => T, opts: { timeoutMs?: number } = {}): Promise<T> {
    await this.proposer.read(opts);
    return fn(this.store.view());
  }

  /** The local state, possibly behind the leader (a follower lags, a partitioned one more so). */
  view(): StoreView {
    return this.store.view();
  }

  watch(opts?: WatchOptions): Watcher {
    return this.store.watch(opts);
  }

  onCommit(listener: CommitListener): () => void {
    return this.store.onCommit(listener);
  }
}
