// The task writes a round's decisions turn into, per docs/task-lifecycle.md:
// the scheduler writes NodeID and Status (assigned), or Status.Err on a task
// that stays pending. Pure.
import type { Draft } from '../store/transaction.js';
import type { TaskRecord } from '../../shared/model/index.js';
import type { Assignment, Unplaced } from './placement.js';

export const ASSIGNED_MESSAGE = 'scheduler assigned task to node';
export const PREASSIGNED_MESSAGE = 'scheduler confirmed task can run on preassigned node';

/** The task as assigned; the previous Status (and any Err) is replaced. */
export function assignedTask(a: Assignment, time: string): Draft<TaskRecord> {
  return {
    ...a.task,
    NodeID: a.nodeId,
    Status: { Timestamp: time, State: 'assigned', Message: a.preassigned ? PREASSIGNED_MESSAGE : ASSIGNED_MESSAGE },
  };
}

/**
 * The task still pending, with the reason in Status.Err; undefined when it
 * already says exactly that, so an unchanged verdict costs no write (and
 * triggers no further round).
 */
export function explainedTask(u: Unplaced, time: string): Draft<TaskRecord> | undefined {
  if (u.task.Status.Err === u.err) return undefined;
  return { ...u.task, Status: { ...u.task.Status, Timestamp: time, Err: u.err } };
}
