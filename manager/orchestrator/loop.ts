// The imperative shell shared by the orchestrator and the task reaper: a
// level-triggered loop on the leader. Commits only mark keys (service IDs) as
// worth a look; after a short debounce one round reads the local store,
// asks the pure planner what to change for those keys and proposes the
// result in a few transactions of bounded size. Rounds never overlap, so a
// round always sees the previous round's writes. Timers bring keys back when
// something becomes due (a restart delay running out). A failed proposal
// (a conflict: someone wrote first) only marks its keys again.
import type { Cancel } from '../../shared/clock.js';
import { ConflictError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { TaskRecord } from '../../shared/model/index.js';
import type { ControlLoop, LeaderContext } from '../control-loop.js';
import type { StoreView } from '../store/memory-store.js';
import type { Tx } from '../store/tx-builder.js';
import type { StoreEvent } from '../store/watch.js';
import type { TaskDraft } from './plan.js';

export type TaskOp = { op: 'create'; task: TaskDraft } | { op: 'update'; task: TaskRecord } | { op: 'delete'; task: TaskRecord };

/** The writes one key needs, in order. */
export interface Work {
  key: string;
  ops: TaskOp[];
}

export interface Round {
  work: Work[];
  /** Every key the round looked at: their earlier wake-ups are replaced by `wakeups`. */
  examined: string[];
  /** Keys to look at again at a clock time (ms). */
  wakeups: Map<string, number>;
}

/** The pure part a loop drives. */
export interface Planner {
  /**
   * Add to `dirty` the keys an applied transaction makes worth a look; true
   * asks for a look at everything. Runs inside Raft's apply path: keep it cheap.
   */
  collect(events: readonly StoreEvent[], view: StoreView, dirty: Set<string>): boolean;
  /** Plan for `keys` (every key when undefined) as the store is now. */
  plan(view: StoreView, keys: ReadonlySet<string> | undefined, now: number): Round;
}

export interface LoopOptions {
  /** Wait this long after a commit before a round, so a burst of commits costs one round. */
  debounceMs?: number;
  /** Wait this long before retrying after a failed proposal or a planning error. */
  retryMs?: number;
  /** Ops per transaction at most (the store takes 10,000; smaller entries replicate and apply smoothly). */
  maxOpsPerTransaction?: number;
}

export interface ReconcileLoop extends ControlLoop {
  /** Resolves once no round is running (for tests: rounds start on clock timers, then await proposals). */
  idle(): Promise<void>;
}

/** Split the work into transactions of at most `max` ops, keeping each key's ops together where they fit. */
export function chunkWork(work: readonly Work[], max: number): Array<{ keys: Set<string>; ops: TaskOp[] }> {
  const chunks: Array<{ keys: Set<string>; ops: TaskOp[] }> = [];
  let cur: { keys: Set<string>; ops: TaskOp[] } | undefined;
  for (const w of work) {
    if (w.ops.length === 0) continue;
    if (cur && cur.ops.length + w.ops.length > max && cur.ops.length > 0) cur = undefined;
    for (let i = 0; i < w.ops.length; ) {
      if (!cur || cur.ops.length >= max) {
        cur = { keys: new Set(), ops: [] };
        chunks.push(cur);
      }
      const take = Math.min(max - cur.ops.length, w.ops.length - i);
      cur.ops.push(...w.ops.slice(i, i + take));
      cur.keys.add(w.key);
      i += take;
    }
  }
  return chunks;
}

function applyOp(t: Tx, o: TaskOp): void {
  switch (o.op) {
    case 'create':
      t.tasks.create(o.task);
      break;
    case 'update':
      t.tasks.update(o.task, o.task.Version.Index);
      break;
    case 'delete':
      t.tasks.delete(o.task.ID, o.task.Version.Index);
      break;
  }
}

export function createReconcileLoop(name: string, planner: Planner, opts: LoopOptions = {}): ReconcileLoop {
  const debounceMs = opts.debounceMs ?? 25;
  const retryMs = opts.retryMs ?? 500;
  const maxOps = opts.maxOpsPerTransaction ?? 1000;

  let ctx: LeaderContext | undefined;
  let log: Logger | undefined;
  /** Bumped by start and stop: work begun under an older epoch must not propose. */
  let epoch = 0;
  let unsubscribe: (() => void) | undefined;
  let full = false;
  let dirty = new Set<string>();
  let retryPending = false;
  let roundTimer: Cancel | undefined;
  let roundDue = Infinity;
  let busy: Promise<void> | undefined;
  const wakeups = new Map<string, number>();
  let wakeTimer: Cancel | undefined;
  let wakeDue = Infinity;

  function kick(delay: number): void {
    if (!ctx) return;
    if (busy) return; // the running round looks at `dirty` when it ends
    const due = ctx.clock.now() + delay;
    if (roundTimer && roundDue <= due) return;
    roundTimer?.();
    roundDue = due;
    roundTimer = ctx.clock.setTimeout(() => {
      roundTimer = undefined;
      roundDue = Infinity;
      startRound();
    }, delay);
  }

  function armWake(): void {
    if (!ctx) return;
    let earliest = Infinity;
    for (const at of wakeups.values()) earliest = Math.min(earliest, at);
    if (earliest === wakeDue) return;
    wakeTimer?.();
    wakeTimer = undefined;
    wakeDue = earliest;
    if (earliest === Infinity) return;
    wakeTimer = ctx.clock.setTimeout(
      () => {
        wakeTimer = undefined;
        wakeDue = Infinity;
        // Marked dirty, not just kicked: a round already running must pick these up when it ends.
        const now = ctx!.clock.now();
        for (const [k, at] of wakeups) if (at <= now) dirty.add(k);
        kick(0);
      },
      Math.max(0, earliest - ctx.clock.now()),
    );
  }

  function startRound(): void {
    const mine = epoch;
    // Marked busy before round() runs a single line, so commits it causes only mark keys.
    let finished!: () => void;
    busy = new Promise<void>((resolve) => (finished = resolve));
    void round(mine)
      .catch((err: unknown) => {
        // round() catches what it expects; anything else is a bug worth a loud line, not a dead loop.
        if (mine === epoch) {
          log!.error({ err }, `${name}: round failed; retrying`);
          full = true;
          retryPending = true;
        }
      })
      .finally(() => {
        finished();
        if (mine !== epoch) return;
        busy = undefined;
        if (full || dirty.size > 0) {
          const delay = retryPending ? retryMs : debounceMs;
          retryPending = false;
          kick(delay);
        }
      });
  }

  async function round(mine: number): Promise<void> {
    const c = ctx!;
    const view = c.memory.view();
    const now = c.clock.now();
    let keys: Set<string> | undefined = dirty;
    if (full) keys = undefined;
    full = false;
    dirty = new Set();
    for (const [k, at] of wakeups) if (at <= now) keys?.add(k);

    let plan: Round;
    try {
      plan = planner.plan(view, keys, now);
    } catch (err) {
      // A planning bug: log it and try again later rather than stop managing the cluster.
      log!.error({ err }, `${name}: planning failed; retrying`);
      if (keys) for (const k of keys) dirty.add(k);
      else full = true;
      retryPending = true;
      return;
    }
    for (const k of plan.examined) wakeups.delete(k);
    for (const [k, at] of plan.wakeups) wakeups.set(k, at);
    armWake();

    for (const chunk of chunkWork(plan.work, maxOps)) {
      if (mine !== epoch) return;
      try {
        await c.store.update((t) => {
          for (const o of chunk.ops) applyOp(t, o);
        });
      } catch (err) {
        if (mine !== epoch) return;
        for (const k of chunk.keys) dirty.add(k);
        retryPending = true;
        if (err instanceof ConflictError) log!.debug({ err: err.message }, `${name}: a task changed under us; next round re-reads`);
        else log!.warn({ err }, `${name}: proposal failed; retrying`);
      }
    }
  }

  return {
    name,
    start(leader: LeaderContext): void {
      if (ctx) this.stop();
      epoch++;
      ctx = leader;
      log = leader.log.child({ loop: name });
      full = true;
      unsubscribe = leader.memory.onCommit((ev) => {
        if (ev.kind === 'reset') full = true;
        else if (planner.collect(ev.events, leader.memory.view(), dirty)) full = true;
        if (full || dirty.size > 0) kick(debounceMs);
      });
      kick(0);
    },
    stop(): Promise<void> {
      epoch++;
      unsubscribe?.();
      unsubscribe = undefined;
      roundTimer?.();
      roundTimer = undefined;
      roundDue = Infinity;
      wakeTimer?.();
      wakeTimer = undefined;
      wakeDue = Infinity;
      wakeups.clear();
      dirty = new Set();
      full = false;
      retryPending = false;
      busy = undefined;
      ctx = undefined;
      // A proposal already handed to Raft cannot be recalled; nothing further is proposed.
      return Promise.resolve();
    },
    async idle(): Promise<void> {
      while (busy) await busy;
    },
  };
}
