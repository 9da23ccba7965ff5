import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CATCH_UP_GAP,
  nextMembershipAction,
  type ManagerCandidate,
  type MembershipAction,
  type MembershipView,
} from '../../../manager/membership/raft-membership.js';

function node(nodeId: string, raftId: number, wantsManager = true, ready = true): ManagerCandidate {
  return { nodeId, raftId, wantsManager, ready };
}

function view(voters: number[], learners: number[] = [], lastIndex = 50, match?: Map<number, number>): MembershipView {
  return {
    voters,
    learners,
    lastIndex,
    match: match ?? new Map([...voters, ...learners].map((id) => [id, lastIndex])),
  };
}

test('a settled cluster needs nothing', () => {
  assert.equal(nextMembershipAction([node('a', 1), node('b', 2), node('c', 3), node('w', 0, false)], view([1, 2, 3])), undefined);
  assert.equal(nextMembershipAction([], view([])), undefined);
});

test('members nobody wants are removed before anything is added', () => {
  const nodes = [
    node('a', 1),
    node('demoted', 2, false),
    node('new', 0), // wants a raft id
    node('ready-to-add', 9),
  ];
  const v = view([1, 2], [7]); // 7: a learner whose node record is gone (node rm)
  const first = nextMembershipAction(nodes, v);
  assert.deepEqual(first, { kind: 'remove', raftId: 7, nodeId: undefined }, 'learners without a record go first');
  const second = nextMembershipAction(nodes, view([1, 2]));
  assert.deepEqual(second, { kind: 'remove', raftId: 2, nodeId: 'demoted' });
  // A voter with no node record at all.
  assert.deepEqual(nextMembershipAction([node('a', 1)], view([1, 5])), { kind: 'remove', raftId: 5, nodeId: undefined });
});

test('a demoted node keeps its raft id until it has left the conf, then it is cleared', () => {
  const nodes = [node('a', 1), node('b', 2, false)];
  assert.deepEqual(nextMembershipAction(nodes, view([1, 2])), { kind: 'remove', raftId: 2, nodeId: 'b' });
  assert.deepEqual(nextMembershipAction(nodes, view([1], [2])), { kind: 'remove', raftId: 2, nodeId: 'b' }, 'also as a learner');
  assert.deepEqual(nextMembershipAction(nodes, view([1])), { kind: 'clear-raft-id', nodeId: 'b' });
  // Clearing comes before growing.
  assert.deepEqual(nextMembershipAction([...nodes, node('c', 0)], view([1])), { kind: 'clear-raft-id', nodeId: 'b' });
});

test('a new manager gets a raft id, joins as a learner once ready, then is promoted when caught up', () => {
  assert.deepEqual(nextMembershipAction([node('a', 1), node('b', 0)], view([1])), { kind: 'assign-raft-id', nodeId: 'b' });
  assert.deepEqual(nextMembershipAction([node('a', 1), node('b', 0, true, false)], view([1])), { kind: 'assign-raft-id', nodeId: 'b' }, 'an id does not need the node up');
  assert.equal(nextMembershipAction([node('a', 1), node('b', 2, true, false)], view([1])), undefined, 'a node that is not ready is not added');
  assert.deepEqual(nextMembershipAction([node('a', 1), node('b', 2)], view([1])), { kind: 'add-learner', raftId: 2, nodeId: 'b' });
  assert.deepEqual(nextMembershipAction([node('a', 1), node('b', 2)], view([1], [2])), { kind: 'promote', raftId: 2, nodeId: 'b' });
});

test('only caught-up learners are promoted', () => {
  const nodes = [node('a', 1), node('b', 2)];
  const at = (match: number, lastIndex: number): MembershipAction | undefined =>
    nextMembershipAction(nodes, view([1], [2], lastIndex, new Map([[1, lastIndex], [2, match]])));
  assert.equal(at(1000 - CATCH_UP_GAP - 1, 1000), undefined, 'one entry too far behind');
  assert.deepEqual(at(1000 - CATCH_UP_GAP, 1000), { kind: 'promote', raftId: 2, nodeId: 'b' }, 'exactly the allowed gap');
  assert.deepEqual(at(1000, 1000), { kind: 'promote', raftId: 2, nodeId: 'b' });
  // A learner that has acknowledged nothing is not caught up, however short the log: making an
  // unreachable node a voter of a one-manager swarm would lose the quorum.
  assert.equal(at(0, 10), undefined, 'match 0 on a short log');
  assert.equal(nextMembershipAction(nodes, view([1], [2], 10, new Map([[1, 10]]))), undefined, 'no progress known');
  // A learner that does not want to be a manager any more is removed, never promoted.
  assert.deepEqual(nextMembershipAction([node('a', 1), node('b', 2, false)], view([1], [2])), { kind: 'remove', raftId: 2, nodeId: 'b' });
});

test('a learner that went down is still promoted once caught up; a voter that went down is not removed', () => {
  assert.deepEqual(nextMembershipAction([node('a', 1), node('b', 2, true, false)], view([1], [2])), { kind: 'promote', raftId: 2, nodeId: 'b' });
  assert.equal(nextMembershipAction([node('a', 1), node('b', 2, true, false)], view([1, 2])), undefined);
});

/** A model of the leader's loop: carry out each action, check the planner's rules at every step. */
function converge(start: ManagerCandidate[], voters: number[], learners: number[]): { nodes: ManagerCandidate[]; voters: number[]; learners: number[]; steps: MembershipAction[] } {
  let nodes = start.map((n) => ({ ...n }));
  let vs = [...voters];
  let ls = [...learners];
  let nextId = 1000;
  const steps: MembershipAction[] = [];
  for (let i = 0; i < 100; i++) {
    const action = nextMembershipAction(nodes, view(vs, ls, 500));
    if (action === undefined) return { nodes, voters: vs, learners: ls, steps };
    steps.push(action);
    const wanted = new Set(nodes.filter((n) => n.wantsManager).map((n) => n.raftId));
    const unwantedMember = [...vs, ...ls].some((id) => !wanted.has(id) || id === 0);
    if (unwantedMember) assert.equal(action.kind, 'remove', `step ${i}: a member nobody wants must go first, got ${action.kind}`);
    switch (action.kind) {
      case 'assign-raft-id':
        nodes = nodes.map((n) => (n.nodeId === action.nodeId ? { ...n, raftId: nextId++ } : n));
        break;
      case 'clear-raft-id': {
        const n = nodes.find((x) => x.nodeId === action.nodeId)!;
        assert.ok(!vs.includes(n.raftId) && !ls.includes(n.raftId), 'a raft id is only cleared once out of the conf');
        nodes = nodes.map((x) => (x.nodeId === action.nodeId ? { ...x, raftId: 0 } : x));
        break;
      }
      case 'add-learner':
        assert.ok(!vs.includes(action.raftId) && !ls.includes(action.raftId));
        ls = [...ls, action.raftId];
        break;
      case 'promote':
        assert.ok(ls.includes(action.raftId), 'only learners are promoted');
        ls = ls.filter((id) => id !== action.raftId);
        vs = [...vs, action.raftId];
        break;
      case 'remove':
        assert.ok(vs.includes(action.raftId) || ls.includes(action.raftId), 'only members are removed');
        vs = vs.filter((id) => id !== action.raftId);
        ls = ls.filter((id) => id !== action.raftId);
        break;
    }
  }
  assert.fail(`no fixed point after 100 steps: ${JSON.stringify(steps)}`);
}

test('repeated single steps reach the membership the node records ask for', () => {
  const r = converge(
    [
      node('leader', 1),
      node('stay', 2),
      node('demote-me', 3, false),
      node('promote-me', 0),
      node('promote-me-too', 0),
      node('down-candidate', 0, true, false),
      node('stale-id-worker', 44, false),
      node('worker', 0, false),
    ],
    [1, 2, 3],
    [66], // a learner of a removed node
  );
  assert.equal(r.steps[0]!.kind, 'remove');
  assert.equal(r.steps[1]!.kind, 'remove');
  const byName = new Map(r.nodes.map((n) => [n.nodeId, n]));
  assert.deepEqual(
    [...r.voters].sort((a, b) => a - b),
    [1, 2, byName.get('promote-me')!.raftId, byName.get('promote-me-too')!.raftId].sort((a, b) => a - b),
  );
  assert.deepEqual(r.learners, [], 'the not-ready candidate is not added');
  assert.notEqual(byName.get('down-candidate')!.raftId, 0, 'it has an id for when it comes up');
  assert.equal(byName.get('demote-me')!.raftId, 0);
  assert.equal(byName.get('stale-id-worker')!.raftId, 0);
  assert.equal(byName.get('worker')!.raftId, 0);
  // The fixed point is stable.
  assert.equal(nextMembershipAction(r.nodes, view(r.voters, r.learners, 500)), undefined);
});
