// Order and classes of Docker's task states.
import { TASK_STATES, type TaskState } from './task.js';

const ORDER = new Map<TaskState, number>(TASK_STATES.map((s, i) => [s, i]));

/** Position in the lifecycle: a task's observed and desired states only move forward. */
export function stateIndex(s: TaskState): number {
  return ORDER.get(s)!;
}

/** The task has stopped for good (or never ran): complete, shutdown, failed, rejected, remove, orphaned. */
export function isTerminal(s: TaskState): boolean {
  return stateIndex(s) >= stateIndex('complete');
}

/** Placed on a node and not yet terminal. */
export function isActiveOnNode(s: TaskState): boolean {
  return stateIndex(s) >= stateIndex('assigned') && !isTerminal(s);
}
