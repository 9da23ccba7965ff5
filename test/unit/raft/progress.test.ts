import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inflights, Progress, ProgressState, ProgressTracker, VoteResult } from '../../../manager/raft/progress.js';
import type { Snapshot } from '../../../manager/raft/types.js';

function snap(index: number): Snapshot {
  return { metadata: { index, term: 1, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
}

function progress(state: ProgressState, match: number, next: number, maxInflight = 256): Progress {
  const pr = new Progress(next, false, maxInflight, 0);
  pr.match = match;
  if (state === ProgressState.Replicate) {
    pr.becomeReplicate();
    pr.next = next;
  } else if (state === ProgressState.Snapshot) {
    pr.becomeSnapshot(snap(next));
  }
  return pr;
}

describe('Inflights', () => {
  it('is bounded by count', () => {
    const f = new Inflights(3, 0);
    f.add(1, 10);
    f.add(2, 10);
    assert.ok(!f.full());
    f.add(3, 10);
    assert.ok(f.full());
    assert.equal(f.count(), 3);
    f.freeLE(1);
    assert.equal(f.count(), 2);
    assert.ok(!f.full());
  });

  it('is bounded by bytes when a byte limit is set', () => {
    const f = new Inflights(100, 100);
    f.add(1, 60);
    assert.ok(!f.full());
    f.add(2, 39);
    assert.ok(!f.full(), '99 bytes');
    f.add(3, 1);
    assert.ok(f.full(), '100 bytes');
    f.freeLE(1);
    assert.ok(!f.full(), '40 bytes');
    assert.equal(f.count(), 2);
  });

  it('a single message over the byte limit fills the window', () => {
    const f = new Inflights(100, 100);
    f.add(5, 500);
    assert.ok(f.full());
    f.freeLE(5);
    assert.ok(!f.full());
    assert.equal(f.count(), 0);
  });

  it('freeLE frees everything up to and including the index, and nothing for stale acks', () => {
    const f = new Inflights(10, 0);
    for (const i of [3, 5, 7, 9]) f.add(i, 1);
    f.freeLE(2);
    assert.equal(f.count(), 4);
    f.freeLE(6);
    assert.equal(f.count(), 2, '3 and 5 freed');
    f.freeLE(6);
    assert.equal(f.count(), 2);
    f.freeLE(8);
    assert.equal(f.count(), 1);
    f.freeLE(100);
    assert.equal(f.count(), 0);
    f.add(11, 1);
    f.reset();
    assert.equal(f.count(), 0);
  });

  it('bytes freed by freeLE are released exactly', () => {
    const f = new Inflights(100, 10);
    f.add(1, 4);
    f.add(2, 4);
    f.add(3, 2);
    assert.ok(f.full());
    f.freeLE(2);
    f.add(4, 7);
    assert.ok(!f.full(), '2 + 7 = 9 bytes');
    f.add(5, 1);
    assert.ok(f.full());
    f.reset();
    f.add(6, 9);
    assert.ok(!f.full(), 'reset clears the byte count');
  });
});

describe('Progress', () => {
  describe('maybeDecrTo in Replicate', () => {
    it('a rejection at or below match is stale', () => {
      const pr = progress(ProgressState.Replicate, 5, 10);
      assert.equal(pr.maybeDecrTo(5, 5), false);
      assert.equal(pr.maybeDecrTo(4, 4), false);
      assert.equal(pr.next, 10);
    });
    it('a rejection above match goes back to match + 1', () => {
      const pr = progress(ProgressState.Replicate, 5, 10);
      assert.equal(pr.maybeDecrTo(9, 9), true);
      assert.equal(pr.next, 6);
    });
  });

  describe('maybeDecrTo in Probe', () => {
    it('ignores a rejection that does not answer the last probe (next - 1)', () => {
      const pr = progress(ProgressState.Probe, 0, 10);
      pr.probeSent = true;
      assert.equal(pr.maybeDecrTo(5, 5), false);
      assert.equal(pr.next, 10);
      assert.equal(pr.probeSent, true, 'still waiting for the real answer');
    });
    it('jumps to the hint + 1 and unpauses', () => {
      const pr = progress(ProgressState.Probe, 0, 10);
      pr.probeSent = true;
      assert.equal(pr.maybeDecrTo(9, 4), true);
      assert.equal(pr.next, 5);
      assert.equal(pr.probeSent, false);
      assert.ok(!pr.isPaused());
    });
    it('never goes above the rejected index', () => {
      const pr = progress(ProgressState.Probe, 0, 10);
      assert.equal(pr.maybeDecrTo(9, 100), true);
      assert.equal(pr.next, 9);
    });
    it('never goes to or below match', () => {
      const pr = progress(ProgressState.Probe, 5, 10);
      assert.equal(pr.maybeDecrTo(9, 2), true);
      assert.equal(pr.next, 6);
    });
    it('next stays at least 1', () => {
      const pr = progress(ProgressState.Probe, 0, 2);
      assert.equal(pr.maybeDecrTo(1, 0), true);
      assert.equal(pr.next, 1);
    });
  });

  it('maybeUpdate moves match and next forward only', () => {
    const pr = progress(ProgressState.Probe, 3, 5);
    pr.probeSent = true;
    assert.equal(pr.maybeUpdate(2), false);
    assert.equal(pr.match, 3);
    assert.equal(pr.maybeUpdate(3), false);
    assert.equal(pr.maybeUpdate(4), true);
    assert.equal(pr.match, 4);
    assert.equal(pr.next, 5);
    assert.equal(pr.probeSent, false);
    assert.equal(pr.maybeUpdate(8), true);
    assert.equal(pr.next, 9);
  });

  it('Probe -> Replicate restarts at match + 1 with an empty window', () => {
    const pr = progress(ProgressState.Probe, 4, 9);
    pr.probeSent = true;
    pr.becomeReplicate();
    assert.equal(pr.state, ProgressState.Replicate);
    assert.equal(pr.next, 5);
    assert.equal(pr.probeSent, false);
    assert.equal(pr.inflights.count(), 0);
  });

  it('Replicate -> Probe restarts at match + 1 and drops the window', () => {
    const pr = progress(ProgressState.Replicate, 4, 5);
    pr.sentEntries(3, 7, 30);
    pr.sentEntries(2, 9, 20);
    assert.equal(pr.next, 10);
    assert.equal(pr.inflights.count(), 2);
    pr.becomeProbe();
    assert.equal(pr.state, ProgressState.Probe);
    assert.equal(pr.next, 5);
    assert.equal(pr.inflights.count(), 0);
  });

  it('Snapshot -> Probe resumes after the snapshot (or after match if further)', () => {
    const pr = progress(ProgressState.Probe, 3, 4);
    pr.becomeSnapshot(snap(20));
    assert.equal(pr.state, ProgressState.Snapshot);
    assert.equal(pr.pendingSnapshot, 20);
    assert.ok(pr.transfer);
    assert.ok(pr.isPaused());
    pr.becomeProbe();
    assert.equal(pr.state, ProgressState.Probe);
    assert.equal(pr.next, 21);
    assert.equal(pr.pendingSnapshot, 0);
    assert.equal(pr.transfer, undefined);

    const pr2 = progress(ProgressState.Probe, 3, 4);
    pr2.becomeSnapshot(snap(20));
    pr2.maybeUpdate(25);
    pr2.becomeProbe();
    assert.equal(pr2.next, 26);
  });

  it('becomeProbe lowers sentCommit so a new commit index is sent again', () => {
    const pr = progress(ProgressState.Replicate, 4, 10);
    pr.sentCommit = 9;
    pr.becomeProbe();
    assert.equal(pr.sentCommit, 4);
  });

  it('sentEntries: Replicate advances next and fills the window; Probe pauses', () => {
    const pr = progress(ProgressState.Replicate, 0, 1, 2);
    pr.sentEntries(2, 2, 20);
    assert.equal(pr.next, 3);
    assert.ok(!pr.isPaused());
    pr.sentEntries(0, 2, 0);
    assert.equal(pr.inflights.count(), 1, 'an empty append takes no slot');
    pr.sentEntries(1, 3, 10);
    assert.ok(pr.isPaused());
    assert.equal(pr.next, 4);

    const probe = progress(ProgressState.Probe, 0, 5);
    assert.ok(!probe.isPaused());
    probe.sentEntries(1, 5, 10);
    assert.equal(probe.next, 5, 'a probe does not move next');
    assert.ok(probe.isPaused());
    probe.maybeUpdate(5);
    assert.ok(!probe.isPaused());
  });
});

describe('ProgressTracker', () => {
  const tracker = (voters: string[], learners: string[] = []): ProgressTracker => {
    const t = new ProgressTracker(256, 0);
    for (const v of voters) {
      t.voters.add(v);
      t.setProgress(v, false, 1);
    }
    for (const l of learners) {
      t.learners.add(l);
      t.setProgress(l, true, 1);
    }
    return t;
  };

  it('quorum is a majority of voters', () => {
    assert.equal(tracker(['a']).quorum(), 1);
    assert.equal(tracker(['a', 'b']).quorum(), 2);
    assert.equal(tracker(['a', 'b', 'c']).quorum(), 2);
    assert.equal(tracker(['a', 'b', 'c', 'd']).quorum(), 3);
    assert.equal(tracker(['a', 'b', 'c', 'd', 'e'], ['l', 'm']).quorum(), 3);
  });

  it('committed is the highest index a quorum of voters has, learners not counted', () => {
    const t = tracker(['a', 'b', 'c'], ['l']);
    const set = (m: Record<string, number>) => {
      for (const [id, v] of Object.entries(m)) t.progress.get(id)!.match = v;
    };
    set({ a: 10, b: 7, c: 3, l: 10 });
    assert.equal(t.committed(), 7);
    set({ b: 2 });
    assert.equal(t.committed(), 3, 'the learner at 10 does not help');
    const four = tracker(['a', 'b', 'c', 'd']);
    for (const [id, v] of Object.entries({ a: 9, b: 8, c: 5, d: 1 })) four.progress.get(id)!.match = v;
    assert.equal(four.committed(), 5, 'three of four');
  });

  it('tallyVotes: won, lost, pending; learners and the first answer only', () => {
    const t = tracker(['a', 'b', 'c', 'd', 'e'], ['l']);
    t.recordVote('a', true);
    t.recordVote('l', true);
    assert.equal(t.tallyVotes(), VoteResult.Pending);
    t.recordVote('b', true);
    assert.equal(t.tallyVotes(), VoteResult.Pending, 'the learner did not count');
    t.recordVote('c', false);
    t.recordVote('c', true);
    assert.equal(t.tallyVotes(), VoteResult.Pending, 'a second answer from c is ignored');
    t.recordVote('d', true);
    assert.equal(t.tallyVotes(), VoteResult.Won);

    const lost = tracker(['a', 'b', 'c']);
    lost.recordVote('a', true);
    lost.recordVote('b', false);
    assert.equal(lost.tallyVotes(), VoteResult.Pending);
    lost.recordVote('c', false);
    assert.equal(lost.tallyVotes(), VoteResult.Lost);
    lost.resetVotes();
    assert.equal(lost.tallyVotes(), VoteResult.Pending);
  });

  it('quorumActive counts self and recently active voters only', () => {
    const t = tracker(['a', 'b', 'c'], ['l']);
    t.progress.get('l')!.recentActive = true;
    assert.equal(t.quorumActive('a'), false);
    t.progress.get('c')!.recentActive = true;
    assert.equal(t.quorumActive('a'), true);
  });

  it('confState lists voters and learners sorted', () => {
    const t = tracker(['c', 'a', 'b'], ['z', 'l']);
    assert.deepEqual(t.confState(), { voters: ['a', 'b', 'c'], learners: ['l', 'z'] });
    assert.deepEqual(t.ids(), ['a', 'b', 'c', 'l', 'z']);
  });
});
