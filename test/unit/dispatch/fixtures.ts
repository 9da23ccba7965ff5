// Builders shared by the dispatcher tests: task records as the scheduler
// leaves them, and status reports as agents send them.
import type { Draft } from '../../../manager/store/transaction.js';
import type { ContainerSpec, TaskRecord, TaskState } from '../../../shared/model/index.js';
import type { TaskStatusReport } from '../../../shared/protocol/dispatch.js';

/** A task placed on `node` (state assigned, desired running) unless `over` says otherwise. */
export function taskDraft(id: string, over: Partial<TaskRecord> & { env?: string[]; container?: Partial<ContainerSpec> } = {}): Draft<TaskRecord> {
  const { env, container, ...rest } = over;
  return {
    ID: id,
    ServiceID: 'svc1',
    Slot: 1,
    NodeID: 'n1',
    Spec: { ContainerSpec: { Image: 'sim/app:1', ...(env ? { Env: env } : {}), ...container } },
    Status: { Timestamp: '2024-05-01T12:00:00Z', State: 'assigned', Message: 'scheduled' },
    DesiredState: 'running',
    Internal: { SpecVersion: 1 },
    ...rest,
  };
}

export function report(taskId: string, state: TaskState, extra: Partial<TaskStatusReport> = {}): TaskStatusReport {
  return { taskId, status: { Timestamp: `t-${state}`, State: state, Message: state }, ...extra };
}
