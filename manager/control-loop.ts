// The leader's control loops (orchestrator, scheduler, updater, dispatcher,
// task reaper) share one shape: started when this manager becomes the leader,
// stopped when it stops being one. Each is level-triggered: it reads the
// store (the leader's copy is current), compares desired with actual, and
// proposes the difference as one batched transaction; store commits are only
// a hint to run again soon. A new leader simply starts its loops.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { MemoryStore } from './store/memory-store.js';
import type { ReplicatedStore } from './store/replicated-store.js';

export interface LeaderContext {
  /** Writes: update() proposes one transaction; a stale version fails it with ConflictError. */
  store: ReplicatedStore;
  /** Reads and commit notifications (onCommit, watch) of the local replica. */
  memory: MemoryStore;
  clock: Clock;
  log: Logger;
}

export interface ControlLoop {
  readonly name: string;
  /** This manager became the leader. Must not block; schedule work on the clock. */
  start(ctx: LeaderContext): void;
  /** Leadership lost or the manager stops: stop proposing, cancel timers. */
  stop(): Promise<void>;
}

export type ControlLoopFactory = () => ControlLoop;
