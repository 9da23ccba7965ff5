import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressState } from '../../../manager/raft/progress.js';
import { type Message, MessageType, msg, type Snapshot, StateRole } from '../../../manager/raft/types.js';
import { Network } from './network.js';

const DATA = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff);

/**
 * a leads a, b, c; c is cut off while p0..p4 commit; a snapshots its state at
 * the applied index and compacts its log; then p5, p6 follow. c needs the
 * snapshot to catch up.
 */
function compactedCluster(snapshotChunkBytes = 16): { net: Network; snapIndex: number } {
  const net = new Network(['a', 'b', 'c'], { snapshotChunkBytes });
  net.campaign('a');
  net.isolate('c');
  for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
  const a = net.get('a');
  const snapIndex = a.node.raft.raftLog.applied;
  assert.equal(snapIndex, 7);
  a.storage.createSnapshot(snapIndex, a.node.raft.trk.confState(), DATA);
  a.storage.compact(snapIndex);
  assert.equal(a.node.raft.raftLog.firstIndex(), snapIndex + 1);
  net.propose('a', 'p5');
  net.propose('a', 'p6');
  assert.equal(net.get('c').node.raft.raftLog.lastIndex(), 2);
  return { net, snapIndex };
}

function snapsTo(ms: Message[], to: string): Message[] {
  return ms.filter((m) => m.type === MessageType.Snap && m.to === to);
}

describe('raft snapshots', () => {
  it('a follower behind the compacted index receives the snapshot in bounded chunks, then the later entries', () => {
    const { net, snapIndex } = compactedCluster(16);
    net.heal();
    const mark = net.delivered.length;
    net.tick(1);
    const snaps = snapsTo(net.delivered.slice(mark), 'c');
    assert.equal(snaps.length, 7, '100 bytes in chunks of 16: 6 full chunks and one of 4');
    let offset = 0;
    for (const m of snaps) {
      const c = m.chunk!;
      assert.ok(c.data.byteLength <= 16, `chunk of ${c.data.byteLength} bytes`);
      assert.equal(c.offset, offset, 'chunks arrive in order without gaps');
      assert.equal(c.total, 100);
      assert.equal(c.metadata.index, snapIndex);
      offset += c.data.byteLength;
    }
    assert.equal(offset, 100);
    const c = net.get('c');
    assert.equal(c.snapshotsApplied.length, 1);
    const snap = c.snapshotsApplied[0]!;
    assert.deepEqual(Buffer.from(snap.data), Buffer.from(DATA), 'the snapshot data arrived intact');
    assert.equal(snap.metadata.index, snapIndex);
    assert.equal(snap.metadata.term, net.get('a').node.raft.term);
    assert.deepEqual(snap.metadata.confState, { voters: ['a', 'b', 'c'], learners: [] });
    // After the snapshot, c gets the entries that follow it through ordinary appends.
    assert.deepEqual(net.appliedData('c'), ['p5', 'p6']);
    assert.ok(c.applied.every((e) => e.index <= 2 || e.index > snapIndex), 'nothing covered by the snapshot was applied as an entry');
    assert.equal(c.node.raft.raftLog.committed, net.get('a').node.raft.raftLog.committed);
    assert.equal(c.storage.firstIndex(), snapIndex + 1);
    const pr = net.get('a').node.raft.trk.progress.get('c')!;
    assert.equal(pr.state, ProgressState.Replicate);
    assert.equal(pr.match, net.get('a').node.raft.raftLog.lastIndex());
    // And it keeps up with new proposals.
    net.propose('a', 'p7');
    assert.deepEqual(net.appliedData('c'), ['p5', 'p6', 'p7']);
  });

  it('dropped chunks are resent after heartbeat responses and the snapshot completes intact', () => {
    const { net, snapIndex } = compactedCluster(16);
    net.heal();
    let snapCount = 0;
    const droppedOffsets = new Set<number>();
    net.dropIf = (m) => {
      if (m.type !== MessageType.Snap) return false;
      snapCount++;
      const off = m.chunk!.offset;
      // Drop every third chunk message, each chunk at most once.
      if (snapCount % 3 === 0 && !droppedOffsets.has(off)) {
        droppedOffsets.add(off);
        return true;
      }
      return false;
    };
    const c = net.get('c');
    net.tick(1);
    assert.equal(c.snapshotsApplied.length, 0, 'a lost chunk stalls the transfer until the next heartbeat');
    assert.equal(net.get('a').node.raft.trk.progress.get('c')!.state, ProgressState.Snapshot);
    for (let i = 0; i < 20 && c.snapshotsApplied.length === 0; i++) net.tick(1);
    assert.ok(droppedOffsets.size >= 2, `dropped chunks at ${[...droppedOffsets].join(',')}`);
    assert.equal(c.snapshotsApplied.length, 1);
    assert.deepEqual(Buffer.from(c.snapshotsApplied[0]!.data), Buffer.from(DATA));
    assert.equal(c.snapshotsApplied[0]!.metadata.index, snapIndex);
    net.tick(1);
    assert.deepEqual(net.appliedData('c'), ['p5', 'p6']);
  });

  it('a lost acknowledgement does not corrupt the reassembled snapshot', () => {
    const { net } = compactedCluster(16);
    net.heal();
    let acks = 0;
    net.dropIf = (m) => m.type === MessageType.SnapAck && ++acks === 2;
    const c = net.get('c');
    for (let i = 0; i < 10 && c.snapshotsApplied.length === 0; i++) net.tick(1);
    assert.equal(c.snapshotsApplied.length, 1);
    assert.deepEqual(Buffer.from(c.snapshotsApplied[0]!.data), Buffer.from(DATA));
    net.tick(1);
    assert.deepEqual(net.appliedData('c'), ['p5', 'p6']);
  });

  it('a single-chunk snapshot installs at once', () => {
    const { net, snapIndex } = compactedCluster(1024);
    net.heal();
    const mark = net.delivered.length;
    net.tick(1);
    assert.equal(snapsTo(net.delivered.slice(mark), 'c').length, 1);
    assert.equal(net.get('c').snapshotsApplied[0]!.metadata.index, snapIndex);
    assert.deepEqual(net.appliedData('c'), ['p5', 'p6']);
  });

  it('a snapshot not newer than the follower commit index is ignored', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
    const b = net.get('b');
    const committed = b.node.raft.raftLog.committed;
    assert.equal(committed, 7);
    const term = net.get('a').node.raft.term;
    const old: Snapshot = { metadata: { index: 5, term, confState: { voters: ['a', 'b', 'c'], learners: [] } }, data: Buffer.from('stale') };
    b.node.step(
      msg({
        type: MessageType.Snap,
        from: 'a',
        to: 'b',
        term,
        chunk: { metadata: old.metadata, offset: 0, total: old.data.byteLength, data: old.data },
      }),
    );
    const rd = b.node.ready();
    assert.equal(rd.snapshot, undefined, 'nothing to install');
    const resp = rd.messages.filter((m) => m.to === 'a' && m.type === MessageType.AppResp);
    assert.equal(resp.length, 1);
    assert.equal(resp[0]!.reject, false);
    assert.equal(resp[0]!.index, committed, 'tells the leader how far it really is');
    for (const m of rd.messages) if (m.type === MessageType.SnapAck) assert.equal(m.reject, true, 'declines the rest of the transfer');
    b.node.advance();
    assert.equal(b.node.raft.raftLog.firstIndex(), 2);
    assert.equal(b.node.raft.raftLog.lastIndex(), 7);
    assert.equal(b.node.raft.raftLog.committed, committed);
  });

  it('a snapshot whose last entry the follower already holds only advances its commit index', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    // b receives the entries but not the commit index.
    net.dropIf = (m) => m.to === 'b' && m.type === MessageType.App && m.entries.length === 0;
    for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
    const b = net.get('b');
    assert.equal(b.node.raft.raftLog.lastIndex(), 7);
    assert.equal(b.node.raft.raftLog.committed, 6, 'b learns each commit only with the next append');
    const term = net.get('a').node.raft.term;
    const meta = { index: 7, term, confState: { voters: ['a', 'b', 'c'], learners: [] } };
    b.node.step(msg({ type: MessageType.Snap, from: 'a', to: 'b', term, chunk: { metadata: meta, offset: 0, total: 3, data: Buffer.from('abc') } }));
    const rd = b.node.ready();
    assert.equal(rd.snapshot, undefined, 'the log is kept');
    assert.equal(rd.hardState?.commit, 7);
    assert.deepEqual(
      rd.committedEntries.map((e) => Buffer.from(e.data).toString()),
      ['p4'],
      'the entry is applied from the log, not replaced by the snapshot',
    );
    assert.equal(b.node.raft.raftLog.firstIndex(), 2);
    assert.equal(b.node.raft.raftLog.lastIndex(), 7);
    b.node.advance();
  });
  it('a snapshot replaces a follower log that holds a divergent uncommitted tail', () => {
    const net = new Network(['a', 'b', 'c'], { snapshotChunkBytes: 16 });
    net.campaign('a');
    net.isolate('a');
    for (let i = 0; i < 3; i++) net.get('a').node.propose(Buffer.from(`lost${i}`));
    net.settle();
    assert.equal(net.get('a').node.raft.raftLog.lastIndex(), 5);
    net.tick(40, ['b', 'c']);
    const l = net.leaders().filter((id) => id !== 'a');
    assert.equal(l.length, 1);
    const leader = net.get(l[0]!);
    for (let i = 0; i < 5; i++) net.propose(leader.id, `kept${i}`);
    const snapIndex = leader.node.raft.raftLog.applied;
    leader.storage.createSnapshot(snapIndex, leader.node.raft.trk.confState(), DATA);
    leader.storage.compact(snapIndex);
    net.propose(leader.id, 'tail');
    net.heal();
    net.tick(3);
    const a = net.get('a');
    assert.equal(a.node.raft.role, StateRole.Follower);
    assert.equal(a.snapshotsApplied.length, 1);
    assert.equal(a.snapshotsApplied[0]!.metadata.index, snapIndex);
    assert.deepEqual(Buffer.from(a.snapshotsApplied[0]!.data), Buffer.from(DATA));
    assert.deepEqual(net.appliedData('a'), ['tail']);
    const log = a.node.raft.raftLog;
    assert.equal(log.firstIndex(), snapIndex + 1);
    assert.equal(log.lastIndex(), leader.node.raft.raftLog.lastIndex());
    for (let i = snapIndex; i <= log.lastIndex(); i++) assert.equal(log.term(i), leader.node.raft.raftLog.term(i));
    assert.equal(a.storage.firstIndex(), snapIndex + 1);
  });
  it('a follower that restarts in the middle of a transfer gets the snapshot from the start', () => {
    const { net, snapIndex } = compactedCluster(16);
    net.heal();
    // Lose the second acknowledgement: the transfer stalls with 32 bytes on c.
    let acks = 0;
    net.dropIf = (m) => m.type === MessageType.SnapAck && ++acks === 2;
    net.tick(1);
    assert.equal(net.get('c').snapshotsApplied.length, 0);
    net.dropIf = undefined;
    // c crashes and restarts: the partial snapshot was only in memory.
    const c = net.restart('c');
    for (let i = 0; i < 5 && c.snapshotsApplied.length === 0; i++) net.tick(1);
    assert.equal(c.snapshotsApplied.length, 1);
    assert.equal(c.snapshotsApplied[0]!.metadata.index, snapIndex);
    assert.deepEqual(Buffer.from(c.snapshotsApplied[0]!.data), Buffer.from(DATA));
    net.tick(1);
    assert.ok(net.appliedData('c').includes('p6'));
    assert.equal(c.node.raft.raftLog.committed, net.get('a').node.raft.raftLog.committed);
  });
});
