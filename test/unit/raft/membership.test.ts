import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeConfChange } from '../../../manager/raft/conf-change.js';
import { type ConfChange, ConfChangeType, EntryType, MessageType, ProposalDroppedError, StateRole } from '../../../manager/raft/types.js';
import { Network } from './network.js';

function change(net: Network, leader: string, cc: ConfChange): void {
  net.get(leader).node.proposeConfChange(cc);
  net.settle();
}

/** a leads a, b, c with two applied entries; l is an empty node added as a learner. */
function withLearner(): Network {
  const net = new Network(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'v1');
  net.propose('a', 'v2');
  net.addEmptyNode('l');
  change(net, 'a', { type: ConfChangeType.AddLearner, node: 'l' });
  net.tick(2);
  return net;
}

describe('raft membership changes', () => {
  it('an empty node added as a learner catches up from a snapshot and then entries', () => {
    const net = withLearner();
    const a = net.get('a').node.raft;
    assert.deepEqual(a.trk.confState(), { voters: ['a', 'b', 'c'], learners: ['l'] });
    const l = net.get('l');
    // The founders' log starts after the bootstrap snapshot at index 1: l needs that snapshot.
    assert.equal(l.snapshotsApplied.length, 1);
    assert.equal(l.snapshotsApplied[0]!.metadata.index, 1);
    assert.deepEqual(net.appliedData('l'), ['v1', 'v2']);
    assert.equal(l.node.raft.raftLog.lastIndex(), a.raftLog.lastIndex());
    assert.equal(l.node.raft.raftLog.committed, a.raftLog.committed);
    // l applied its own addition and knows it is a learner.
    assert.ok(l.node.raft.isLearner);
    assert.deepEqual(l.node.raft.trk.confState(), { voters: ['a', 'b', 'c'], learners: ['l'] });
    assert.ok(a.trk.progress.get('l')!.isLearner);
    net.propose('a', 'v3');
    assert.deepEqual(net.appliedData('l'), ['v1', 'v2', 'v3']);
  });

  it('a learner never campaigns and is never asked for a vote', () => {
    const net = withLearner();
    const mark = net.delivered.length;
    net.isolate('l');
    net.tick(100, ['l']);
    const l = net.get('l').node.raft;
    assert.equal(l.role, StateRole.Follower);
    net.heal();
    // A real election among the voters: l is not asked.
    net.isolate('a');
    net.reconnect('l');
    net.tick(60, ['b', 'c', 'l']);
    const newLeader = net.leaders().filter((id) => id !== 'a');
    assert.equal(newLeader.length, 1);
    assert.notEqual(newLeader[0], 'l');
    const sent = net.sent.slice(mark);
    assert.ok(!sent.some((m) => m.from === 'l' && (m.type === MessageType.Vote || m.type === MessageType.PreVote)));
    assert.ok(!sent.some((m) => m.to === 'l' && (m.type === MessageType.Vote || m.type === MessageType.PreVote)));
    assert.equal(l.term, net.get(newLeader[0]!).node.raft.term, 'l follows the new leader');
    assert.equal(l.lead, newLeader[0]);
  });

  it("a learner's acknowledgement does not count towards commit", () => {
    const net = withLearner();
    const a = net.get('a').node.raft;
    net.isolate('b');
    net.isolate('c');
    const committed = a.raftLog.committed;
    net.propose('a', 'w');
    assert.equal(net.get('l').node.raft.raftLog.lastIndex(), a.raftLog.lastIndex(), 'l holds the entry');
    assert.equal(a.trk.progress.get('l')!.match, a.raftLog.lastIndex());
    assert.equal(a.raftLog.committed, committed, 'leader + learner is not a quorum of three voters');
    net.reconnect('b');
    net.tick(2);
    assert.equal(a.raftLog.committed, a.raftLog.lastIndex());
    assert.deepEqual(net.appliedData('l'), ['v1', 'v2', 'w']);
  });

  it('promoting the learner to voter grows the quorum: with four voters a commit needs three', () => {
    const net = withLearner();
    change(net, 'a', { type: ConfChangeType.AddVoter, node: 'l' });
    const a = net.get('a').node.raft;
    assert.deepEqual(a.trk.confState(), { voters: ['a', 'b', 'c', 'l'], learners: [] });
    assert.equal(a.trk.quorum(), 3);
    assert.ok(!net.get('l').node.raft.isLearner);
    assert.ok(net.get('l').node.raft.promotable());
    net.isolate('b');
    net.isolate('c');
    const committed = a.raftLog.committed;
    net.propose('a', 'w');
    assert.equal(a.trk.progress.get('l')!.match, a.raftLog.lastIndex());
    assert.equal(a.raftLog.committed, committed, 'a + l are two of four: no quorum');
    net.reconnect('c');
    net.tick(2);
    assert.equal(a.raftLog.committed, a.raftLog.lastIndex(), 'a + l + c are three of four');
    assert.deepEqual(net.appliedData('l'), ['v1', 'v2', 'w']);
  });

  it('a promoted learner can be elected leader', () => {
    const net = withLearner();
    change(net, 'a', { type: ConfChangeType.AddVoter, node: 'l' });
    net.get('a').node.transferLeadership('l');
    net.settle();
    assert.equal(net.get('l').node.raft.role, StateRole.Leader);
    net.propose('l', 'from-l');
    assert.deepEqual(net.appliedData('b'), ['v1', 'v2', 'from-l']);
  });

  it('a second configuration change while one is pending is refused', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.addEmptyNode('d');
    net.addEmptyNode('e');
    const a = net.get('a').node;
    a.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'd' });
    assert.throws(() => a.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'e' }), ProposalDroppedError);
    // Still refused while the first is replicated but not yet applied.
    net.isolate('b');
    net.isolate('c');
    net.settle();
    assert.throws(() => a.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'e' }), ProposalDroppedError);
    // Ordinary proposals are not affected.
    a.propose(Buffer.from('ok'));
    net.heal();
    net.tick(2);
    assert.deepEqual(a.raft.trk.confState().learners, ['d']);
    // Once the first is applied, the next one is accepted.
    a.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'e' });
    net.settle();
    assert.deepEqual(a.raft.trk.confState().learners, ['d', 'e']);
  });

  it('two configuration changes in one batch are refused: only one change may be in flight', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.addEmptyNode('d');
    net.addEmptyNode('e');
    const a = net.get('a').node;
    const last = a.raft.raftLog.lastIndex();
    const cc = (node: string) => ({ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddVoter, node }) });
    assert.throws(() => a.proposeEntries([cc('d'), cc('e')]), ProposalDroppedError);
    net.settle();
    assert.equal(a.raft.raftLog.lastIndex(), last, 'nothing was appended');
    assert.deepEqual(a.raft.trk.confState(), { voters: ['a', 'b', 'c'], learners: [] });
    // One change with ordinary entries around it is fine.
    a.proposeEntries([{ term: 0, index: 0, type: EntryType.Normal, data: Buffer.from('n') }, cc('d')]);
    net.settle();
    assert.deepEqual(a.raft.trk.confState(), { voters: ['a', 'b', 'c', 'd'], learners: [] });
  });

  it('a new leader accepts no configuration change until its own term has an applied entry', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    // Leadership moves to b, but no AppResp gets through: b's empty entry cannot commit.
    net.dropTypes.add(MessageType.AppResp);
    net.get('a').node.transferLeadership('b');
    net.settle();
    const b = net.get('b').node;
    assert.equal(b.raft.role, StateRole.Leader);
    assert.ok(b.raft.raftLog.applied < b.raft.raftLog.lastIndex());
    net.addEmptyNode('d');
    assert.throws(() => b.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'd' }), ProposalDroppedError);
    net.dropTypes.clear();
    net.tick(2);
    b.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'd' });
    net.settle();
    assert.deepEqual(b.raft.trk.confState().learners, ['d']);
  });

  it('demoting a voter to a learner is refused', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    assert.throws(() => net.get('a').node.proposeConfChange({ type: ConfChangeType.AddLearner, node: 'b' }), ProposalDroppedError);
  });

  it('removing a follower: the leader stops replicating to it and the removed node never campaigns', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'v1');
    // Hold b's acknowledgements so the change commits on c's: c then learns of its own removal.
    net.holdIf = (m) => m.from === 'b' && m.type === MessageType.AppResp;
    change(net, 'a', { type: ConfChangeType.RemoveNode, node: 'c' });
    net.holdIf = undefined;
    net.release();
    const a = net.get('a').node.raft;
    assert.deepEqual(a.trk.confState(), { voters: ['a', 'b'], learners: [] });
    assert.ok(!a.trk.progress.has('c'));
    assert.equal(a.trk.quorum(), 2);
    // c applied its own removal.
    const c = net.get('c').node.raft;
    assert.deepEqual(c.trk.confState(), { voters: ['a', 'b'], learners: [] });
    assert.ok(!c.promotable());
    const mark = net.sent.length;
    net.propose('a', 'v2');
    net.tick(5);
    assert.ok(!net.sent.slice(mark).some((m) => m.to === 'c'), 'nothing is sent to a removed node');
    assert.deepEqual(net.appliedData('b'), ['v1', 'v2']);
    assert.deepEqual(net.appliedData('c'), ['v1']);
    // c, left alone, never starts an election.
    net.isolate('c');
    const cTerm = c.term;
    net.tick(100, ['c']);
    assert.equal(c.role, StateRole.Follower);
    assert.equal(c.term, cTerm);
    assert.ok(!net.sent.slice(mark).some((m) => m.from === 'c'));
    // Removing b too leaves a single voter who commits alone.
    change(net, 'a', { type: ConfChangeType.RemoveNode, node: 'b' });
    assert.deepEqual(a.trk.confState(), { voters: ['a'], learners: [] });
    net.isolate('b');
    net.propose('a', 'v3');
    assert.deepEqual(net.appliedData('a'), ['v1', 'v2', 'v3']);
  });

  it('a removed node that never learned of its removal cannot disrupt the cluster (PreVote, CheckQuorum)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    // The change commits on b's acknowledgement and is applied before c's arrives: nobody tells c.
    change(net, 'a', { type: ConfChangeType.RemoveNode, node: 'c' });
    const c = net.get('c').node.raft;
    const a = net.get('a').node.raft;
    assert.ok(!a.trk.progress.has('c'));
    const term = a.term;
    net.tick(100);
    assert.equal(a.role, StateRole.Leader);
    assert.equal(a.term, term, 'c never forced a new term');
    assert.equal(net.get('b').node.raft.term, term);
    assert.notEqual(c.role, StateRole.Leader);
    net.propose('a', 'after');
    assert.deepEqual(net.appliedData('b'), ['after']);
  });

  it('removing the leader: it steps down after applying the change and hands over with TimeoutNow', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'v1');
    const term = net.get('a').node.raft.term;
    const mark = net.delivered.length;
    change(net, 'a', { type: ConfChangeType.RemoveNode, node: 'a' });
    const a = net.get('a').node.raft;
    assert.equal(a.role, StateRole.Follower);
    const tn = net.delivered.slice(mark).filter((m) => m.type === MessageType.TimeoutNow);
    assert.equal(tn.length, 1);
    assert.equal(tn[0]!.from, 'a');
    // No election timeout passed (no ticks) and yet there is a new leader, one term later.
    const leaders = net.leaders();
    assert.equal(leaders.length, 1);
    assert.equal(leaders[0], tn[0]!.to);
    const nl = net.get(leaders[0]!).node.raft;
    assert.equal(nl.term, term + 1);
    assert.deepEqual(nl.trk.confState(), { voters: ['b', 'c'], learners: [] });
    // The remaining cluster commits new proposals; a gets nothing more.
    const mark2 = net.sent.length;
    net.propose(leaders[0]!, 'v2');
    assert.deepEqual(net.appliedData('b'), ['v1', 'v2']);
    assert.deepEqual(net.appliedData('c'), ['v1', 'v2']);
    net.tick(50);
    assert.ok(!net.sent.slice(mark2).some((m) => m.to === 'a'));
    assert.ok(!net.sent.slice(mark2).some((m) => m.from === 'a'), 'the removed leader never campaigns');
    assert.equal(net.leaders().length, 1);
    assert.equal(nl.role, StateRole.Leader);
    assert.throws(() => net.get('a').node.propose(Buffer.from('x')), ProposalDroppedError);
  });

  it('the removed leader hands over to the most caught-up voter', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.cutLink('a', 'b');
    net.propose('a', 'v1');
    // b lags; c holds everything.
    net.get('a').node.proposeConfChange({ type: ConfChangeType.RemoveNode, node: 'a' });
    net.settle();
    const tn = net.delivered.filter((m) => m.type === MessageType.TimeoutNow);
    assert.equal(tn.length, 1);
    assert.equal(tn[0]!.to, 'c');
    assert.equal(net.get('c').node.raft.role, StateRole.Leader);
  });

  it('removing the last voter is refused', () => {
    const net = new Network(['a']);
    net.campaign('a');
    assert.equal(net.get('a').node.raft.role, StateRole.Leader);
    assert.throws(() => net.get('a').node.proposeConfChange({ type: ConfChangeType.RemoveNode, node: 'a' }), ProposalDroppedError);
    // Also when a learner is present: it cannot become the cluster.
    net.addEmptyNode('l');
    change(net, 'a', { type: ConfChangeType.AddLearner, node: 'l' });
    assert.throws(() => net.get('a').node.proposeConfChange({ type: ConfChangeType.RemoveNode, node: 'a' }), ProposalDroppedError);
    // Removing the learner is fine.
    change(net, 'a', { type: ConfChangeType.RemoveNode, node: 'l' });
    assert.deepEqual(net.get('a').node.raft.trk.confState(), { voters: ['a'], learners: [] });
  });
});
