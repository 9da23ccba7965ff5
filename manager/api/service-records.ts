// How service create, update, rollback and remove change the stored records,
// as the control loops expect (docs/task-lifecycle.md). Pure: the caller reads
// the store, calls these, and proposes the result as one transaction.
//
// Internal.SpecVersion moves only when the service needs new tasks (its task
// template, endpoint or networks changed, or a job runs again): the updater
// replaces every task whose SpecVersion differs, so a scale or a label change
// must leave it alone, as Docker's updater leaves tasks that are not "dirty".
import { ShoalError, InvalidArgumentError } from '../../shared/errors.js';
import type { ServiceRecord, ServiceSpec, TaskRecord, UpdateStatus } from '../../shared/model/index.js';
import { stateIndex } from '../../shared/model/task-states.js';
import { MANUAL_ROLLBACK, UPDATE_IN_PROGRESS } from '../orchestrator/update/status.js';
import type { Draft } from '../store/transaction.js';
import { isJob, modeKind, taskDefinitionKey } from './service-spec.js';

type ServiceDraft = Draft<ServiceRecord>;

/** Docker answers these with gRPC's Unimplemented, which dockerd turns into 501. */
export class NotImplementedError extends ShoalError {
  constructor(message: string) {
    super('not_implemented', message, 501);
  }
}

/** A fresh service: SpecVersion 1, no PreviousSpec; jobs start their first run. */
export function newServiceRecord(id: string, spec: ServiceSpec, now: string): ServiceDraft {
  return {
    ID: id,
    Spec: spec,
    Internal: { SpecVersion: 1 },
    ...(isJob(spec) ? { JobStatus: { JobIteration: { Index: 0 }, LastExecution: now } } : {}),
  };
}

/** The record without what the store stamps and without UpdateStatus. */
function base(current: ServiceRecord): ServiceDraft {
  const { Version: _v, CreatedAt: _c, UpdatedAt: _u, UpdateStatus: _s, ServiceStatus: _st, ...rest } = current;
  return rest;
}

function nextJobStatus(current: ServiceRecord, now: string): Pick<ServiceDraft, 'JobStatus'> {
  if (current.JobStatus === undefined) return {};
  return { JobStatus: { JobIteration: { Index: current.JobStatus.JobIteration.Index + 1 }, LastExecution: now } };
}

/** An update or rollback in flight: a spec change that needs no new tasks must not end it. */
function inProgress(s: UpdateStatus | undefined): boolean {
  return s?.State === 'updating' || s?.State === 'rollback_started';
}

/** The checks swarmkit makes before accepting a new spec for an existing service. */
export function checkUpdateAllowed(current: ServiceRecord, spec: ServiceSpec): void {
  if ((spec.Name ?? '') !== current.Spec.Name) {
    throw new NotImplementedError(
      `renaming services is not supported (service ${current.Spec.Name ?? current.ID} cannot become ${JSON.stringify(spec.Name ?? '')}); create a new service instead`,
    );
  }
  if (modeKind(spec) !== modeKind(current.Spec)) {
    throw new NotImplementedError(
      `service mode change is not allowed (${modeKind(current.Spec)} to ${modeKind(spec)}); remove the service and create it again in the new mode`,
    );
  }
}

/**
 * POST /services/{id}/update: PreviousSpec is always the old spec (so a scale
 * can be rolled back, as in Docker). When new tasks are needed SpecVersion
 * moves and UpdateStatus says "updating"; otherwise a finished or paused
 * UpdateStatus is cleared, as swarmkit does (an update resumes a paused one),
 * and one in flight is kept.
 */
export function updatedServiceRecord(current: ServiceRecord, spec: ServiceSpec, now: string): ServiceDraft {
  const job = current.JobStatus !== undefined;
  // A job runs again whenever its spec changes at all.
  const newTasks = job || taskDefinitionKey(spec) !== taskDefinitionKey(current.Spec);
  const out: ServiceDraft = {
    ...base(current),
    Spec: spec,
    PreviousSpec: current.Spec,
    Internal: { ...current.Internal, SpecVersion: current.Internal.SpecVersion + (newTasks ? 1 : 0) },
    ...nextJobStatus(current, now),
  };
  // Jobs are not rolled out by the updater: they have no UpdateStatus.
  if (newTasks && !job) out.UpdateStatus = { State: 'updating', StartedAt: now, Message: UPDATE_IN_PROGRESS };
  else if (!newTasks && inProgress(current.UpdateStatus)) out.UpdateStatus = current.UpdateStatus!;
  return out;
}

/** `?rollback=previous`: Spec and PreviousSpec trade places. */
export function rolledBackServiceRecord(current: ServiceRecord, now: string): ServiceDraft {
  const previous = current.PreviousSpec;
  if (previous === undefined) {
    throw new InvalidArgumentError(
      `service ${current.Spec.Name ?? current.ID} does not have a previous spec: it was never updated, so there is nothing to roll back to`,
    );
  }
  const job = current.JobStatus !== undefined;
  const newTasks = job || taskDefinitionKey(previous) !== taskDefinitionKey(current.Spec);
  const out: ServiceDraft = {
    ...base(current),
    Spec: previous,
    PreviousSpec: current.Spec,
    Internal: { ...current.Internal, SpecVersion: current.Internal.SpecVersion + (newTasks ? 1 : 0) },
    ...nextJobStatus(current, now),
  };
  // Docker reports a manual rollback even when no task changes (the updater then completes it at once).
  if (!job) out.UpdateStatus = { State: 'rollback_started', StartedAt: now, Message: MANUAL_ROLLBACK };
  return out;
}

/**
 * swarmkit's checkPortConflicts: a published port may be used by one service
 * in ingress mode, or by any number in host mode (the scheduler keeps them
 * apart), never both. `selfId` is skipped (an update).
 */
export function portConflict(spec: ServiceSpec, selfId: string | undefined, others: readonly ServiceRecord[]): string | undefined {
  const wanted = (spec.EndpointSpec?.Ports ?? []).filter((p) => (p.PublishedPort ?? 0) > 0);
  if (wanted.length === 0) return undefined;
  for (const other of others) {
    if (other.ID === selfId) continue;
    for (const theirs of other.Spec.EndpointSpec?.Ports ?? []) {
      if (!theirs.PublishedPort) continue;
      for (const mine of wanted) {
        if (mine.PublishedPort !== theirs.PublishedPort || (mine.Protocol ?? 'tcp') !== (theirs.Protocol ?? 'tcp')) continue;
        const theirMode = theirs.PublishMode ?? 'ingress';
        const myMode = mine.PublishMode ?? 'ingress';
        if (theirMode === 'host' && myMode === 'host') continue;
        return `port '${theirs.PublishedPort}' is already in use by service '${other.Spec.Name ?? ''}' (${other.ID}) as ${theirMode === 'host' ? 'a host-published' : 'an ingress'} port`;
      }
    }
  }
  return undefined;
}

/** Tasks of a removed service are told to go; desired state only moves forward. */
export function needsRemoval(task: TaskRecord): boolean {
  return stateIndex(task.DesiredState) < stateIndex('remove');
}

export function removedTask(task: TaskRecord): Draft<TaskRecord> {
  return { ...task, DesiredState: 'remove' };
}
