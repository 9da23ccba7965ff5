// UpdateStatus as Docker reports it. The docker CLI's `service update`
// progress watches State (paused and rollback_paused make it exit non-zero
// with "service update paused: <Message>") and prints the rollback_started
// Message as "rollback: <Message>", so states and messages are swarmkit's.
import type { ServiceRecord, UpdateStatus } from '../../../shared/model/index.js';
import { formatTime } from '../../store/transaction.js';
import type { Draft } from '../../store/transaction.js';

export const UPDATE_IN_PROGRESS = 'update in progress';
export const UPDATE_COMPLETED = 'update completed';
export const ROLLBACK_COMPLETED = 'rollback completed';
/** What the API writes on `rollback=previous`; here for tests and the API to share. */
export const MANUAL_ROLLBACK = 'manually requested rollback';

export const pausedMessage = (taskId: string): string => `update paused due to failure or early termination of task ${taskId}`;
export const rollbackPausedMessage = (taskId: string): string => `rollback paused due to failure or early termination of task ${taskId}`;
export const rolledBackMessage = (taskId: string): string => `update rolled back due to failure or early termination of task ${taskId}`;

/** The update states in which the updater moves tasks. */
export function isActive(status: UpdateStatus | undefined): boolean {
  return status?.State === 'updating' || status?.State === 'rollback_started';
}

export function isRollingBack(status: UpdateStatus | undefined): boolean {
  return status?.State === 'rollback_started' || status?.State === 'rollback_paused';
}

function withStatus(service: ServiceRecord, status: UpdateStatus): Draft<ServiceRecord> {
  return { ...service, UpdateStatus: status };
}

/** A rollout nobody announced (no UpdateStatus, or a finished one) begins. */
export function startUpdate(service: ServiceRecord, now: number): Draft<ServiceRecord> {
  return withStatus(service, { State: 'updating', StartedAt: formatTime(now), Message: UPDATE_IN_PROGRESS });
}

export function completeUpdate(service: ServiceRecord, now: number): Draft<ServiceRecord> {
  const rollback = service.UpdateStatus?.State === 'rollback_started';
  return withStatus(service, {
    State: rollback ? 'rollback_completed' : 'completed',
    ...(service.UpdateStatus?.StartedAt !== undefined ? { StartedAt: service.UpdateStatus.StartedAt } : {}),
    CompletedAt: formatTime(now),
    Message: rollback ? ROLLBACK_COMPLETED : UPDATE_COMPLETED,
  });
}

/** paused, or rollback_paused while rolling back. */
export function pauseUpdate(service: ServiceRecord, failedTaskId: string): Draft<ServiceRecord> {
  const rollback = service.UpdateStatus?.State === 'rollback_started';
  return withStatus(service, {
    State: rollback ? 'rollback_paused' : 'paused',
    ...(service.UpdateStatus?.StartedAt !== undefined ? { StartedAt: service.UpdateStatus.StartedAt } : {}),
    Message: rollback ? rollbackPausedMessage(failedTaskId) : pausedMessage(failedTaskId),
  });
}

/**
 * FailureAction rollback: back to PreviousSpec under a new generation, so
 * that tasks of the failed spec become dirty. Spec and PreviousSpec swap (as
 * a manual rollback does), so a second rollback goes forward again.
 * Undefined when there is no previous spec to go back to.
 */
export function rollBack(service: ServiceRecord, failedTaskId: string): Draft<ServiceRecord> | undefined {
  if (service.PreviousSpec === undefined) return undefined;
  return {
    ...service,
    Spec: service.PreviousSpec,
    PreviousSpec: service.Spec,
    Internal: { ...service.Internal, SpecVersion: service.Internal.SpecVersion + 1 },
    UpdateStatus: {
      State: 'rollback_started',
      ...(service.UpdateStatus?.StartedAt !== undefined ? { StartedAt: service.UpdateStatus.StartedAt } : {}),
      Message: rolledBackMessage(failedTaskId),
    },
  };
}
