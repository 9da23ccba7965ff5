import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage } from '../../../manager/raft/log-storage.js';
import { RawNode } from '../../../manager/raft/raw-node.js';
import { type Message, MessageType, msg, type Ready, StateRole } from '../../../manager/raft/types.js';
import { SeededRandom } from '../../../shared/random.js';
import { Network } from './network.js';

function bootstrapped(voters: string[]): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters, learners: [] } }, data: new Uint8Array(0) });
  s.setHardState({ term: 1, vote: '', commit: 1 });
  return s;
}

function newNode(id: string, storage: MemoryStorage, preVote = false): RawNode {
  return new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, random: new SeededRandom(7), preVote, checkQuorum: false });
}

/** Persist a Ready into storage as the application would, then advance. */
function handle(node: RawNode, storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  node.advance();
}

function vote(from: string, to: string, term: number, index: number, logTerm: number): Message {
  return msg({ type: MessageType.Vote, from, to, term, index, logTerm });
}

describe('RawNode Ready contract', () => {
  it('a granted vote is sent in the same Ready as the hard state recording it, with mustSync', () => {
    const storage = bootstrapped(['a', 'b', 'c']);
    const b = newNode('b', storage);
    assert.ok(!b.hasReady());
    b.step(vote('a', 'b', 2, 1, 1));
    assert.ok(b.hasReady());
    const rd = b.ready();
    assert.deepEqual(rd.hardState, { term: 2, vote: 'a', commit: 1 });
    assert.equal(rd.mustSync, true);
    const resp = rd.messages.filter((m) => m.type === MessageType.VoteResp);
    assert.equal(resp.length, 1);
    assert.equal(resp[0]!.to, 'a');
    assert.equal(resp[0]!.reject, false);
    assert.equal(resp[0]!.term, 2);
    handle(b, storage, rd);
    assert.deepEqual(storage.hardStateNow(), { term: 2, vote: 'a', commit: 1 });
    assert.ok(!b.hasReady());
  });

  it('a candidate persists its new term and self-vote in the Ready that sends its vote requests', () => {
    const storage = bootstrapped(['a', 'b', 'c']);
    const a = newNode('a', storage);
    a.campaign();
    const rd = a.ready();
    assert.deepEqual(rd.hardState, { term: 2, vote: 'a', commit: 1 });
    assert.equal(rd.mustSync, true);
    assert.deepEqual(
      rd.messages.map((m) => [m.type, m.to, m.term]),
      [
        [MessageType.Vote, 'b', 2],
        [MessageType.Vote, 'c', 2],
      ],
    );
    assert.deepEqual(rd.softState, { lead: '', role: StateRole.Candidate });
    a.advance();
  });

  it('a follower acknowledges an append in the same Ready as the entries to persist', () => {
    const storage = bootstrapped(['a', 'b', 'c']);
    const b = newNode('b', storage);
    b.step(
      msg({
        type: MessageType.App,
        from: 'a',
        to: 'b',
        term: 2,
        index: 1,
        logTerm: 1,
        commit: 1,
        entries: [{ term: 2, index: 2, type: 0, data: Buffer.from('x') }],
      }),
    );
    const rd = b.ready();
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.term]),
      [[2, 2]],
    );
    assert.equal(rd.mustSync, true);
    const ack = rd.messages.find((m) => m.type === MessageType.AppResp);
    assert.ok(ack && !ack.reject && ack.index === 2);
    assert.deepEqual(rd.softState, { lead: 'a', role: StateRole.Follower });
    handle(b, storage, rd);
    assert.deepEqual(b.raft.raftLog.unstableEntries(), [], 'advance marked them stable');
    assert.equal(storage.lastIndex(), 2);
  });

  it('a commit-only change of the hard state needs no sync', () => {
    const storage = bootstrapped(['a', 'b', 'c']);
    const b = newNode('b', storage);
    b.step(msg({ type: MessageType.App, from: 'a', to: 'b', term: 2, index: 1, logTerm: 1, commit: 1, entries: [{ term: 2, index: 2, type: 0, data: Buffer.from('x') }] }));
    handle(b, storage, b.ready());
    b.step(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 2, commit: 2 }));
    const rd = b.ready();
    assert.deepEqual(rd.hardState, { term: 2, vote: '', commit: 2 });
    assert.equal(rd.mustSync, false);
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [2],
    );
    handle(b, storage, rd);
  });

  it('ready() twice without advance() throws; advance() without ready() throws', () => {
    const storage = bootstrapped(['a']);
    const a = newNode('a', storage);
    a.campaign();
    const rd = a.ready();
    assert.ok(!a.hasReady(), 'nothing more while a Ready is outstanding');
    assert.throws(() => a.ready(), /before advance/);
    handle(a, storage, rd);
    assert.throws(() => a.advance(), /without an outstanding ready/);
  });

  it('committed entries are handed out exactly once, even when more commit before advance()', () => {
    const storage = bootstrapped(['a']);
    const a = newNode('a', storage);
    a.campaign();
    assert.equal(a.raft.role, StateRole.Leader);
    a.propose(Buffer.from('x'));
    const rd1 = a.ready();
    const idx1 = rd1.committedEntries.map((e) => e.index);
    assert.deepEqual(idx1, [2, 3], 'the empty entry and x');
    // A proposal commits (single voter) while rd1 is being handled.
    a.propose(Buffer.from('y'));
    handle(a, storage, rd1);
    assert.ok(a.hasReady());
    const rd2 = a.ready();
    assert.deepEqual(
      rd2.committedEntries.map((e) => Buffer.from(e.data).toString()),
      ['y'],
    );
    handle(a, storage, rd2);
    assert.ok(!a.hasReady());
    assert.equal(a.raft.raftLog.applied, 4);
    a.tick();
    if (a.hasReady()) {
      const rd3 = a.ready();
      assert.deepEqual(rd3.committedEntries, []);
      handle(a, storage, rd3);
    }
  });

  it('committedEntries respect maxCommittedSizePerReady and the rest follow in the next Ready', () => {
    const storage = bootstrapped(['a']);
    const a = new RawNode({
      id: 'a',
      storage,
      electionTick: 10,
      heartbeatTick: 1,
      random: new SeededRandom(1),
      maxCommittedSizePerReady: 100,
    });
    a.campaign();
    handle(a, storage, a.ready());
    for (let i = 0; i < 5; i++) a.propose(Buffer.from(`entry-${i}`.padEnd(26, '.'))); // 50 bytes each
    const seen: string[] = [];
    for (let n = 0; n < 10 && a.hasReady(); n++) {
      const rd = a.ready();
      assert.ok(rd.committedEntries.length <= 2, `${rd.committedEntries.length} entries in one Ready`);
      for (const e of rd.committedEntries) seen.push(Buffer.from(e.data).toString().replace(/\.+$/, ''));
      handle(a, storage, rd);
    }
    assert.deepEqual(seen, ['entry-0', 'entry-1', 'entry-2', 'entry-3', 'entry-4']);
  });

  it('readStates are handed out once', () => {
    const storage = bootstrapped(['a']);
    const a = newNode('a', storage);
    a.campaign();
    handle(a, storage, a.ready());
    a.readIndex(Buffer.from('r'));
    const rd = a.ready();
    assert.equal(rd.readStates.length, 1);
    handle(a, storage, rd);
    assert.ok(!a.hasReady());
  });

  it('a local message type cannot be stepped from the network', () => {
    const a = newNode('a', bootstrapped(['a', 'b']));
    for (const t of [MessageType.Hup, MessageType.Beat, MessageType.Prop, MessageType.CheckQuorum, MessageType.SnapStatus, MessageType.Unreachable]) {
      assert.throws(() => a.step(msg({ type: t, from: 'b', to: 'a' })), /local message/);
    }
    assert.equal(a.raft.term, 1);
  });

  it('responses from unknown peers are ignored', () => {
    const storage = bootstrapped(['a', 'b', 'c']);
    const a = newNode('a', storage);
    a.campaign();
    handle(a, storage, a.ready());
    a.step(msg({ type: MessageType.VoteResp, from: 'zz', to: 'a', term: 2 }));
    a.step(msg({ type: MessageType.VoteResp, from: 'zz', to: 'a', term: 2 }));
    assert.equal(a.raft.role, StateRole.Candidate);
    a.step(msg({ type: MessageType.VoteResp, from: 'b', to: 'a', term: 2 }));
    assert.equal(a.raft.role, StateRole.Leader);
  });
});

describe('RawNode restart', () => {
  it('a node restarted over the same storage keeps term, vote and commit, and re-applies committed entries', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.propose('a', 'y');
    const before = net.get('b').node.raft;
    const hs = { term: before.term, vote: before.vote, commit: before.raftLog.committed };
    assert.equal(hs.vote, 'a');
    const lastIndex = before.raftLog.lastIndex();
    const b = net.restart('b');
    assert.notEqual(b.node.raft, before);
    assert.equal(b.node.raft.term, hs.term);
    assert.equal(b.node.raft.vote, hs.vote);
    assert.equal(b.node.raft.raftLog.committed, hs.commit);
    assert.equal(b.node.raft.raftLog.lastIndex(), lastIndex);
    assert.equal(b.node.raft.role, StateRole.Follower);
    // No hard state change to report: the restored one is the baseline.
    const rd = b.node.ready();
    assert.equal(rd.hardState, undefined);
    assert.deepEqual(
      rd.committedEntries.filter((e) => e.data.byteLength > 0).map((e) => Buffer.from(e.data).toString()),
      ['x', 'y'],
    );
    b.node.advance();
    // It rejoins and keeps up.
    net.propose('a', 'z');
    assert.equal(b.node.raft.raftLog.committed, net.get('a').node.raft.raftLog.committed);
    assert.equal(b.node.raft.lead, 'a');
  });

  it('a restarted node does not vote twice in the term it voted in', () => {
    const storage = bootstrapped(['a', 'b', 'c']);
    const b1 = newNode('b', storage);
    b1.step(vote('a', 'b', 2, 1, 1));
    handle(b1, storage, b1.ready());
    const b2 = newNode('b', storage);
    assert.equal(b2.raft.term, 2);
    assert.equal(b2.raft.vote, 'a');
    b2.step(vote('c', 'b', 2, 1, 1));
    const rd = b2.ready();
    const resp = rd.messages.find((m) => m.type === MessageType.VoteResp);
    assert.ok(resp);
    assert.equal(resp.to, 'c');
    assert.equal(resp.reject, true);
    // The original candidate may ask again (a retransmission) and is granted again.
    b2.advance();
    b2.step(vote('a', 'b', 2, 1, 1));
    const rd2 = b2.ready();
    assert.equal(rd2.messages.find((m) => m.type === MessageType.VoteResp)?.reject, false);
    b2.advance();
  });

  it('a restart with an applied index does not hand out what was already applied', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.propose('a', 'y');
    const storage = net.get('b').storage;
    const applied = net.get('b').node.raft.raftLog.applied;
    const b = new RawNode({ id: 'b', storage, electionTick: 10, heartbeatTick: 1, random: new SeededRandom(3), applied: applied - 1 });
    const rd = b.ready();
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [applied],
    );
    b.advance();
  });

  it('a stored commit index beyond the log is refused at start', () => {
    const storage = bootstrapped(['a']);
    storage.setHardState({ term: 1, vote: '', commit: 5 });
    assert.throws(() => newNode('a', storage), /outside/);
  });
});
