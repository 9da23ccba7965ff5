// The task reaper's decisions, pure. Deletes:
//  - tasks desired "remove" (their service was deleted) once they stopped,
//    never got to a node, or sit on a node that is gone, down or unknown
//    (an agent that comes back is sent its full assignment set and stops
//    whatever is no longer in it);
//  - history beyond TaskHistoryRetentionLimit per slot (per node for global
//    modes), oldest first, counting the task that runs there as Docker does:
//    `docker service ps` shows at most that many tasks per slot. When the
//    restart policy has MaxAttempts, MaxAttempts + 1 tasks are kept (more if
//    the limit is higher) so the restart count can be read back from the store,
//    and a slot's newest task always stays (it records a slot used up under
//    the restart policy, which must not look empty and be refilled);
//  - all stopped tasks of slots the service no longer uses (scaled down),
//    and of nodes that were removed.
// Only tasks the orchestrator is done with are deleted: stopped tasks whose
// desired state is past running (or that never reached a node, or whose node
// was removed and so will never report them stopped). Completed
// tasks of the current job execution are its record of completions and stay.
import type { ServiceRecord, TaskRecord } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import { isJobMode, isPerNodeMode, jobCountsOf, jobIterationOf, modeOf } from './mode.js';
import type { NodeLookup } from './nodes.js';
import { planReplicated } from './replicated.js';
import { isRunnable, restartPolicyOf } from './restart.js';
import { groupBy } from './slots.js';
import { byCreation } from './times.js';

/** Docker's default TaskHistoryRetentionLimit. */
export const DEFAULT_RETENTION_LIMIT = 5;

export interface ReapInput {
  /** The service; undefined when it was deleted. */
  service: ServiceRecord | undefined;
  /** The tasks carrying its ID. */
  tasks: readonly TaskRecord[];
  nodes: NodeLookup;
  /** The cluster's TaskHistoryRetentionLimit; negative keeps all history. */
  retentionLimit: number;
  now: number;
}

function neverPlaced(t: TaskRecord): boolean {
  return stateIndex(t.Status.State) < stateIndex('assigned');
}

function removable(t: TaskRecord, nodes: NodeLookup): boolean {
  if (isTerminal(t.Status.State) || neverPlaced(t)) return true;
  const node = t.NodeID ? nodes.get(t.NodeID) : undefined;
  return node === undefined || node.Status.State === 'down' || node.Status.State === 'unknown';
}

export function planReap(input: ReapInput): TaskRecord[] {
  const { service, tasks, nodes } = input;
  const out: TaskRecord[] = [];
  const rest: TaskRecord[] = [];
  for (const t of tasks) {
    if (t.DesiredState === 'remove') {
      if (removable(t, nodes)) out.push(t);
    } else {
      rest.push(t);
    }
  }
  if (service === undefined) return out;

  const kind = modeOf(service.Spec);
  const job = isJobMode(kind);
  const iteration = job ? jobIterationOf(service) : 0;
  const done = (t: TaskRecord): boolean => {
    // A task on a node that was removed will never report again: as good as stopped.
    const nodeRemoved = t.NodeID !== undefined && t.NodeID !== '' && !nodes.has(t.NodeID);
    const stopped = isTerminal(t.Status.State) || neverPlaced(t) || nodeRemoved;
    if (!stopped) return false;
    if (!isRunnable(t, job)) return true;
    // Job tasks keep desired "complete" once done; only those of earlier executions are history.
    return job && isTerminal(t.Status.State) && (t.JobIteration?.Index ?? -1) !== iteration;
  };

  const perNode = isPerNodeMode(kind);
  const groups = groupBy(rest, (t) => (perNode ? (t.NodeID ?? '') : String(t.Slot ?? 0)));
  const retired = retiredGroups(input, kind, groups);

  const { maxAttempts } = restartPolicyOf(service.Spec.TaskTemplate);
  const keep = input.retentionLimit < 0 ? Infinity : Math.max(input.retentionLimit, maxAttempts > 0 ? maxAttempts + 1 : 0);
  for (const [key, group] of groups) {
    const old = group.filter(done).sort(byCreation);
    if (retired.has(key)) {
      out.push(...old);
      continue;
    }
    // The newest task of a slot in use stays whatever the limit: it is how the
    // orchestrator knows the slot ran out of restarts rather than never ran.
    let excess = Math.min(group.length - keep, old.length - (old.at(-1) === newest(group) ? 1 : 0));
    for (const t of old) {
      if (excess <= 0) break;
      out.push(t);
      excess--;
    }
  }
  return out;
}

function newest(group: readonly TaskRecord[]): TaskRecord | undefined {
  return group.reduce<TaskRecord | undefined>((a, t) => (a === undefined || byCreation(a, t) < 0 ? t : a), undefined);
}

/** Groups whose history no longer belongs to anything: slots scaled away, nodes removed. */
function retiredGroups(input: ReapInput, kind: ReturnType<typeof modeOf>, groups: Map<string, TaskRecord[]>): Set<string> {
  const retired = new Set<string>();
  const service = input.service!;
  switch (kind) {
    case 'global':
    case 'global-job':
      for (const key of groups.keys()) if (!input.nodes.has(key)) retired.add(key);
      break;
    case 'replicated': {
      const { slotsInUse } = planReplicated({ service, tasks: input.tasks, nodes: input.nodes, now: input.now, newId: () => 'reaper-dry-run' });
      for (const key of groups.keys()) if (!slotsInUse.has(Number(key))) retired.add(key);
      break;
    }
    case 'replicated-job': {
      const { totalCompletions } = jobCountsOf(service.Spec);
      for (const key of groups.keys()) if (Number(key) > totalCompletions || Number(key) < 1) retired.add(key);
      break;
    }
  }
  return retired;
}
