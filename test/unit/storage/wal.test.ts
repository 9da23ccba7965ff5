import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Wal } from '../../../manager/raft/storage/wal.js';
import { EntryType, type Entry, type HardState } from '../../../manager/raft/types.js';
import { SeededRandom } from '../../../shared/random.js';
import { entries, entry, LogModel, segmentNames, withTempDir } from './fixtures.js';

async function reopen(dir: string, segmentBytes?: number): Promise<Awaited<ReturnType<typeof Wal.open>>> {
  return Wal.open(dir, { segmentBytes });
}

test('a fresh WAL starts empty with one segment for index 1', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'wal');
    const { wal, replay } = await Wal.open(dir);
    assert.equal(replay.created, true);
    assert.deepEqual(replay.entries, []);
    assert.deepEqual(replay.hardState, { term: 0, vote: '', commit: 0 });
    assert.equal(replay.firstIndex, 1);
    assert.deepEqual(await segmentNames(dir), ['0000000000000001-0000000000000001.wal']);
    await wal.close();

    const again = await reopen(dir);
    assert.equal(again.replay.created, false);
    assert.deepEqual(again.replay.entries, []);
    await again.wal.close();
  });
});

test('many batches with hard states and overwritten tails replay to exactly the resolved log', async () => {
  await withTempDir(async (dir) => {
    const rng = new SeededRandom(1);
    const model = new LogModel();
    let hardState: HardState = { term: 0, vote: '', commit: 0 };
    let term = 1;
    let { wal } = await Wal.open(dir);
    for (let batch = 0; batch < 300; batch++) {
      let from = model.lastIndex + 1;
      if (model.lastIndex > 5 && rng.chance(0.15)) {
        // A new leader overwrites an uncommitted tail.
        term++;
        from = Math.max(hardState.commit + 1, model.lastIndex - rng.int(5));
      }
      const count = rng.int(8);
      const batchEntries: Entry[] = [];
      for (let i = 0; i < count; i++) batchEntries.push(entry(from + i, term, rng.int(300)));
      let hs: HardState | undefined;
      if (rng.chance(0.5)) {
        const last = count > 0 ? from + count - 1 : model.lastIndex;
        hs = { term, vote: `node-${term % 3}`, commit: Math.min(last, hardState.commit + rng.int(4)) };
        hardState = hs;
      }
      await wal.append(hs, batchEntries);
      model.append(batchEntries);
      if (batch % 100 === 99) {
        // Reopening mid-way checks that appends continue correctly after a replay.
        await wal.close();
        ({ wal } = await reopen(dir));
      }
    }
    await wal.close();
    const { wal: reopened, replay } = await reopen(dir);
    assert.deepEqual(replay.entries, model.entries);
    assert.deepEqual(replay.hardState, hardState);
    assert.equal(replay.firstIndex, 1);
    assert.equal(reopened.lastIndex, model.lastIndex);
    await reopened.close();
  });
});

test('entry data, types and large indexes round-trip exactly', async () => {
  await withTempDir(async (dir) => {
    const big = 2 ** 53 - 10;
    const odd: Entry[] = [
      { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array(0) },
      { index: 2, term: 1, type: EntryType.ConfChange, data: new Uint8Array([0, 255, 0, 255]) },
      { index: 3, term: 2 ** 40, type: EntryType.Normal, data: new Uint8Array(1 << 20).fill(0xa5) },
    ];
    const { wal } = await Wal.open(dir);
    await wal.append({ term: 2 ** 40, vote: 'nœud-ü', commit: 2 }, odd);
    await wal.append(undefined, [], { index: big, term: big, replacesLog: true });
    await wal.append(undefined, [entry(big + 1, big, 5)]);
    await wal.close();

    const { wal: again, replay } = await reopen(dir);
    assert.deepEqual(replay.hardState, { term: 2 ** 40, vote: 'nœud-ü', commit: 2 });
    assert.deepEqual(replay.entries, [entry(big + 1, big, 5)]);
    assert.deepEqual(replay.snapshots, [{ index: big, term: big, replacesLog: true }]);
    await again.close();

    // The odd entries themselves, before the snapshot replaced them.
    await withTempDir(async (dir2) => {
      const { wal: w } = await Wal.open(dir2);
      await w.append(undefined, odd);
      await w.close();
      const { wal: w2, replay: r2 } = await reopen(dir2);
      assert.deepEqual(r2.entries, odd);
      assert.equal(Object.getPrototypeOf(r2.entries[0]!.data), Uint8Array.prototype);
      await w2.close();
    });
  });
});

/** Counts calls of a FileHandle method (shared by all handles through the prototype). */
function countCalls(proto: object, name: string, counts: Map<string, number>): () => void {
  const target = proto as Record<string, unknown>;
  const original = target[name] as (...args: unknown[]) => unknown;
  target[name] = function (this: unknown, ...args: unknown[]): unknown {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return original.apply(this, args);
  };
  return () => {
    target[name] = original;
  };
}

test('one batch is one write and one fdatasync (group commit); an empty one touches nothing', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    const path = join(dir, (await segmentNames(dir))[0]!);
    const probe = await open(join(dir, 'probe'), 'w');
    const proto: object = Object.getPrototypeOf(probe);
    await probe.close();
    const counts = new Map<string, number>();
    const restore = ['write', 'datasync', 'sync'].map((name) => countCalls(proto, name, counts));
    try {
      const before = (await stat(path)).size;
      await wal.append({ term: 1, vote: 'a', commit: 0 }, entries(1, 64, 1, 256));
      assert.deepEqual(Object.fromEntries(counts), { write: 1, datasync: 1 });
      // 64 entry records of 8 + 18 + 256 bytes and one hard state record of 8 + 17 + 1.
      const after = (await stat(path)).size;
      assert.equal(after - before, 64 * (8 + 18 + 256) + (8 + 17 + 1));

      counts.clear();
      await wal.append(undefined, []);
      assert.deepEqual(Object.fromEntries(counts), {});
      assert.equal((await stat(path)).size, after);
    } finally {
      for (const undo of restore) undo();
    }
    await wal.close();
  });
});

test('segments rotate past the size limit and replay across them', async () => {
  await withTempDir(async (dir) => {
    const segmentBytes = 4096;
    const { wal } = await Wal.open(dir, { segmentBytes });
    const model = new LogModel();
    for (let i = 0; i < 50; i++) {
      const batch = entries(model.lastIndex + 1, model.lastIndex + 5, 1, 100);
      await wal.append({ term: 1, vote: 'a', commit: model.lastIndex }, batch);
      model.append(batch);
    }
    // Overwrite a tail that spans the last segment boundary.
    const boundary = parseInt((await segmentNames(dir)).at(-1)!.slice(17, 33), 16);
    const rewrite = entries(boundary - 3, boundary + 2, 2, 100);
    await wal.append({ term: 2, vote: 'b', commit: boundary - 4 }, rewrite);
    model.append(rewrite);
    await wal.close();

    const names = await segmentNames(dir);
    assert.ok(names.length >= 5, `expected several segments, got ${names.length}`);
    names.forEach((name, i) => assert.equal(parseInt(name.slice(0, 16), 16), i + 1, 'sequence numbers are consecutive'));
    for (const name of names.slice(0, -1)) {
      const size = (await stat(join(dir, name))).size;
      assert.ok(size >= segmentBytes && size < segmentBytes + 1000, `${name} was cut just past the limit (${size} bytes)`);
    }

    const { wal: again, replay } = await reopen(dir, segmentBytes);
    assert.deepEqual(replay.entries, model.entries);
    assert.deepEqual(replay.hardState, { term: 2, vote: 'b', commit: boundary - 4 });
    await again.close();
  });
});

test('releaseTo deletes only segments wholly below the index and the hard state survives', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    await wal.append({ term: 7, vote: 'x', commit: 3 }, entries(1, 3, 7, 100));
    for (let i = 4; i <= 200; i += 4) await wal.append(undefined, entries(i, i + 3, 7, 100));
    const before = await segmentNames(dir);
    const firstIndexes = before.map((n) => parseInt(n.slice(17, 33), 16));
    const snapshotIndex = 150;
    await wal.append(undefined, [], { index: snapshotIndex, term: 7, replacesLog: false });
    const removed = await wal.releaseTo(snapshotIndex);

    const containing = firstIndexes.filter((f) => f <= snapshotIndex).length - 1;
    assert.equal(removed, containing);
    const after = await segmentNames(dir);
    assert.equal(after[0], before[containing], 'the segment holding the snapshot index is kept');
    assert.ok(parseInt(after[0]!.slice(17, 33), 16) <= snapshotIndex);
    assert.deepEqual(wal.segmentNames, after);
    await wal.close();

    const { wal: again, replay } = await reopen(dir, 2048);
    assert.deepEqual(replay.hardState, { term: 7, vote: 'x', commit: 3 }, 'hard state is repeated at the start of every segment');
    assert.ok(replay.firstIndex <= snapshotIndex);
    assert.deepEqual(
      replay.entries.filter((e) => e.index > snapshotIndex),
      entries(snapshotIndex + 1, 203, 7, 100),
    );
    assert.deepEqual(replay.snapshots, [{ index: snapshotIndex, term: 7, replacesLog: false }]);
    await again.close();
  });
});

test('a snapshot that replaces the log discards the entries before it; one taken locally keeps them', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    await wal.append(undefined, entries(1, 10, 1));
    await wal.append(undefined, [], { index: 5, term: 1, replacesLog: false });
    await wal.close();
    let opened = await reopen(dir);
    assert.deepEqual(opened.replay.entries, entries(1, 10, 1));

    // The leader's snapshot at 8 (term 3) disagrees with the local entry 8.
    await opened.wal.append({ term: 3, vote: '', commit: 8 }, [], { index: 8, term: 3, replacesLog: true });
    assert.equal(opened.wal.lastIndex, 8);
    await opened.wal.close();
    opened = await reopen(dir);
    assert.deepEqual(opened.replay.entries, []);
    assert.equal(opened.replay.firstIndex, 9);
    await opened.wal.append(undefined, entries(9, 12, 3));
    await opened.wal.close();
    opened = await reopen(dir);
    assert.deepEqual(opened.replay.entries, entries(9, 12, 3));
    await opened.wal.close();
  });
});

test('appends that would leave a gap are refused without harming the WAL', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    await wal.append(undefined, entries(1, 3, 1));
    await assert.rejects(wal.append(undefined, entries(5, 6, 1)), /gap/);
    await assert.rejects(wal.append(undefined, [entry(4, 1), entry(6, 1)]), /consecutive/);
    await assert.rejects(wal.append(undefined, [entry(0, 1)]), /gap/);
    await assert.rejects(wal.append(undefined, [], { index: 9, term: 1, replacesLog: false }), /beyond the WAL's last index/);
    await wal.append(undefined, entries(4, 5, 1));
    await wal.append(undefined, [], { index: 4, term: 1, replacesLog: false });
    await assert.rejects(wal.append(undefined, entries(4, 6, 2)), /at or below the snapshot at index 4/);
    await wal.close();
    const { wal: again, replay } = await reopen(dir);
    assert.deepEqual(replay.entries, entries(1, 5, 1));
    // The snapshot floor is rebuilt by replay.
    await assert.rejects(again.append(undefined, entries(3, 6, 2)), /at or below the snapshot at index 4/);
    await again.append(undefined, entries(5, 6, 2));
    await again.close();
  });
});

test('overlapping appends are refused rather than interleaved', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    const first = wal.append(undefined, entries(1, 3, 1));
    await assert.rejects(wal.append(undefined, entries(4, 6, 1)), /in flight/);
    await first;
    await wal.close();
    await assert.rejects(wal.append(undefined, entries(4, 6, 1)), /closed/);
  });
});

test('the hard state is written after the entries of its batch', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    const path = join(dir, (await segmentNames(dir))[0]!);
    const start = (await stat(path)).size;
    await wal.append({ term: 1, vote: 'a', commit: 2 }, entries(1, 2, 1, 4), { index: 0, term: 0, replacesLog: true });
    await wal.close();
    const buf = await readFile(path);
    const types: number[] = [];
    for (let at = start; at < buf.length; at += 8 + buf.readUInt32LE(at)) types.push(buf[at + 8]!);
    assert.deepEqual(types, [4, 2, 2, 3], 'snapshot marker, entries, then hard state');
  });
});
