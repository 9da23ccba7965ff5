// ServiceStatus for `GET /services?status=true`, which `docker service ls`
// shows as REPLICAS ("2/3", "0/5 (3/10 completed)"). Counted the way the docker
// CLI counts for old daemons (AppendServiceStatus) and swarmkit's
// ListServiceStatuses: tasks on down nodes do not count; a task is running when
// it runs and is still meant to. Pure.
import type { Service, Task } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import { modeKindOf } from './service-spec.js';

export interface ServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

/** `tasks` are the service's tasks; `nodeDown(id)` says whether a node is down (or gone). */
export function serviceStatus(service: Service, tasks: readonly Task[], nodeDown: (nodeId: string) => boolean): ServiceStatus {
  const iteration = service.JobStatus?.JobIteration.Index;
  const counted = tasks.filter(
    (t) =>
      !(t.NodeID && nodeDown(t.NodeID)) &&
      // A job's earlier runs are history, not progress.
      (iteration === undefined || t.JobIteration === undefined || t.JobIteration.Index === iteration),
  );
  // Meant to run: desired running (or complete, for a job's task), not shut down or removed.
  const running = counted.filter((t) => t.Status.State === 'running' && stateIndex(t.DesiredState) <= stateIndex('complete')).length;
  const completed = counted.filter((t) => t.Status.State === 'complete').length;
  const mode = service.Spec.Mode;
  switch (modeKindOf(mode)) {
    case 'global':
      return { RunningTasks: running, DesiredTasks: counted.filter((t) => !isTerminal(t.DesiredState)).length, CompletedTasks: 0 };
    case 'replicated-job': {
      const total = mode?.ReplicatedJob?.TotalCompletions ?? mode?.ReplicatedJob?.MaxConcurrent ?? 1;
      const max = mode?.ReplicatedJob?.MaxConcurrent ?? 1;
      return { RunningTasks: running, DesiredTasks: Math.max(0, Math.min(max, total - completed)), CompletedTasks: completed };
    }
    case 'global-job': {
      // Still to complete: meant to complete and not there yet.
      const desired = counted.filter((t) => t.DesiredState === 'complete' && t.Status.State !== 'complete' && !isTerminal(t.Status.State)).length;
      return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
    }
    default:
      return { RunningTasks: running, DesiredTasks: mode?.Replicated?.Replicas ?? 1, CompletedTasks: 0 };
  }
}
