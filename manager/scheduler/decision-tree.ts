// Placement preferences as swarmkit does them: each `spread=<label>`
// preference splits the nodes by that label's value, nested in the order
// given, and tasks go to the branch holding the fewest tasks of the service,
// level by level, so the values even out (2 zones with 1 and 2 nodes: half
// the tasks in each zone). Nodes lacking the label form the "" branch. At the
// leaves, nodes are ordered by the spread strategy.
//
// Each level keeps its branches in a heap by task count, and each leaf its
// nodes in a heap, so a batch of N tasks costs O(nodes + N log nodes).
// Pure.
import type { PlacementPreference } from '../../shared/model/index.js';
import { type ConstraintField, constraintField, nodeFieldValue } from './constraints.js';
import { MinHeap } from './heap.js';
import type { NodeInfo } from './node-info.js';

/** A node that can take a task of the batch, with its live count of the service's tasks. */
export interface Candidate {
  info: NodeInfo;
  service: number;
}

/** Spread: fewest tasks of the service, then fewest tasks overall, then node ID (for determinism). */
export function candidateLess(a: Candidate, b: Candidate): boolean {
  if (a.service !== b.service) return a.service < b.service;
  if (a.info.activeTotal !== b.info.activeTotal) return a.info.activeTotal < b.info.activeTotal;
  return a.info.id < b.info.id;
}

/**
 * The label fields to spread over, outermost first. Like swarmkit, only
 * node and engine labels are supported; other descriptors are skipped.
 */
export function spreadLevels(prefs: readonly PlacementPreference[] | undefined): ConstraintField[] {
  const levels: ConstraintField[] = [];
  for (const p of prefs ?? []) {
    const descriptor = p.Spread?.SpreadDescriptor;
    if (descriptor === undefined) continue;
    const field = constraintField(descriptor.trim());
    if (field.kind === 'nodeLabel' || field.kind === 'engineLabel') levels.push(field);
  }
  return levels;
}

export class DecisionTree {
  /** Tasks of the service under this subtree: already there plus placed by this batch. */
  tasks = 0;
  private nodes: MinHeap<Candidate> | undefined;
  private branches: MinHeap<DecisionTree> | undefined;
  // Only while building.
  private pendingNodes: Candidate[] | undefined = [];
  private pendingBranches: Map<string, DecisionTree> | undefined;

  constructor(readonly key: string) {}

  /** No node below can take another task of the batch. */
  get full(): boolean {
    return this.nodes ? this.nodes.size === 0 : this.branches ? this.branches.size === 0 : true;
  }

  /**
   * Sort `nodes` into a tree: every node counts its tasks of the service
   * towards its branches (as in swarmkit), only `eligible` ones can receive.
   */
  static build(
    nodes: Iterable<NodeInfo>,
    serviceId: string,
    levels: readonly ConstraintField[],
    eligible: (n: NodeInfo) => boolean,
  ): DecisionTree {
    const root = new DecisionTree('');
    for (const info of nodes) {
      const count = info.serviceCount(serviceId);
      let t = root;
      for (const field of levels) {
        t.tasks += count;
        const value = info.node ? (nodeFieldValue(field, info.node) ?? '') : '';
        t.pendingBranches ??= new Map();
        let next = t.pendingBranches.get(value);
        if (!next) t.pendingBranches.set(value, (next = new DecisionTree(value)));
        t = next;
      }
      t.tasks += count;
      if (eligible(info)) t.pendingNodes!.push({ info, service: count });
    }
    root.seal();
    return root;
  }

  private seal(): void {
    if (this.pendingBranches) {
      const open: DecisionTree[] = [];
      for (const b of this.pendingBranches.values()) {
        b.seal();
        if (!b.full) open.push(b);
      }
      this.branches = new MinHeap(open, branchLess);
    } else {
      this.nodes = new MinHeap(this.pendingNodes!, candidateLess);
    }
    this.pendingNodes = undefined;
    this.pendingBranches = undefined;
  }

  /**
   * Place one task on the best node below (call only when not full).
   * `assign` records the placement and says whether the node can take yet
   * another task of the batch; a node that cannot leaves the tree.
   */
  placeOne(assign: (c: Candidate) => boolean): Candidate {
    this.tasks++;
    if (this.nodes) {
      const c = this.nodes.peek()!;
      if (assign(c)) this.nodes.topIncreased();
      else this.nodes.pop();
      return c;
    }
    const branch = this.branches!.peek()!;
    const c = branch.placeOne(assign);
    if (branch.full) this.branches!.pop();
    else this.branches!.topIncreased();
    return c;
  }
}

function branchLess(a: DecisionTree, b: DecisionTree): boolean {
  if (a.tasks !== b.tasks) return a.tasks < b.tasks;
  return a.key < b.key;
}
