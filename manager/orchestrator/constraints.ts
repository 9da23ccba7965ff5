// Placement constraints, matched exactly as the scheduler matches them (its
// manager/scheduler/constraints.ts is the one implementation): if the two
// disagreed, the orchestrator would evict tasks the scheduler keeps placing
// on the same node. The orchestrator needs them to evict tasks whose node
// stopped satisfying their constraints (a label was removed) and to choose
// the nodes a global service runs on.
import type { NodeRecord } from '../../shared/model/index.js';
import { type Constraint, nodeMatchesConstraints, parseConstraint } from '../scheduler/constraints.js';

export type { Constraint };

/**
 * The expressions that parse. The API refuses malformed ones and the
 * scheduler leaves such a task pending with the reason; here a malformed one
 * is skipped rather than evicting every task or skipping every node.
 */
export function validConstraints(exprs: readonly string[]): Constraint[] {
  const out: Constraint[] = [];
  for (const e of exprs) {
    try {
      out.push(parseConstraint(e));
    } catch {
      // Reported by the scheduler on the task, where the user looks.
    }
  }
  return out;
}

/**
 * Parsing every task's constraints on every round would dominate large
 * services, and they share a handful of distinct lists (the stored arrays
 * are frozen and never change): memoised by array identity.
 */
const cache = new WeakMap<readonly string[], Constraint[]>();

export function compiledConstraints(exprs: readonly string[] | undefined): readonly Constraint[] {
  if (exprs === undefined || exprs.length === 0) return [];
  let c = cache.get(exprs);
  if (!c) {
    c = validConstraints(exprs);
    cache.set(exprs, c);
  }
  return c;
}

/** Every constraint holds on the node (an empty list holds everywhere). */
export function nodeMatches(constraints: readonly Constraint[], node: NodeRecord): boolean {
  return nodeMatchesConstraints(constraints, node);
}
