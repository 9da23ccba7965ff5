import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageType, StateRole } from '../../../manager/raft/types.js';
import { Network } from './network.js';

describe('raft elections', () => {
  it('elects exactly one leader in a 3-node cluster and all agree on it', () => {
    const net = new Network(['a', 'b', 'c']);
    const leader = net.electLeader();
    assert.equal(net.leaders().length, 1);
    for (const n of net.nodes.values()) assert.equal(n.node.raft.lead, leader.id);
    for (const n of net.nodes.values()) assert.equal(n.node.raft.term, leader.node.raft.term);
  });

  it('a candidate that receives a majority of votes becomes leader at term + 1', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false });
    net.campaign('a');
    assert.equal(net.get('a').node.raft.role, StateRole.Leader);
    assert.equal(net.get('a').node.raft.term, 2);
  });

  it('does not elect a leader without a quorum', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false });
    net.isolate('b');
    net.isolate('c');
    net.campaign('a');
    assert.equal(net.get('a').node.raft.role, StateRole.Candidate);
  });

  it('PreVote: an isolated node does not inflate its term and cannot disrupt the leader on return', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const term = net.get('a').node.raft.term;
    net.isolate('c');
    net.tick(100, ['c']);
    assert.equal(net.get('c').node.raft.term, term, 'pre-candidate must not bump its term');
    assert.equal(net.get('c').node.raft.role, StateRole.PreCandidate);
    net.heal();
    net.tick(5);
    assert.equal(net.get('a').node.raft.role, StateRole.Leader);
    assert.equal(net.get('a').node.raft.term, term);
  });

  it('without PreVote a returning partitioned node forces a new term (the problem PreVote solves)', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    net.campaign('a');
    const term = net.get('a').node.raft.term;
    net.isolate('c');
    net.tick(50, ['c']);
    assert.ok(net.get('c').node.raft.term > term + 1);
    net.heal();
    net.tick(40);
    assert.ok(net.get('a').node.raft.term > term, 'the old leader saw the higher term');
  });

  it('CheckQuorum: a leader that loses contact with a quorum steps down', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('a');
    net.tick(30, ['a']);
    assert.equal(net.get('a').node.raft.role, StateRole.Follower);
  });

  it('a node rejects votes for a candidate whose log is behind', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    net.campaign('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.heal();
    // c's log lacks "x": a and b must refuse it.
    net.campaign('c');
    assert.notEqual(net.get('c').node.raft.role, StateRole.Leader);
    const rejects = net.delivered.filter((m) => m.type === MessageType.VoteResp && m.to === 'c' && m.reject);
    assert.ok(rejects.length >= 1);
  });

  it('vote is granted once per term', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false });
    const b = net.get('b').node.raft;
    b.becomeFollower(5, '');
    b.step({ type: MessageType.Vote, from: 'a', to: 'b', term: 5, index: 1, logTerm: 1, entries: [], commit: 0, reject: false, rejectHint: 0 });
    b.step({ type: MessageType.Vote, from: 'c', to: 'b', term: 5, index: 1, logTerm: 1, entries: [], commit: 0, reject: false, rejectHint: 0 });
    const resps = b.msgs.filter((m) => m.type === MessageType.VoteResp);
    assert.deepEqual(
      resps.map((m) => [m.to, m.reject]),
      [
        ['a', false],
        ['c', true],
      ],
    );
    assert.equal(b.vote, 'a');
  });

  it('leadership transfer hands over to a caught-up follower without an election timeout', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.get('a').node.transferLeadership('c');
    net.settle();
    assert.equal(net.get('c').node.raft.role, StateRole.Leader);
    assert.equal(net.get('a').node.raft.role, StateRole.Follower);
    assert.deepEqual(net.appliedData('c'), ['x']);
  });

  it('leadership transfer to a lagging follower catches it up first', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.propose('a', 'y');
    net.heal();
    net.get('a').node.transferLeadership('c');
    net.settle();
    assert.equal(net.get('c').node.raft.role, StateRole.Leader);
    net.tick(2);
    assert.deepEqual(net.appliedData('c'), ['x', 'y']);
  });

  it('proposals are refused during a leadership transfer', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.get('a').node.transferLeadership('c');
    assert.throws(() => net.get('a').node.propose(Buffer.from('z')), /leadership is being transferred/);
  });
});
