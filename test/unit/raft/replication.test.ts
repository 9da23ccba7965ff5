import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressState } from '../../../manager/raft/progress.js';
import {
  type Entry,
  EntryType,
  entrySize,
  type Message,
  MessageType,
  ProposalDroppedError,
  StateRole,
} from '../../../manager/raft/types.js';
import { Network } from './network.js';

function ent(data: string): Entry {
  return { term: 0, index: 0, type: EntryType.Normal, data: Buffer.from(data) };
}

/** App messages from `from` to `to` carrying at least one entry. */
function appsWithEntries(ms: Message[], from: string, to: string): Message[] {
  return ms.filter((m) => m.type === MessageType.App && m.from === from && m.to === to && m.entries.length > 0);
}

/** The (index, term) pairs of a node's whole log, from its first index. */
function logOf(net: Network, id: string): Array<[number, number]> {
  const log = net.get(id).node.raft.raftLog;
  const out: Array<[number, number]> = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push([i, log.term(i)]);
  return out;
}

describe('raft replication', () => {
  it('proposals replicate and apply on every node, in proposal order, at the same indexes', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const want: string[] = [];
    for (let i = 0; i < 10; i++) {
      want.push(`v${i}`);
      net.propose('a', `v${i}`);
    }
    for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedData(id), want, `node ${id}`);
    const leaderApplied = net.get('a').applied.map((e) => [e.index, e.term]);
    for (const id of ['b', 'c']) {
      assert.deepEqual(
        net.get(id).applied.map((e) => [e.index, e.term]),
        leaderApplied,
        `node ${id} applied the same (index, term) sequence`,
      );
      assert.equal(net.get(id).node.raft.raftLog.committed, net.get('a').node.raft.raftLog.committed);
    }
    // Indexes are dense: no gaps, no repeats.
    const idx = net.get('a').applied.map((e) => e.index);
    for (let i = 1; i < idx.length; i++) assert.equal(idx[i], idx[i - 1]! + 1);
  });

  it('batching: proposeEntries of many entries goes out in a single App per follower', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const mark = net.sent.length;
    const batch = Array.from({ length: 20 }, (_, i) => ent(`e${i}`));
    net.get('a').node.proposeEntries(batch);
    net.settle();
    const sent = net.sent.slice(mark);
    for (const f of ['b', 'c']) {
      const apps = appsWithEntries(sent, 'a', f);
      assert.equal(apps.length, 1, `one App with entries to ${f}`);
      assert.equal(apps[0]!.entries.length, 20);
    }
    for (const id of ['a', 'b', 'c']) assert.equal(net.appliedData(id).length, 20);
  });

  it('pipelining: in Replicate state several appends are outstanding before any AppResp arrives', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const pr = net.get('a').node.raft.trk.progress.get('b')!;
    assert.equal(pr.state, ProgressState.Replicate);
    const matchBefore = pr.match;
    net.holdIf = (m) => m.from === 'b' && m.to === 'a' && m.type === MessageType.AppResp;
    const mark = net.delivered.length;
    for (let i = 0; i < 4; i++) net.propose('a', `p${i}`);
    const apps = appsWithEntries(net.delivered.slice(mark), 'a', 'b');
    assert.equal(apps.length, 4, 'one append per proposal without waiting for b');
    assert.equal(net.held.length, 4, "b's four acknowledgements are all still in flight");
    assert.equal(pr.inflights.count(), 4);
    assert.equal(pr.match, matchBefore);
    assert.equal(pr.next, net.get('a').node.raft.raftLog.lastIndex() + 1, 'next runs ahead of match');
    // c's acknowledgements alone make a quorum with the leader.
    assert.deepEqual(net.appliedData('a'), ['p0', 'p1', 'p2', 'p3']);
    net.holdIf = undefined;
    net.release();
    assert.equal(pr.match, net.get('a').node.raft.raftLog.lastIndex());
    assert.equal(pr.inflights.count(), 0);
    assert.deepEqual(net.appliedData('b'), ['p0', 'p1', 'p2', 'p3']);
  });

  it('flow control: with maxInflightMsgs=2 the leader stops after 2 unacknowledged appends and resumes on acks', () => {
    const net = new Network(['a', 'b', 'c'], { maxInflightMsgs: 2 });
    net.campaign('a');
    net.holdIf = (m) => m.from === 'b' && m.to === 'a';
    const mark = net.delivered.length;
    for (let i = 0; i < 6; i++) net.propose('a', `p${i}`);
    const pr = net.get('a').node.raft.trk.progress.get('b')!;
    assert.equal(appsWithEntries(net.delivered.slice(mark), 'a', 'b').length, 2, 'only two appends went out');
    assert.equal(pr.inflights.count(), 2);
    assert.ok(pr.isPaused());
    // c was not throttled.
    assert.equal(appsWithEntries(net.delivered.slice(mark), 'a', 'c').length, 6);
    assert.equal(net.get('b').node.raft.raftLog.lastIndex(), net.get('a').node.raft.raftLog.lastIndex() - 4);
    assert.deepEqual(net.appliedData('a'), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);

    // Release one acknowledgement at a time: each frees a slot and the rest follows.
    const mark2 = net.delivered.length;
    net.holdIf = undefined;
    assert.equal(net.held.length, 2);
    const first = net.held[0]!;
    net.release((m) => m === first);
    const resumed = appsWithEntries(net.delivered.slice(mark2), 'a', 'b');
    assert.ok(resumed.length >= 1, 'an ack reopened the window');
    // The remaining four entries go out together: in Replicate state one append carries all that fits.
    assert.equal(resumed[0]!.entries.length, 4);
    net.release();
    assert.equal(net.get('b').node.raft.raftLog.lastIndex(), net.get('a').node.raft.raftLog.lastIndex());
    assert.deepEqual(net.appliedData('b'), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    assert.equal(pr.inflights.count(), 0);
  });

  it('maxSizePerMsg bounds the entries carried by one append', () => {
    const maxSizePerMsg = 100;
    const net = new Network(['a', 'b', 'c'], { maxSizePerMsg });
    net.campaign('a');
    const mark = net.sent.length;
    const batch = Array.from({ length: 10 }, (_, i) => ent(`data-${i}`.padEnd(10, '.')));
    assert.equal(entrySize(batch[0]!), 34);
    net.get('a').node.proposeEntries(batch);
    net.settle();
    const apps = appsWithEntries(net.sent.slice(mark), 'a', 'b');
    for (const m of apps) {
      const bytes = m.entries.reduce((s, e) => s + entrySize(e), 0);
      assert.ok(m.entries.length === 1 || bytes <= maxSizePerMsg, `append of ${m.entries.length} entries / ${bytes} bytes`);
    }
    assert.equal(Math.max(...apps.map((m) => m.entries.length)), 2, 'two 34-byte entries fit in 100 bytes, three do not');
    assert.equal(apps.reduce((s, m) => s + m.entries.length, 0), 10, 'every entry sent exactly once');
    assert.equal(net.appliedData('b').length, 10);

    // An entry larger than the limit still goes out, alone.
    const mark2 = net.sent.length;
    net.propose('a', 'x'.repeat(500));
    const big = appsWithEntries(net.sent.slice(mark2), 'a', 'b');
    assert.equal(big.length, 1);
    assert.equal(big[0]!.entries.length, 1);
    assert.equal(net.appliedData('b').at(-1), 'x'.repeat(500));
  });

  it('a divergent follower is repaired with fast backtracking: a few rejections, not one per entry', () => {
    const net = new Network(['a', 'b', 'c'], { checkQuorum: false });
    net.campaign('a');
    assert.equal(net.get('a').node.raft.term, 2);
    // a writes 20 entries in term 2 that never leave it.
    net.dropIf = (m) => m.from === 'a' && m.type === MessageType.App;
    for (let i = 0; i < 20; i++) net.propose('a', `old2-${i}`);
    // a is re-elected in term 3 (its votes get through, its appends do not) and writes 20 more.
    net.get('a').node.raft.becomeFollower(2, '');
    net.campaign('a');
    assert.equal(net.get('a').node.raft.role, StateRole.Leader);
    assert.equal(net.get('a').node.raft.term, 3);
    for (let i = 0; i < 20; i++) net.propose('a', `old3-${i}`);
    assert.equal(net.get('a').node.raft.raftLog.committed, 2, 'none of them committed');
    assert.equal(net.get('b').node.raft.raftLog.lastIndex(), 2);

    // b and c move on without a: b leads term 4 and commits 50 entries, then hands over to c (term 5).
    net.dropIf = undefined;
    net.isolate('a');
    net.campaign('b');
    assert.equal(net.get('b').node.raft.role, StateRole.Leader);
    net.get('b').node.proposeEntries(Array.from({ length: 50 }, (_, i) => ent(`new-${i}`)));
    net.settle();
    net.get('b').node.transferLeadership('c');
    net.settle();
    assert.equal(net.get('c').node.raft.role, StateRole.Leader);
    assert.equal(net.get('c').node.raft.term, 5);
    const cLast = net.get('c').node.raft.raftLog.lastIndex();
    assert.ok(cLast > 50);
    assert.equal(net.get('a').node.raft.raftLog.lastIndex(), 43, 'a: 2 + 20 (term 2) + 1 + 20 (term 3)');

    net.heal();
    const mark = net.delivered.length;
    net.tick(3);
    const rejects = net.delivered
      .slice(mark)
      .filter((m) => m.type === MessageType.AppResp && m.from === 'a' && m.to === 'c' && m.reject);
    assert.ok(rejects.length >= 1, 'the divergence was detected by a rejection');
    // Two divergent terms (2 and 3): at most one round trip per term, plus one.
    assert.ok(rejects.length <= 3, `took ${rejects.length} rejected round trips`);
    assert.equal(net.get('a').node.raft.role, StateRole.Follower);
    assert.equal(net.get('a').node.raft.lead, 'c');
    assert.deepEqual(logOf(net, 'a').slice(-cLast + 1), logOf(net, 'c').slice(-cLast + 1));
    assert.equal(net.get('a').node.raft.raftLog.lastIndex(), net.get('c').node.raft.raftLog.lastIndex());
    const aData = net.appliedData('a');
    assert.ok(!aData.some((d) => d.startsWith('old')), 'the uncommitted entries of the old terms are gone');
    assert.deepEqual(aData, net.appliedData('c'));
    assert.equal(aData.length, 50);
  });

  it('the commit index reaches followers by App, and by heartbeat when those Apps are lost', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const commit = net.get('a').node.raft.raftLog.committed;
    for (const id of ['b', 'c']) {
      assert.equal(net.get(id).node.raft.raftLog.committed, commit, `${id} learned the commit from an App`);
      assert.deepEqual(net.appliedData(id), ['x']);
    }

    // Lose every append that carries no entries: those are what carry a new commit index alone.
    net.dropIf = (m) => m.type === MessageType.App && m.entries.length === 0;
    net.propose('a', 'y');
    const commit2 = net.get('a').node.raft.raftLog.committed;
    assert.equal(commit2, commit + 1);
    for (const id of ['b', 'c']) {
      assert.equal(net.get(id).node.raft.raftLog.lastIndex(), commit2, `${id} has the entry`);
      assert.equal(net.get(id).node.raft.raftLog.committed, commit, `${id} does not know it committed`);
      assert.deepEqual(net.appliedData(id), ['x']);
    }
    net.tick(1);
    for (const id of ['b', 'c']) {
      assert.equal(net.get(id).node.raft.raftLog.committed, commit2, `${id} learned the commit from a heartbeat`);
      assert.deepEqual(net.appliedData(id), ['x', 'y']);
    }
    assert.ok(net.delivered.some((m) => m.type === MessageType.Heartbeat && m.commit === commit2));
  });

  it('a heartbeat never tells a follower to commit beyond what it is known to hold', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.cutLink('a', 'c');
    net.propose('a', 'x');
    net.propose('a', 'y');
    const commit = net.get('a').node.raft.raftLog.committed;
    net.reconnect('c');
    net.dropTypes.add(MessageType.App);
    net.tick(1);
    const hbs = net.delivered.filter((m) => m.type === MessageType.Heartbeat && m.to === 'c');
    assert.ok(hbs.length > 0);
    for (const hb of hbs) assert.ok(hb.commit <= net.get('c').node.raft.raftLog.lastIndex());
    assert.ok(net.get('c').node.raft.raftLog.committed < commit);
  });

  it('maxUncommittedEntriesSize: proposals beyond the bound are refused with ProposalDroppedError', () => {
    const net = new Network(['a', 'b', 'c'], { maxUncommittedEntriesSize: 100 });
    net.campaign('a');
    net.isolate('a');
    const a = net.get('a').node;
    const forty = (c: string): Uint8Array => Buffer.from(c.repeat(40));
    a.propose(forty('1'));
    a.propose(forty('2')); // 80 bytes uncommitted
    assert.throws(() => a.propose(forty('3')), ProposalDroppedError);
    assert.throws(() => a.proposeEntries([ent('tiny'), ent('x'.repeat(30))]), ProposalDroppedError);
    const last = a.raft.raftLog.lastIndex();
    net.settle();
    assert.equal(a.raft.raftLog.lastIndex(), last, 'refused proposals left no trace in the log');
    // Once the uncommitted entries commit and apply, there is room again.
    net.heal();
    net.tick(3);
    assert.deepEqual(net.appliedData('a'), ['1'.repeat(40), '2'.repeat(40)]);
    a.propose(forty('3'));
    a.propose(forty('4'));
    net.settle();
    assert.deepEqual(net.appliedData('b'), ['1', '2', '3', '4'].map((c) => c.repeat(40)));
  });

  it('maxUncommittedEntriesSize: a single proposal above the bound is accepted when nothing is uncommitted', () => {
    const net = new Network(['a', 'b', 'c'], { maxUncommittedEntriesSize: 100 });
    net.campaign('a');
    net.isolate('a');
    const a = net.get('a').node;
    a.propose(Buffer.from('z'.repeat(500)));
    assert.throws(() => a.propose(Buffer.from('w')), ProposalDroppedError);
    net.heal();
    net.tick(3);
    assert.deepEqual(net.appliedData('c'), ['z'.repeat(500)]);
  });
  it('maxInflightBytes bounds the bytes in flight to a follower', () => {
    const net = new Network(['a', 'b', 'c'], { maxInflightBytes: 100 });
    net.campaign('a');
    net.holdIf = (m) => m.from === 'b' && m.to === 'a';
    const mark = net.delivered.length;
    for (let i = 0; i < 4; i++) net.propose('a', `${i}`.repeat(40)); // 64 bytes each
    assert.equal(appsWithEntries(net.delivered.slice(mark), 'a', 'b').length, 2, '64 bytes fit, 128 fill the window');
    assert.ok(net.get('a').node.raft.trk.progress.get('b')!.isPaused());
    net.holdIf = undefined;
    net.release();
    assert.equal(net.appliedData('b').length, 4);
  });

  it('a full window whose appends were all lost is recovered through heartbeats', () => {
    const net = new Network(['a', 'b', 'c'], { maxInflightMsgs: 2 });
    net.campaign('a');
    net.dropIf = (m) => m.to === 'b' && m.type === MessageType.App;
    for (let i = 0; i < 4; i++) net.propose('a', `p${i}`);
    const pr = net.get('a').node.raft.trk.progress.get('b')!;
    assert.ok(pr.isPaused(), 'two lost appends fill the window');
    net.dropIf = undefined;
    net.tick(3);
    assert.deepEqual(net.appliedData('b'), ['p0', 'p1', 'p2', 'p3']);
    assert.equal(pr.match, net.get('a').node.raft.raftLog.lastIndex());
    assert.equal(pr.state, ProgressState.Replicate);
  });

  it('an unreachable report sends a replicating follower back to probing', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const pr = net.get('a').node.raft.trk.progress.get('b')!;
    assert.equal(pr.state, ProgressState.Replicate);
    net.get('a').node.reportUnreachable('b');
    assert.equal(pr.state, ProgressState.Probe);
    net.propose('a', 'x');
    assert.equal(pr.state, ProgressState.Replicate);
    assert.deepEqual(net.appliedData('b'), ['x']);
  });

  it('followers refuse proposals: the client must go to the leader', () => {
    const net = new Network(['a', 'b', 'c']);
    assert.throws(() => net.get('b').node.propose(Buffer.from('x')), ProposalDroppedError);
    net.campaign('a');
    assert.throws(() => net.get('b').node.propose(Buffer.from('x')), /the leader is a/);
  });
});
