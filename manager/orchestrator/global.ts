// Global services and global jobs: one task per eligible node, made for that
// node (NodeID preset, Slot 0). A node is eligible when it is ready, active
// and satisfies the service's constraints. Tasks leave nodes that were
// removed, went down, were drained or stopped satisfying the constraints; a
// paused node (or one whose state is not known yet) keeps what it runs but
// gets nothing new. A global job runs once per node per execution.
import type { NodeRecord, TaskRecord } from '../../shared/model/index.js';
import { compiledConstraints, nodeMatches } from './constraints.js';
import { jobIterationOf } from './mode.js';
import { nodeAcceptsTasks, nodeLost } from './nodes.js';
import { PlanBuilder, type ServicePlan } from './plan.js';
import type { ServiceInput } from './replicated.js';
import { runCeiling } from './restart.js';
import { examineSlot, groupBy, restartDesired, stopAll } from './slots.js';

function reconcilePerNode(input: ServiceInput, job: boolean): ServicePlan {
  const { service, nodes, now } = input;
  const b = new PlanBuilder(service, now, input.newId);
  const generation = job ? jobIterationOf(service) : service.Internal.SpecVersion;
  const generationOf = job ? (t: TaskRecord) => t.JobIteration?.Index ?? -1 : (t: TaskRecord) => t.Internal.SpecVersion;
  const ctx = { job, generation, generationOf, nodes, stopOtherGenerations: job };
  const constraints = compiledConstraints(service.Spec.TaskTemplate.Placement?.Constraints);
  const fits = (n: NodeRecord): boolean => nodeMatches(constraints, n);
  const eligible = (n: NodeRecord | undefined): n is NodeRecord => n !== undefined && nodeAcceptsTasks(n) && fits(n);
  const iteration = job ? { jobIteration: generation } : {};

  const byNode = groupBy(input.tasks, (t) => t.NodeID ?? '');
  const seen = new Set<string>();
  for (const [nodeId, tasks] of [...byNode].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) {
    const node = nodes.get(nodeId);
    if (nodeId === '' || node === undefined || nodeLost(node) || !fits(node)) {
      // Not a node this service runs on (any more): stop, replace nowhere.
      stopAll(b, tasks, job);
      continue;
    }
    seen.add(nodeId);
    const report = examineSlot(b, tasks, ctx);
    if (!eligible(node)) continue;
    switch (report.kind) {
      case 'restart':
        b.create({ slot: 0, nodeId, desired: restartDesired(b, job), ...iteration });
        break;
      case 'replace':
      case 'free':
        b.create({ slot: 0, nodeId, desired: runCeiling(job), ...iteration });
        break;
      default:
        break;
    }
  }
  for (const node of [...nodes.values()].sort((a, c) => (a.ID < c.ID ? -1 : a.ID > c.ID ? 1 : 0))) {
    if (!seen.has(node.ID) && eligible(node)) b.create({ slot: 0, nodeId: node.ID, desired: runCeiling(job), ...iteration });
  }
  return b.result();
}

export function reconcileGlobal(input: ServiceInput): ServicePlan {
  return reconcilePerNode(input, false);
}

export function reconcileGlobalJob(input: ServiceInput): ServicePlan {
  return reconcilePerNode(input, true);
}
