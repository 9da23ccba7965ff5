// How the updater reads tasks and services. "Dirty" is the one notion the
// API's `_up-to-date` task filter should share with the updater (see
// isTaskDirty).
import { stateIndex, isTerminal } from '../../../shared/model/task-states.js';
import type { ServiceRecord, TaskRecord } from '../../../shared/model/index.js';
import { dataEqual } from './spec-equal.js';

export type ServiceKind = 'replicated' | 'global' | 'job';

export function serviceKind(service: ServiceRecord): ServiceKind {
  const mode = service.Spec.Mode;
  // Jobs run to completion per JobIteration; Docker never rolls them.
  if (mode?.ReplicatedJob !== undefined || mode?.GlobalJob !== undefined) return 'job';
  if (mode?.Global !== undefined) return 'global';
  return 'replicated';
}

/** Replicated: the slot number; global: the node. */
export function slotKey(kind: ServiceKind, task: TaskRecord): string {
  return kind === 'global' ? (task.NodeID ?? '') : String(task.Slot ?? 0);
}

/** Desired to run (running, or ready while a restart delay runs) and not stopped yet. */
export function isLive(task: TaskRecord): boolean {
  return stateIndex(task.DesiredState) <= stateIndex('running') && !isTerminal(task.Status.State);
}

/** Whether the task's health decides if it is up: its spec has a healthcheck, or its image's reports one. */
export function isHealthGated(task: TaskRecord): boolean {
  const test = task.Spec.ContainerSpec?.HealthCheck?.Test;
  if (test !== undefined && test[0] === 'NONE') return false;
  if (test !== undefined && test.length > 0) return true;
  return task.Internal.Health !== undefined;
}

/** Running, and healthy when it has a healthcheck: what start-first and Monitor wait for. */
export function isUp(task: TaskRecord): boolean {
  return isLive(task) && task.Status.State === 'running' && (!isHealthGated(task) || task.Internal.Health === 'healthy');
}

/**
 * Stopped on its own (exit, error, rejection) or reported unhealthy: a
 * "failure or early termination" in Docker's words. Docker's agent kills an
 * unhealthy container, so unhealthy counts at once rather than when the
 * agent gets round to it. `shutdown` is what a task reports when it was asked
 * to stop, so it is not a failure.
 */
export function isFailure(task: TaskRecord): boolean {
  const s = task.Status.State;
  if (s === 'failed' || s === 'rejected' || s === 'complete') return true;
  return isLive(task) && isHealthGated(task) && task.Internal.Health === 'unhealthy';
}

/**
 * A task needs replacing when it was made from another spec generation,
 * unless its spec is the service's task template and the last spec change
 * left the endpoint and networks alone (tasks do not record those, so only
 * then is the template the whole story). This is swarmkit's IsTaskDirty:
 * the generation is a fast path, the spec decides. It is what keeps a
 * rollback from replacing the tasks that were never updated: a rollback
 * makes a new generation whose template is theirs. The API's `_up-to-date`
 * task filter must use this same test, or `service rollback` progress would
 * never see those tasks as current.
 */
export function isTaskDirty(service: ServiceRecord, task: TaskRecord): boolean {
  if (task.Internal.SpecVersion === service.Internal.SpecVersion) return false;
  if (!dataEqual(task.Spec, service.Spec.TaskTemplate)) return true;
  const previous = service.PreviousSpec;
  if (previous === undefined) return false;
  return !dataEqual(previous.EndpointSpec, service.Spec.EndpointSpec) || !dataEqual(previous.Networks, service.Spec.Networks);
}
