// The orchestrator's reconcile step for one service (or for the tasks a
// deleted service left behind): pure, so it can be tested and simulated
// without a store, a clock or Raft.
import type { TaskRecord } from '../../shared/model/index.js';
import { stateIndex } from '../../shared/model/task-states.js';
import { reconcileGlobal, reconcileGlobalJob } from './global.js';
import { reconcileReplicatedJob } from './jobs.js';
import { modeOf } from './mode.js';
import type { ServicePlan } from './plan.js';
import { reconcileReplicated, type ServiceInput } from './replicated.js';

export function reconcileService(input: ServiceInput): ServicePlan {
  switch (modeOf(input.service.Spec)) {
    case 'replicated':
      return reconcileReplicated(input);
    case 'global':
      return reconcileGlobal(input);
    case 'replicated-job':
      return reconcileReplicatedJob(input);
    case 'global-job':
      return reconcileGlobalJob(input);
  }
}

/**
 * Tasks whose service was deleted: desired state "remove", which makes the
 * agent stop them and the task reaper delete them once they have stopped.
 */
export function reconcileOrphans(tasks: readonly TaskRecord[]): ServicePlan {
  const updates: TaskRecord[] = [];
  for (const t of tasks) {
    if (stateIndex(t.DesiredState) < stateIndex('remove')) updates.push({ ...t, DesiredState: 'remove' });
  }
  return { creates: [], updates };
}
