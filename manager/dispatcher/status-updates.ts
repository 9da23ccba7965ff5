// What a status report from an agent may change in the store. Pure: the
// batcher (status-batcher.ts) decides when to propose. The rules follow
// docs/task-lifecycle.md: an agent writes only Status (forward only) and
// Internal.Health, only for tasks placed on its own node, and never moves a
// task out of a terminal state.
import type { TaskRecord } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import type { TaskStatusReport } from '../../shared/protocol/dispatch.js';

export interface PendingReport {
  nodeId: string;
  report: TaskStatusReport;
}

/**
 * Two reports for one task waiting in the same batch: the one further along
 * wins (reports can arrive out of order across reconnects); at the same
 * state, the later one (it may carry a newer health or message).
 */
export function mergeReports(prev: PendingReport | undefined, next: PendingReport): PendingReport {
  if (prev === undefined || prev.nodeId !== next.nodeId) return next;
  const a = stateIndex(prev.report.status.State);
  const b = stateIndex(next.report.status.State);
  if (b < a) {
    // The older report's state stands, but a health reading is news either way.
    return next.report.health === undefined ? prev : { nodeId: prev.nodeId, report: { ...prev.report, health: next.report.health } };
  }
  if (next.report.health === undefined && prev.report.health !== undefined) {
    return { nodeId: next.nodeId, report: { ...next.report, health: prev.report.health } };
  }
  return next;
}

export type ReportVerdict =
  | { kind: 'apply'; task: TaskRecord }
  /** Nothing to write: the store already says this or more. */
  | { kind: 'stale' }
  /** The report is not this node's to make (unknown task, or placed elsewhere). */
  | { kind: 'foreign' };

/** The task as it should be after the report, or why the report changes nothing. */
export function applyReport(current: TaskRecord | undefined, nodeId: string, report: TaskStatusReport): ReportVerdict {
  if (current === undefined || current.NodeID !== nodeId) return { kind: 'foreign' };
  const cur = current.Status.State;
  const next = report.status.State;
  const forward = !isTerminal(cur) && stateIndex(next) > stateIndex(cur);
  const health = report.health !== undefined && report.health !== current.Internal.Health && !isTerminal(cur) ? report.health : undefined;
  if (!forward && health === undefined) return { kind: 'stale' };
  const task: TaskRecord = { ...current };
  if (forward) task.Status = report.status;
  if (health !== undefined) task.Internal = { ...current.Internal, Health: health };
  return { kind: 'apply', task };
}
