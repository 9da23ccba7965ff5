// One scheduling round: decide a node for every schedulable pending task, or
// why there is none. Tasks of one service at one spec version are alike for
// every filter, so they are placed as one batch: the nodes are filtered and
// arranged once, then each task costs a few heap moves. Tasks made for a
// node (global services) are checked against that node only.
//
// Pure but not read-only: every placement is recorded in the ClusterState
// passed in, so later batches (and the next round, until the store confirms
// or refutes it) see it.
import type { TaskRecord } from '../../shared/model/index.js';
import { type Candidate, DecisionTree, spreadLevels } from './decision-tree.js';
import { explainFailures, noSuitableNode, Pipeline, requirementsOf } from './filters.js';
import type { ClusterState } from './node-info.js';
import { footprint, isSchedulable, type ServiceLookup } from './task-facts.js';

export interface Assignment {
  task: TaskRecord;
  nodeId: string;
  /** The task came with its node (global services): the scheduler only confirmed it fits. */
  preassigned: boolean;
}

export interface Unplaced {
  task: TaskRecord;
  /** For Status.Err: "no suitable node (...)". */
  err: string;
}

export interface RoundResult {
  assigned: Assignment[];
  unplaced: Unplaced[];
}

/** Tasks that share every input of the filters: the same service at the same spec version. */
function groupKey(t: TaskRecord): string {
  return `${t.ServiceID}\0${t.Internal.SpecVersion}`;
}

function bySlotThenId(a: TaskRecord, b: TaskRecord): number {
  return (a.Slot ?? 0) - (b.Slot ?? 0) || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);
}

function byId(a: TaskRecord, b: TaskRecord): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}

export function scheduleRound(state: ClusterState, pending: Iterable<TaskRecord>, services: ServiceLookup): RoundResult {
  const out: RoundResult = { assigned: [], unplaced: [] };
  const preassigned: TaskRecord[] = [];
  // Service -> spec version -> tasks: no key string built per task.
  const groups = new Map<string, Map<number, TaskRecord[]>>();
  for (const t of pending) {
    if (!isSchedulable(t)) continue;
    if (t.NodeID !== undefined && t.NodeID !== '') {
      preassigned.push(t);
      continue;
    }
    let versions = groups.get(t.ServiceID);
    if (!versions) groups.set(t.ServiceID, (versions = new Map()));
    const g = versions.get(t.Internal.SpecVersion);
    if (g) g.push(t);
    else versions.set(t.Internal.SpecVersion, [t]);
  }
  // Deterministic order: the same store gives the same placements. Global
  // tasks first, as in swarmkit: they are bound to their node and should not
  // find it filled by replicas placed a moment earlier.
  preassigned.sort(byId);
  const pipelines = new Map<string, Pipeline | string>();
  for (const t of preassigned) placePreassigned(state, t, services, pipelines, out);
  for (const serviceId of [...groups.keys()].sort()) {
    const versions = groups.get(serviceId)!;
    for (const v of [...versions.keys()].sort((a, b) => a - b)) placeBatch(state, versions.get(v)!.sort(bySlotThenId), services, out);
  }
  return out;
}

/** The pipeline for a task's group, built once per round; a string is the reason its spec cannot be placed. */
function pipelineFor(t: TaskRecord, services: ServiceLookup, cache: Map<string, Pipeline | string>): Pipeline | string {
  const k = groupKey(t);
  let p = cache.get(k);
  if (p === undefined) {
    const req = requirementsOf(t, services);
    p = 'error' in req ? noSuitableNode(req.error) : new Pipeline(req);
    cache.set(k, p);
  }
  return p;
}

function placePreassigned(state: ClusterState, t: TaskRecord, services: ServiceLookup, cache: Map<string, Pipeline | string>, out: RoundResult): void {
  const p = pipelineFor(t, services, cache);
  if (typeof p === 'string') {
    out.unplaced.push({ task: t, err: p });
    return;
  }
  const nodeId = t.NodeID!;
  const info = state.info(nodeId);
  if (!info) {
    out.unplaced.push({ task: t, err: noSuitableNode(`node ${nodeId} is not in the swarm`) });
    return;
  }
  const failed = p.firstFailure(info);
  if (failed !== undefined) {
    out.unplaced.push({ task: t, err: noSuitableNode(explainFailures(new Map([[failed, 1]]))) });
    return;
  }
  state.place(t.ID, nodeId, footprint(t, services));
  out.assigned.push({ task: t, nodeId, preassigned: true });
}

/**
 * Place a batch of alike tasks (sorted as they should be served). Unplaced
 * tasks all get the same explanation, taken once at the end against what
 * the nodes hold by then.
 */
export function placeBatch(state: ClusterState, tasks: readonly TaskRecord[], services: ServiceLookup, out: RoundResult): void {
  if (tasks.length === 0) return;
  const first = tasks[0]!;
  const req = requirementsOf(first, services);
  if ('error' in req) {
    const err = noSuitableNode(req.error);
    for (const task of tasks) out.unplaced.push({ task, err });
    return;
  }
  const pipeline = new Pipeline(req);
  const tree = DecisionTree.build(state.nodes(), req.serviceId, spreadLevels(first.Spec.Placement?.Preferences), (n) => pipeline.passes(n));
  // Every task of the batch leaves the same footprint (schedulable tasks all count for spread).
  const f = footprint(first, services);
  let i = 0;
  for (; i < tasks.length && !tree.full; i++) {
    const task = tasks[i]!;
    const c = tree.placeOne((c: Candidate) => {
      state.place(task.ID, c.info.id, f);
      c.service++;
      return pipeline.passesDynamic(c.info);
    });
    out.assigned.push({ task, nodeId: c.info.id, preassigned: false });
  }
  if (i === tasks.length) return;
  const err = noSuitableNode(pipeline.explain(state.nodes()));
  for (; i < tasks.length; i++) out.unplaced.push({ task: tasks[i]!, err });
}
