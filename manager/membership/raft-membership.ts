// The Raft membership the node records ask for, one step at a time. Pure:
// the leader's reconcile loop feeds it the store's nodes and Raft's view and
// carries out the single action it returns (Raft allows one membership change
// in flight, so there is never more than one to do).

export interface ManagerCandidate {
  nodeId: string;
  wantsManager: boolean;
  raftId: number;
  ready: boolean;
}

export interface MembershipView {
  voters: readonly number[];
  learners: readonly number[];
  /** Log index each member has replicated up to (leader's progress). */
  match: ReadonlyMap<number, number>;
  lastIndex: number;
}

export type MembershipAction =
  | { kind: 'assign-raft-id'; nodeId: string }
  | { kind: 'add-learner'; raftId: number; nodeId: string }
  | { kind: 'promote'; raftId: number; nodeId: string }
  | { kind: 'remove'; raftId: number; nodeId: string | undefined }
  | { kind: 'clear-raft-id'; nodeId: string };

/** How far behind (in entries) a learner may be and still be promoted. */
export const CATCH_UP_GAP = 100;

export function nextMembershipAction(nodes: readonly ManagerCandidate[], view: MembershipView): MembershipAction | undefined {
  const members = new Set([...view.voters, ...view.learners]);
  const byRaftId = new Map(nodes.filter((n) => n.raftId !== 0).map((n) => [n.raftId, n]));

  // Shrinking first: a member nobody wants any more holds a vote it should not.
  for (const id of [...view.learners, ...view.voters]) {
    const n = byRaftId.get(id);
    if (n === undefined || !n.wantsManager) return { kind: 'remove', raftId: id, nodeId: n?.nodeId };
  }
  for (const n of nodes) {
    if (!n.wantsManager && n.raftId !== 0 && !members.has(n.raftId)) return { kind: 'clear-raft-id', nodeId: n.nodeId };
  }
  for (const n of nodes) {
    if (!n.wantsManager) continue;
    if (n.raftId === 0) return { kind: 'assign-raft-id', nodeId: n.nodeId };
    if (!members.has(n.raftId) && n.ready) return { kind: 'add-learner', raftId: n.raftId, nodeId: n.nodeId };
  }
  for (const id of view.learners) {
    const n = byRaftId.get(id);
    if (n === undefined) continue;
    const match = view.match.get(id) ?? 0;
    // Match 0: the learner has acknowledged nothing yet (it may not even be reachable);
    // making it a voter now could cost the quorum, however short the log is.
    if (match > 0 && match + CATCH_UP_GAP >= view.lastIndex) return { kind: 'promote', raftId: id, nodeId: n.nodeId };
  }
  return undefined;
}
