import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RaftBug } from '../../../manager/raft/raft.js';
import { MessageType, StateRole } from '../../../manager/raft/types.js';
import { Network } from './network.js';

const ctx = (s: string): Uint8Array => Buffer.from(s);
const ctxs = (net: Network, id: string): string[] => net.get(id).readStates.map((r) => Buffer.from(r.requestCtx).toString());

describe('raft ReadIndex', () => {
  it('on the leader: a ReadState at the commit index once a heartbeat round confirms leadership', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const a = net.get('a');
    const commit = a.node.raft.raftLog.committed;
    const mark = net.delivered.length;
    a.node.readIndex(ctx('r1'));
    assert.equal(a.node.raft.readStates.length, 0, 'not before the quorum round');
    net.settle();
    assert.deepEqual(a.readStates, [{ index: commit, requestCtx: ctx('r1') }]);
    const hbs = net.delivered.slice(mark).filter((m) => m.type === MessageType.Heartbeat);
    assert.equal(hbs.length, 2, 'one heartbeat round');
    for (const hb of hbs) assert.deepEqual(Buffer.from(hb.context!), Buffer.from('r1'));
  });

  it('on the leader: no ReadState while heartbeat responses are lost; it comes with a later round', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const a = net.get('a');
    const commit = a.node.raft.raftLog.committed;
    net.dropTypes.add(MessageType.HeartbeatResp);
    a.node.readIndex(ctx('r1'));
    net.settle();
    net.tick(3);
    assert.deepEqual(a.readStates, [], 'no quorum confirmation, no read');
    // More writes commit meanwhile; the read still reports the index it was asked at (or later).
    net.propose('a', 'y');
    net.dropTypes.clear();
    net.tick(1);
    const rs = net.get('a').readStates;
    assert.equal(rs.length, 1);
    assert.deepEqual(Buffer.from(rs[0]!.requestCtx), Buffer.from('r1'));
    assert.ok(rs[0]!.index >= commit);
    assert.ok(rs[0]!.index <= a.node.raft.raftLog.committed);
  });

  it('one heartbeat answer confirms every read queued before it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const a = net.get('a');
    net.dropTypes.add(MessageType.HeartbeatResp);
    for (const r of ['r1', 'r2', 'r3']) {
      a.node.readIndex(ctx(r));
      net.settle();
    }
    net.dropTypes.clear();
    net.tick(1);
    assert.deepEqual(ctxs(net, 'a'), ['r1', 'r2', 'r3']);
  });

  it('a single responding follower is not enough in a five-node cluster', () => {
    const net = new Network(['a', 'b', 'c', 'd', 'e']);
    net.campaign('a');
    for (const f of ['c', 'd', 'e']) net.cutLink(f, 'a');
    net.get('a').node.readIndex(ctx('r'));
    net.settle();
    assert.deepEqual(net.get('a').readStates, [], 'a + b are two of five');
    net.reconnect('c');
    net.tick(1);
    assert.deepEqual(ctxs(net, 'a'), ['r']);
  });

  it('on a follower: forwarded to the leader and answered with ReadIndexResp', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const commit = net.get('a').node.raft.raftLog.committed;
    const mark = net.delivered.length;
    net.get('b').node.readIndex(ctx('rb'));
    net.settle();
    const fwd = net.delivered.slice(mark).filter((m) => m.type === MessageType.ReadIndex);
    assert.equal(fwd.length, 1);
    assert.equal(fwd[0]!.from, 'b');
    assert.equal(fwd[0]!.to, 'a');
    const resp = net.delivered.slice(mark).filter((m) => m.type === MessageType.ReadIndexResp);
    assert.equal(resp.length, 1);
    assert.equal(resp[0]!.to, 'b');
    assert.equal(resp[0]!.index, commit);
    assert.deepEqual(net.get('b').readStates, [{ index: commit, requestCtx: ctx('rb') }]);
    assert.deepEqual(net.get('a').readStates, [], 'the leader does not serve it itself');
    // The follower may serve once it has applied that index.
    assert.ok(net.get('b').node.raft.raftLog.applied >= commit);
  });

  it('on a follower without a leader: dropped (the client retries)', () => {
    const net = new Network(['a', 'b', 'c']);
    const mark = net.sent.length;
    net.get('b').node.readIndex(ctx('rb'));
    net.settle();
    assert.equal(net.sent.slice(mark).filter((m) => m.type === MessageType.ReadIndex).length, 0);
    assert.deepEqual(net.get('b').readStates, []);
  });

  it('a new leader delays reads until an entry of its own term has committed', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    // b takes over, but none of its appends get through: its empty entry stays uncommitted.
    net.dropIf = (m) => m.from === 'b' && m.type === MessageType.App;
    net.get('a').node.transferLeadership('b');
    net.settle();
    const b = net.get('b');
    assert.equal(b.node.raft.role, StateRole.Leader);
    const ownEntry = b.node.raft.raftLog.lastIndex();
    assert.equal(b.node.raft.raftLog.term(ownEntry), b.node.raft.term);
    assert.ok(b.node.raft.raftLog.committed < ownEntry);
    b.node.readIndex(ctx('rb'));
    net.settle();
    net.tick(1);
    assert.equal(net.get('c').node.raft.lead, 'b', 'c learned the leader from a heartbeat');
    net.get('c').node.readIndex(ctx('rc'));
    net.settle();
    net.tick(3);
    assert.deepEqual(b.readStates, [], 'heartbeats are answered, yet no read is served');
    assert.deepEqual(net.get('c').readStates, []);
    net.dropIf = undefined;
    net.tick(2);
    assert.ok(b.node.raft.raftLog.committed >= ownEntry);
    assert.deepEqual(ctxs(net, 'b'), ['rb']);
    assert.ok(net.get('b').readStates[0]!.index >= ownEntry);
    assert.deepEqual(ctxs(net, 'c'), ['rc']);
    assert.ok(net.get('c').readStates[0]!.index >= ownEntry);
  });

  function partitionedLeader(bugs: RaftBug[]): { net: Network; staleCommit: number } {
    const net = new Network(['a', 'b', 'c'], { bugs });
    net.campaign('a');
    net.propose('a', 'x');
    const staleCommit = net.get('a').node.raft.raftLog.committed;
    net.isolate('a');
    // b and c elect a new leader and commit a write a has not seen.
    net.tick(40, ['b', 'c']);
    const nl = net.leaders().filter((id) => id !== 'a');
    assert.equal(nl.length, 1);
    net.propose(nl[0]!, 'y');
    assert.ok(net.get(nl[0]!).node.raft.raftLog.committed > staleCommit);
    assert.equal(net.get('a').node.raft.role, StateRole.Leader, 'a still believes it leads');
    return { net, staleCommit };
  }

  it('a partitioned old leader never serves a read issued after the partition', () => {
    const { net } = partitionedLeader([]);
    const a = net.get('a');
    a.node.readIndex(ctx('stale?'));
    net.settle();
    net.tick(5, ['a']);
    assert.equal(a.node.raft.role, StateRole.Leader, 'still leader by its own reckoning');
    assert.deepEqual(a.readStates, []);
    assert.deepEqual(a.node.raft.readStates, []);
  });

  it("with bugs: ['read-without-quorum'] the partitioned old leader serves a stale read", () => {
    const { net, staleCommit } = partitionedLeader(['read-without-quorum']);
    const a = net.get('a');
    a.node.readIndex(ctx('stale!'));
    net.settle();
    assert.equal(a.readStates.length, 1);
    assert.equal(a.readStates[0]!.index, staleCommit, 'misses the write committed by the new leader');
    assert.deepEqual(net.appliedData('a'), ['x']);
    assert.deepEqual(net.appliedData('b'), ['x', 'y']);
  });

  it('a single-voter cluster answers at once', () => {
    const net = new Network(['a']);
    net.campaign('a');
    net.propose('a', 'x');
    net.get('a').node.readIndex(ctx('r'));
    net.settle();
    assert.deepEqual(net.get('a').readStates, [{ index: net.get('a').node.raft.raftLog.committed, requestCtx: ctx('r') }]);
  });
});
