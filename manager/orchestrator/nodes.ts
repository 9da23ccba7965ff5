// What the orchestrator asks of a node. Docker's rules: a node that is gone,
// down or drained keeps no tasks (swarmkit's InvalidNode); new global tasks
// go only to nodes that are ready and active; a paused node keeps what it
// runs but gets nothing new; a node in state unknown or disconnected (for
// instance right after a leader change, before its first heartbeat) is given
// the benefit of the doubt.
import type { NodeRecord, TaskRecord } from '../../shared/model/index.js';
import { compiledConstraints, nodeMatches } from './constraints.js';

export type NodeLookup = ReadonlyMap<string, NodeRecord>;

/** The task's node can no longer run it: the node was removed, is down, or is drained. */
export function nodeLost(node: NodeRecord | undefined): boolean {
  return node === undefined || node.Status.State === 'down' || node.Spec.Availability === 'drain';
}

/** The node may be given new tasks. */
export function nodeAcceptsTasks(node: NodeRecord): boolean {
  return node.Status.State === 'ready' && node.Spec.Availability === 'active';
}

/** The node no longer satisfies the placement constraints the task was scheduled with. */
export function violatesConstraints(t: TaskRecord, node: NodeRecord): boolean {
  return !nodeMatches(compiledConstraints(t.Spec.Placement?.Constraints), node);
}

export function nodeMap(nodes: Iterable<NodeRecord>): Map<string, NodeRecord> {
  const m = new Map<string, NodeRecord>();
  for (const n of nodes) m.set(n.ID, n);
  return m;
}
