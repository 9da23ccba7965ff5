import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RaftLog } from '../../../manager/raft/log.js';
import { limitSize, MemoryStorage } from '../../../manager/raft/log-storage.js';
import {
  CompactedError,
  type ConfState,
  type Entry,
  EntryType,
  entrySize,
  type Snapshot,
  SnapshotOutOfDateError,
  UnavailableError,
} from '../../../manager/raft/types.js';

const NOLIMIT = Number.MAX_SAFE_INTEGER;

function e(index: number, term: number, data = ''): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(data) };
}

/** Entries (index, term) for consecutive indexes starting at `from`. */
function ents(from: number, terms: number[], data = ''): Entry[] {
  return terms.map((t, i) => e(from + i, t, data));
}

function snap(index: number, term: number, confState: ConfState = { voters: ['a'], learners: [] }, data = ''): Snapshot {
  return { metadata: { index, term, confState }, data: Buffer.from(data) };
}

/** A storage holding `stored` (after an optional snapshot), wrapped in a RaftLog. */
function makeLog(stored: Entry[], opts: { snapshot?: Snapshot; maxApplyingBytes?: number } = {}): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  if (opts.snapshot) storage.applySnapshot(opts.snapshot);
  storage.append(stored);
  return { log: new RaftLog(storage, opts.maxApplyingBytes ?? NOLIMIT), storage };
}

function pairs(es: Entry[]): Array<[number, number]> {
  return es.map((x) => [x.index, x.term]);
}

function termsOf(log: RaftLog): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push([i, log.term(i)]);
  return out;
}

describe('RaftLog', () => {
  describe('maybeAppend', () => {
    // Log (1,1) (2,2) (3,3), committed 1.
    const base = (): RaftLog => {
      const { log } = makeLog(ents(1, [1, 2, 3]));
      log.commitTo(1);
      return log;
    };
    const cases: Array<{
      name: string;
      index: number;
      logTerm: number;
      commit: number;
      ents: Entry[];
      want: number | undefined;
      wantCommit: number;
      wantLog?: Array<[number, number]>;
    }> = [
      { name: 'term mismatch at index', index: 3, logTerm: 2, commit: 3, ents: [e(4, 4)], want: undefined, wantCommit: 1 },
      { name: 'index beyond the log', index: 4, logTerm: 3, commit: 3, ents: [e(5, 4)], want: undefined, wantCommit: 1 },
      { name: 'match last, no entries', index: 3, logTerm: 3, commit: 3, ents: [], want: 3, wantCommit: 3 },
      { name: 'commit bounded by last new entry', index: 3, logTerm: 3, commit: 4, ents: [], want: 3, wantCommit: 3 },
      { name: 'commit below ours', index: 3, logTerm: 3, commit: 2, ents: [], want: 3, wantCommit: 2 },
      { name: 'commit never decreases', index: 3, logTerm: 3, commit: 0, ents: [], want: 3, wantCommit: 1 },
      { name: 'append one', index: 3, logTerm: 3, commit: 3, ents: [e(4, 4)], want: 4, wantCommit: 3 },
      { name: 'append one, commit it', index: 3, logTerm: 3, commit: 4, ents: [e(4, 4)], want: 4, wantCommit: 4 },
      { name: 'append one, commit bounded', index: 3, logTerm: 3, commit: 5, ents: [e(4, 4)], want: 4, wantCommit: 4 },
      { name: 'append two', index: 3, logTerm: 3, commit: 5, ents: [e(4, 4), e(5, 4)], want: 5, wantCommit: 5 },
      {
        name: 'conflict in the middle truncates',
        index: 2,
        logTerm: 2,
        commit: 3,
        ents: [e(3, 4)],
        want: 3,
        wantCommit: 3,
        wantLog: [
          [1, 1],
          [2, 2],
          [3, 4],
        ],
      },
      {
        name: 'conflict truncates the tail beyond the new entries',
        index: 1,
        logTerm: 1,
        commit: 3,
        ents: [e(2, 4)],
        want: 2,
        wantCommit: 2,
        wantLog: [
          [1, 1],
          [2, 4],
        ],
      },
      {
        name: 'entries already present do not truncate',
        index: 1,
        logTerm: 1,
        commit: 1,
        ents: [e(2, 2)],
        want: 2,
        wantCommit: 1,
        wantLog: [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      },
      {
        name: 'partly present, then new',
        index: 2,
        logTerm: 2,
        commit: 4,
        ents: [e(3, 3), e(4, 4)],
        want: 4,
        wantCommit: 4,
        wantLog: [
          [1, 1],
          [2, 2],
          [3, 3],
          [4, 4],
        ],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const log = base();
        assert.equal(log.maybeAppend(c.index, c.logTerm, c.commit, c.ents), c.want);
        assert.equal(log.committed, c.wantCommit);
        if (c.wantLog) assert.deepEqual(termsOf(log), c.wantLog);
        if (c.want === undefined) assert.deepEqual(termsOf(log), [
          [1, 1],
          [2, 2],
          [3, 3],
        ]);
      });
    }

    it('a conflict with a committed entry is fatal', () => {
      const log = base();
      assert.throws(() => log.maybeAppend(0, 0, 3, [e(1, 4)]), /conflicts with committed entry/);
      log.commitTo(2);
      assert.throws(() => log.maybeAppend(1, 1, 3, [e(2, 4)]), /conflicts with committed entry/);
    });

    it('truncating entries already in storage: the unstable tail replaces them', () => {
      const { log, storage } = makeLog(ents(1, [1, 1, 1, 1]));
      assert.equal(log.maybeAppend(2, 1, 0, [e(3, 2)]), 3);
      assert.deepEqual(pairs(log.unstableEntries()), [[3, 2]]);
      assert.equal(log.lastIndex(), 3);
      assert.equal(log.term(3), 2);
      // Storage still holds the old tail until the application persists the new one.
      assert.equal(storage.lastIndex(), 4);
      assert.deepEqual(pairs(log.slice(1, 4, NOLIMIT)), [
        [1, 1],
        [2, 1],
        [3, 2],
      ]);
      storage.append(log.unstableEntries());
      log.stableTo(3, 2);
      assert.deepEqual(log.unstableEntries(), []);
      assert.equal(storage.lastIndex(), 3);
      assert.equal(log.lastIndex(), 3);
    });
  });

  describe('findConflict', () => {
    const log = makeLog(ents(1, [1, 2, 3])).log;
    const cases: Array<[Entry[], number]> = [
      [[], 0],
      [ents(1, [1, 2, 3]), 0],
      [ents(2, [2, 3]), 0],
      [ents(3, [3]), 0],
      [ents(1, [1, 2, 3, 4, 4]), 4],
      [ents(2, [2, 3, 4, 4]), 4],
      [ents(4, [4, 4]), 4],
      [ents(1, [4, 4]), 1],
      [ents(2, [1, 4, 4]), 2],
      [ents(3, [1, 2, 4, 4]), 3],
    ];
    for (const [es, want] of cases) {
      it(`${JSON.stringify(pairs(es))} -> ${want}`, () => assert.equal(log.findConflict(es), want));
    }
  });

  describe('findConflictByTerm', () => {
    // Snapshot at (2, 2); entries 3..7 with terms 2 3 3 5 5; unstable 8 with term 6.
    const build = (): RaftLog => {
      const { log } = makeLog(ents(3, [2, 3, 3, 5, 5]), { snapshot: snap(2, 2) });
      log.append([e(8, 6)]);
      return log;
    };
    const cases: Array<[number, number, { index: number; term: number }]> = [
      [8, 6, { index: 8, term: 6 }],
      [8, 5, { index: 7, term: 5 }],
      [8, 4, { index: 5, term: 3 }],
      [7, 4, { index: 5, term: 3 }],
      [5, 3, { index: 5, term: 3 }],
      [8, 2, { index: 3, term: 2 }],
      [4, 2, { index: 3, term: 2 }],
      // The snapshot's index still answers with its term...
      [8, 1, { index: 1, term: 0 }],
      [2, 2, { index: 2, term: 2 }],
      // ...below it is compacted: term 0.
      [1, 5, { index: 1, term: 0 }],
      [0, 5, { index: 0, term: 0 }],
    ];
    for (const [index, term, want] of cases) {
      it(`(${index}, ${term}) -> (${want.index}, ${want.term})`, () => assert.deepEqual(build().findConflictByTerm(index, term), want));
    }
  });

  describe('slice across the storage / unstable boundary', () => {
    // Stable 1..5, unstable 6..8; every entry is 34 bytes.
    const build = (): RaftLog => {
      const { log } = makeLog(ents(1, [1, 1, 1, 1, 1], 'x'.repeat(10)));
      log.append(ents(6, [2, 2, 2], 'y'.repeat(10)));
      return log;
    };
    const sz = entrySize(e(1, 1, 'x'.repeat(10)));
    it('entry size is data + 24', () => assert.equal(sz, 34));
    const cases: Array<[number, number, number, number[]]> = [
      [2, 9, NOLIMIT, [2, 3, 4, 5, 6, 7, 8]],
      [4, 7, NOLIMIT, [4, 5, 6]],
      [4, 7, 0, [4]],
      [4, 7, sz, [4]],
      [4, 7, sz * 2 - 1, [4]],
      [4, 7, sz * 2, [4, 5]],
      [4, 7, sz * 3, [4, 5, 6]],
      [5, 8, sz * 2, [5, 6]],
      [5, 8, sz * 3, [5, 6, 7]],
      [3, 9, sz * 4, [3, 4, 5, 6]],
      [6, 9, 0, [6]],
      [6, 9, sz * 2, [6, 7]],
      [6, 9, NOLIMIT, [6, 7, 8]],
      [1, 6, sz * 5, [1, 2, 3, 4, 5]],
      [5, 5, NOLIMIT, []],
    ];
    for (const [lo, hi, max, want] of cases) {
      it(`[${lo}, ${hi}) within ${max === NOLIMIT ? 'no limit' : max} bytes -> ${want.join(',')}`, () => {
        const got = build().slice(lo, hi, max);
        assert.deepEqual(
          got.map((x) => x.index),
          want,
        );
        // Entries come from the right place: stable ones are term 1, unstable term 2.
        for (const x of got) assert.equal(x.term, x.index <= 5 ? 1 : 2);
      });
    }
    it('errors: compacted, unavailable, inverted', () => {
      const { log, storage } = makeLog(ents(1, [1, 1, 1, 1, 1]));
      log.append(ents(6, [2]));
      storage.compact(3);
      assert.equal(log.firstIndex(), 4);
      assert.throws(() => log.slice(3, 5, NOLIMIT), CompactedError);
      assert.throws(() => log.slice(4, 8, NOLIMIT), UnavailableError);
      assert.throws(() => log.slice(5, 4, NOLIMIT), /invalid slice/);
      assert.deepEqual(
        log.slice(4, 7, NOLIMIT).map((x) => x.index),
        [4, 5, 6],
      );
      assert.deepEqual(log.entriesFrom(7, NOLIMIT), []);
      assert.deepEqual(
        log.entriesFrom(5, NOLIMIT).map((x) => x.index),
        [5, 6],
      );
    });
  });

  describe('term', () => {
    it('answers for the snapshot index and throws outside the log', () => {
      const { log } = makeLog(ents(6, [3, 3]), { snapshot: snap(5, 2) });
      assert.equal(log.firstIndex(), 6);
      assert.equal(log.term(5), 2);
      assert.equal(log.term(7), 3);
      assert.throws(() => log.term(4), CompactedError);
      assert.throws(() => log.term(8), UnavailableError);
      assert.equal(log.termOrZero(4), 0);
      assert.equal(log.termOrZero(8), 0);
      assert.ok(log.matchTerm(7, 3));
      assert.ok(!log.matchTerm(7, 2));
      assert.ok(!log.matchTerm(4, 0));
      assert.equal(log.lastTerm(), 3);
    });
    it('an empty log has term 0 at index 0', () => {
      const { log } = makeLog([]);
      assert.equal(log.lastIndex(), 0);
      assert.equal(log.firstIndex(), 1);
      assert.equal(log.term(0), 0);
      assert.equal(log.lastTerm(), 0);
    });
  });

  it('isUpToDate compares last term first, then length', () => {
    const { log } = makeLog(ents(1, [1, 2, 3]));
    assert.ok(log.isUpToDate(3, 3));
    assert.ok(log.isUpToDate(4, 3));
    assert.ok(!log.isUpToDate(2, 3));
    assert.ok(log.isUpToDate(1, 4), 'a higher last term wins even when shorter');
    assert.ok(!log.isUpToDate(10, 2), 'a lower last term loses even when longer');
  });

  describe('commitTo', () => {
    it('advances, never goes back, and panics beyond the last index', () => {
      const { log } = makeLog(ents(1, [1, 1, 1]));
      log.commitTo(2);
      assert.equal(log.committed, 2);
      log.commitTo(1);
      assert.equal(log.committed, 2);
      assert.throws(() => log.commitTo(4), /out of range/);
      assert.equal(log.committed, 2);
      log.commitTo(3);
      assert.equal(log.committed, 3);
    });
    it('appending at or below the commit index is fatal', () => {
      const { log } = makeLog(ents(1, [1, 1, 1]));
      log.commitTo(2);
      assert.throws(() => log.append([e(2, 5)]), /below committed/);
      assert.equal(log.append([e(3, 5)]), 3);
      assert.equal(log.term(3), 5);
    });
  });

  describe('stableTo', () => {
    it('marks unstable entries stable up to (i, t)', () => {
      const { log } = makeLog([]);
      log.append(ents(1, [1, 1, 1]));
      log.stableTo(2, 1);
      assert.deepEqual(pairs(log.unstableEntries()), [[3, 1]]);
      assert.equal(log.unstable.offset, 3);
    });
    it('is ignored when the term does not match (the entry was replaced while being written)', () => {
      const { log } = makeLog([]);
      log.append(ents(1, [1, 1]));
      // A new leader replaces entry 2 before the write of (2, 1) completes.
      log.append([e(2, 2)]);
      log.stableTo(2, 1);
      assert.deepEqual(pairs(log.unstableEntries()), [
        [1, 1],
        [2, 2],
      ]);
      assert.equal(log.unstable.offset, 1);
      log.stableTo(2, 2);
      assert.deepEqual(log.unstableEntries(), []);
    });
    it('is ignored for indexes not in the unstable tail', () => {
      const { log } = makeLog(ents(1, [1, 1]));
      log.append(ents(3, [1]));
      log.stableTo(1, 1);
      log.stableTo(9, 1);
      assert.deepEqual(pairs(log.unstableEntries()), [[3, 1]]);
    });
  });

  describe('restore', () => {
    it('replaces the log with a snapshot', () => {
      const { log, storage } = makeLog(ents(1, [1, 1, 1, 1, 1]));
      log.commitTo(3);
      log.appliedTo(2);
      const s = snap(10, 3, { voters: ['a', 'b'], learners: [] }, 'state');
      log.restore(s);
      assert.equal(log.firstIndex(), 11);
      assert.equal(log.lastIndex(), 10);
      assert.equal(log.lastTerm(), 3);
      assert.equal(log.term(10), 3);
      assert.throws(() => log.term(5), CompactedError);
      assert.equal(log.committed, 10);
      assert.equal(log.applied, 10);
      assert.equal(log.applying, 10);
      assert.equal(log.snapshot(), s);
      assert.deepEqual(log.unstableEntries(), []);
      assert.deepEqual(log.nextCommittedEntries(), []);
      assert.ok(!log.hasNextCommittedEntries());
      // Entries after the snapshot append normally.
      assert.equal(log.maybeAppend(10, 3, 11, [e(11, 3), e(12, 4)]), 12);
      assert.equal(log.committed, 11);
      assert.deepEqual(
        log.slice(11, 13, NOLIMIT).map((x) => x.index),
        [11, 12],
      );
      storage.applySnapshot(s);
      log.stableSnapTo(10);
      assert.equal(log.unstable.snapshot, undefined);
      assert.equal(log.firstIndex(), 11);
      assert.equal(log.term(10), 3);
      assert.equal(log.lastIndex(), 12);
    });
  });

  describe('committed entries for the application', () => {
    it('nextCommittedEntries is bounded in bytes and resumes after acceptApplying', () => {
      const { log } = makeLog(ents(1, [1, 1, 1, 1], 'x'.repeat(10)), { maxApplyingBytes: 68 });
      log.commitTo(4);
      assert.deepEqual(
        log.nextCommittedEntries().map((x) => x.index),
        [1, 2],
      );
      log.acceptApplying(2);
      assert.deepEqual(
        log.nextCommittedEntries().map((x) => x.index),
        [3, 4],
      );
      log.acceptApplying(4);
      assert.deepEqual(log.nextCommittedEntries(), []);
      assert.ok(!log.hasNextCommittedEntries());
      log.appliedTo(4);
      assert.equal(log.applied, 4);
    });
    it('appliedTo refuses indexes beyond commit or below applied', () => {
      const { log } = makeLog(ents(1, [1, 1, 1]));
      log.commitTo(2);
      assert.throws(() => log.appliedTo(3), /out of range/);
      log.appliedTo(2);
      assert.throws(() => log.appliedTo(1), /out of range/);
      assert.equal(log.applied, 2);
    });
  });
});

describe('MemoryStorage', () => {
  it('starts empty', () => {
    const s = new MemoryStorage();
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.deepEqual(s.initialState(), { hardState: { term: 0, vote: '', commit: 0 }, confState: { voters: [], learners: [] } });
    assert.throws(() => s.term(1), UnavailableError);
  });

  it('append, entries and term', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 2, 3], 'x'.repeat(10)));
    assert.equal(s.lastIndex(), 5);
    assert.equal(s.term(3), 2);
    assert.deepEqual(
      s.entries(2, 5, NOLIMIT).map((x) => x.index),
      [2, 3, 4],
    );
    assert.deepEqual(
      s.entries(2, 6, 68).map((x) => x.index),
      [2, 3],
    );
    assert.deepEqual(
      s.entries(2, 6, 0).map((x) => x.index),
      [2],
    );
    assert.throws(() => s.entries(2, 7, NOLIMIT), UnavailableError);
    assert.throws(() => s.entries(0, 2, NOLIMIT), CompactedError);
  });

  it('append overwrites a conflicting tail and refuses gaps', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 1, 1, 1]));
    s.append(ents(3, [2, 2]));
    assert.equal(s.lastIndex(), 4);
    assert.deepEqual(
      [1, 2, 3, 4].map((i) => s.term(i)),
      [1, 1, 2, 2],
    );
    s.append(ents(5, [2]));
    assert.equal(s.lastIndex(), 5);
    assert.throws(() => s.append(ents(7, [2])), /missing log entry/);
    assert.equal(s.lastIndex(), 5);
    s.append([]);
    assert.equal(s.lastIndex(), 5);
  });

  it('compact drops entries before the index and keeps its term', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 2, 3]));
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.lastIndex(), 5);
    assert.equal(s.term(3), 2, 'the compacted index answers term()');
    assert.throws(() => s.term(2), CompactedError);
    assert.throws(() => s.entries(3, 5, NOLIMIT), CompactedError);
    assert.deepEqual(
      s.entries(4, 6, NOLIMIT).map((x) => [x.index, x.term]),
      [
        [4, 2],
        [5, 3],
      ],
    );
    s.compact(2); // already compacted: no-op
    assert.equal(s.firstIndex(), 4);
    assert.throws(() => s.compact(6), UnavailableError);
    // Appends that overlap the compacted prefix are trimmed.
    s.append(ents(1, [9, 9]));
    assert.equal(s.lastIndex(), 5);
    assert.equal(s.term(5), 3);
    s.append(ents(3, [9, 9]));
    assert.equal(s.term(3), 2, 'the compacted entry is not rewritten');
    assert.equal(s.term(4), 9);
    assert.equal(s.lastIndex(), 4);
    s.compact(4);
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.lastIndex(), 4);
  });

  it('createSnapshot records index, term and a copy of the membership', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 2, 3]));
    const cs: ConfState = { voters: ['a', 'b'], learners: ['c'] };
    const sn = s.createSnapshot(4, cs, Buffer.from('state'));
    cs.voters.push('z');
    assert.deepEqual(sn.metadata, { index: 4, term: 2, confState: { voters: ['a', 'b'], learners: ['c'] } });
    assert.equal(s.snapshot(), sn);
    assert.deepEqual(Buffer.from(s.snapshot().data), Buffer.from('state'));
    assert.throws(() => s.createSnapshot(4, cs, Buffer.from('')), SnapshotOutOfDateError);
    assert.throws(() => s.createSnapshot(3, cs, Buffer.from('')), SnapshotOutOfDateError);
    assert.throws(() => s.createSnapshot(6, cs, Buffer.from('')), UnavailableError);
    // Creating a snapshot does not compact by itself.
    assert.equal(s.firstIndex(), 1);
    s.compact(4);
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.term(4), 2);
    assert.deepEqual(s.initialState().confState, { voters: ['a', 'b'], learners: ['c'] });
  });

  it('applySnapshot replaces everything and refuses older snapshots', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 1]));
    s.applySnapshot(snap(10, 4, { voters: ['x'], learners: [] }));
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 4);
    assert.throws(() => s.term(3), CompactedError);
    assert.deepEqual(s.initialState().confState, { voters: ['x'], learners: [] });
    assert.throws(() => s.applySnapshot(snap(9, 4)), SnapshotOutOfDateError);
    assert.throws(() => s.applySnapshot(snap(10, 4)), SnapshotOutOfDateError);
    s.applySnapshot(snap(12, 5));
    assert.equal(s.lastIndex(), 12);
    s.append(ents(13, [5]));
    assert.equal(s.lastIndex(), 13);
  });

  it('hard state is stored by value', () => {
    const s = new MemoryStorage();
    const hs = { term: 3, vote: 'b', commit: 0 };
    s.setHardState(hs);
    hs.term = 9;
    assert.deepEqual(s.hardStateNow(), { term: 3, vote: 'b', commit: 0 });
    const got = s.hardStateNow();
    got.vote = 'q';
    assert.deepEqual(s.initialState().hardState, { term: 3, vote: 'b', commit: 0 });
  });

  it('limitSize keeps at least one entry and stops before exceeding the limit', () => {
    const es = ents(1, [1, 1, 1, 1], 'x'.repeat(10)); // 34 bytes each
    assert.deepEqual(limitSize([], 0), []);
    assert.equal(limitSize(es, 0).length, 1);
    assert.equal(limitSize(es, 67).length, 1);
    assert.equal(limitSize(es, 68).length, 2);
    assert.equal(limitSize(es, 135).length, 3);
    assert.equal(limitSize(es, 136), es, 'no copy when everything fits');
  });
});
