// Figure 8 of the Raft paper: a leader must not commit an entry of an earlier
// term by counting replicas; only an entry of its own term commits, and the
// older entries with it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RaftBug } from '../../../manager/raft/raft.js';
import { MessageType, StateRole } from '../../../manager/raft/types.js';
import { Network } from './network.js';

const X = 3; // index of the term-2 entry "x"
const T4 = 4; // index of the new term-4 leader's empty entry

/**
 * Five nodes. a leads term 2 and replicates x (index 3, term 2) to b only.
 * e leads term 3 with votes of c and d and writes (3, term 3) to itself only.
 * a is elected again in term 4 and replicates x to c and d, so x is on a
 * majority (a, b, c, d), while its own term-4 entry (index 4) reaches nobody.
 */
function figure8(bugs: RaftBug[] = []): Network {
  const net = new Network(['a', 'b', 'c', 'd', 'e'], { preVote: false, checkQuorum: false, bugs });
  const raft = (id: string) => net.get(id).node.raft;

  // (a) a leads term 2 and replicates x to b only.
  net.campaign('a');
  assert.equal(raft('a').term, 2);
  assert.equal(raft('a').raftLog.committed, 2, 'the empty entry of term 2 committed everywhere');
  for (const f of ['c', 'd', 'e']) net.cutLink('a', f);
  net.propose('a', 'x');
  assert.equal(raft('b').raftLog.lastIndex(), X);
  assert.equal(raft('b').raftLog.term(X), 2);
  assert.equal(raft('a').raftLog.committed, 2, 'x is on 2 of 5: not committed');

  // (b) a crashes; e wins term 3 with c and d and writes (3, term 3) that reaches nobody.
  net.heal();
  net.isolate('a');
  net.dropIf = (m) => m.from === 'e' && m.type === MessageType.App;
  net.campaign('e');
  assert.equal(raft('e').role, StateRole.Leader);
  assert.equal(raft('e').term, 3);
  assert.equal(raft('e').raftLog.term(X), 3);
  assert.equal(raft('c').raftLog.lastIndex(), 2);

  // (c) e crashes; a comes back, learns of term 3 and wins term 4 (b, c, d vote for it).
  net.heal();
  net.isolate('e');
  raft('a').becomeFollower(3, '');
  // The term-4 entry must reach no follower: drop every App that would append it.
  net.dropIf = (m) =>
    m.type === MessageType.App &&
    m.entries.some((e) => e.term === 4) &&
    net.get(m.to).node.raft.raftLog.matchTerm(m.index, m.logTerm);
  net.campaign('a');
  assert.equal(raft('a').role, StateRole.Leader);
  assert.equal(raft('a').term, 4);
  assert.equal(raft('a').raftLog.term(T4), 4);
  return net;
}

describe('raft Figure 8: commitment of entries from earlier terms', () => {
  it('an entry of an earlier term on a majority is not committed until an entry of the current term is', () => {
    const net = figure8();
    const a = net.get('a').node.raft;
    // x is now on a, b, c and d: a majority of five.
    for (const id of ['a', 'b', 'c', 'd']) assert.ok(net.get(id).node.raft.raftLog.matchTerm(X, 2), `${id} holds x`);
    assert.ok(a.trk.committed() >= X, 'the leader knows x is on a quorum');
    for (const id of ['b', 'c', 'd']) assert.equal(net.get(id).node.raft.raftLog.lastIndex(), X, `${id} lacks the term-4 entry`);
    assert.equal(a.raftLog.committed, 2, 'x is not committed by counting replicas');
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      assert.deepEqual(net.appliedData(id), [], `${id} applied nothing`);
      assert.ok(net.get(id).node.raft.raftLog.committed < X);
    }
    // More heartbeats change nothing while the term-4 entry is held back.
    net.tick(3, ['a', 'b', 'c', 'd']);
    assert.equal(a.raftLog.committed, 2);

    // Now let the term-4 entry through: it commits, and x with it, in one step.
    const seen: number[] = [];
    net.dropIf = () => {
      seen.push(a.raftLog.committed);
      return false;
    };
    net.tick(1, ['a', 'b', 'c', 'd']);
    seen.push(a.raftLog.committed);
    assert.equal(a.raftLog.committed, T4);
    assert.ok(!seen.includes(X), `commit went from 2 straight to ${T4}: ${seen.join(',')}`);
    const aApplied = net.get('a').applied.map((e) => [e.index, e.term]);
    assert.deepEqual(aApplied.slice(-2), [
      [X, 2],
      [T4, 4],
    ]);
    assert.deepEqual(net.appliedData('a'), ['x']);
    for (const id of ['b', 'c', 'd']) {
      assert.equal(net.get(id).node.raft.raftLog.committed, T4, `${id} committed both`);
      assert.deepEqual(net.appliedData(id), ['x']);
    }
  });

  it('when the term-4 leader crashes before that, e may overwrite x: safe, since nobody applied it', () => {
    const net = figure8();
    net.dropIf = undefined;
    net.heal();
    net.isolate('a');
    const e = net.get('e').node.raft;
    e.becomeFollower(4, '');
    net.campaign('e');
    assert.equal(e.role, StateRole.Leader, 'e (last entry term 3) is more up to date than b, c, d (term 2)');
    assert.equal(e.term, 5);
    net.propose('e', 'after');
    for (const id of ['b', 'c', 'd', 'e']) {
      const log = net.get(id).node.raft.raftLog;
      assert.equal(log.term(X), 3, `${id}: x was replaced by e's entry of term 3`);
      assert.ok(log.committed > X);
      assert.deepEqual(net.appliedData(id), ['after'], `${id} never applied x`);
    }
  });

  it("with bugs: ['commit-old-term'] the leader commits x early by counting replicas", () => {
    const net = figure8(['commit-old-term']);
    const a = net.get('a').node.raft;
    for (const id of ['b', 'c', 'd']) assert.equal(net.get(id).node.raft.raftLog.lastIndex(), X, `${id} lacks the term-4 entry`);
    assert.equal(a.raftLog.committed, X, 'the buggy core committed an entry of term 2 in term 4');
    assert.deepEqual(net.appliedData('a'), ['x']);
  });

  it("with bugs: ['commit-old-term'] the early commit is lost when e is elected: a safety violation", () => {
    const net = figure8(['commit-old-term']);
    // The next heartbeat carries commit 3 to c, which applies x (d misses it).
    net.cutLink('a', 'd');
    net.tick(1, ['a', 'b', 'c', 'd']);
    assert.deepEqual(net.appliedData('c'), ['x']);
    // a and c go down; e wins term 5 with b and d.
    net.dropIf = undefined;
    net.heal();
    net.isolate('a');
    net.isolate('c');
    net.get('e').node.raft.becomeFollower(4, '');
    net.campaign('e');
    assert.equal(net.get('e').node.raft.role, StateRole.Leader);
    net.propose('e', 'after');
    // e, b and d commit e's entry of term 3 at index 3, where a and c applied x of term 2.
    const at = (id: string, i: number) => net.get(id).applied.find((e) => e.index === i);
    assert.equal(at('c', X)?.term, 2);
    assert.equal(at('a', X)?.term, 2);
    for (const id of ['e', 'b', 'd']) {
      assert.equal(at(id, X)?.term, 3, `${id} applied a different entry at index ${X}`);
      assert.deepEqual(net.appliedData(id), ['after']);
    }
  });
});
