import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskStorage, UnrecoverableLogError } from '../../../manager/raft/storage/disk-storage.js';
import { Snapshotter } from '../../../manager/raft/storage/snapshotter.js';
import { SnapshotOutOfDateError, type HardState, type Snapshot } from '../../../manager/raft/types.js';
import { dataFor, entries, LogModel, segmentNames, warnings, withTempDir } from './fixtures.js';

function snapshot(index: number, term: number): Snapshot {
  return {
    metadata: { index, term, confState: { voters: ['a', 'b', 'c'], learners: [] } },
    data: dataFor(index, term, 500),
  };
}

async function reopen(dir: string, opts?: Parameters<typeof DiskStorage.open>[1]): ReturnType<typeof DiskStorage.open> {
  return DiskStorage.open(dir, opts);
}

test('opening a directory that does not exist creates it owner-only with empty state', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'data', 'raft');
    const { storage, state } = await DiskStorage.open(dir);
    assert.deepEqual(state, { hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [] });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'wal'))).mode & 0o777, 0o700);
    await storage.close();
  });
});

test('saved batches come back on reopen, overwritten tails resolved', async () => {
  await withTempDir(async (dir) => {
    const model = new LogModel();
    let { storage } = await DiskStorage.open(dir);
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 10, 1) });
    model.append(entries(1, 10, 1));
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 6 }, entries: [] });
    await storage.close();

    ({ storage } = await reopen(dir));
    await storage.save({ hardState: { term: 2, vote: 'b', commit: 6 }, entries: entries(8, 12, 2) });
    model.append(entries(8, 12, 2));
    await storage.close();

    const { storage: again, state } = await reopen(dir);
    assert.deepEqual(state.entries, model.entries);
    assert.deepEqual(state.hardState, { term: 2, vote: 'b', commit: 6 });
    assert.equal(state.snapshot, undefined);
    await again.close();
  });
});

test('an empty batch writes nothing', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3, 1) });
    const segment = join(dir, 'wal', (await segmentNames(join(dir, 'wal')))[0]!);
    const before = await readFile(segment);
    await storage.save({ entries: [] });
    await storage.save({ entries: [], hardState: undefined, snapshot: undefined });
    assert.deepEqual(await readFile(segment), before);
    await storage.close();
  });
});

test('concurrent saves are applied one after another in call order', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const from = i * 4 + 1;
      pending.push(storage.save({ hardState: { term: 1, vote: 'a', commit: from - 1 }, entries: entries(from, from + 3, 1) }));
    }
    await Promise.all(pending);
    await storage.close();
    const { storage: again, state } = await reopen(dir);
    assert.deepEqual(state.entries, entries(1, 200, 1));
    assert.deepEqual(state.hardState, { term: 1, vote: 'a', commit: 196 });
    await again.close();
  });
});

test('saveSnapshot releases old segments and reopen rebuilds from the snapshot and the rest of the WAL', async () => {
  await withTempDir(async (dir) => {
    const walDir = join(dir, 'wal');
    const { storage } = await DiskStorage.open(dir, { segmentBytes: 2048 });
    const hs: HardState = { term: 3, vote: 'c', commit: 280 };
    for (let i = 1; i <= 300; i += 5) await storage.save({ entries: entries(i, i + 4, 3, 40) });
    await storage.save({ hardState: hs, entries: [] });
    const before = await segmentNames(walDir);
    await storage.saveSnapshot(snapshot(250, 3));
    const after = await segmentNames(walDir);

    assert.ok(after.length < before.length, `segments were released (${before.length} -> ${after.length})`);
    const firstIndexes = after.map((n) => parseInt(n.slice(17, 33), 16));
    assert.ok(firstIndexes[0]! <= 250, 'the segment holding the snapshot index is kept');
    assert.ok(firstIndexes.length === 1 || firstIndexes[1]! > 250, 'no segment that only holds older entries is kept');
    assert.deepEqual(await readdir(join(dir, 'snap')), ['0000000000000003-00000000000000fa.snap']);

    await storage.save({ entries: entries(301, 305, 3, 40) });
    await storage.close();
    const { storage: again, state } = await reopen(dir, { segmentBytes: 2048 });
    assert.deepEqual(state.snapshot, snapshot(250, 3));
    assert.deepEqual(state.entries, entries(251, 305, 3, 40));
    assert.deepEqual(state.hardState, hs);
    await again.close();
  });
});

test('a snapshot received from the leader replaces the log, even where it overlapped', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 5 }, entries: entries(1, 10, 1) });
    // The leader's log disagrees from index 6 on; it sends a snapshot at 8.
    await storage.save({ hardState: { term: 4, vote: '', commit: 8 }, entries: [], snapshot: snapshot(8, 4) });
    await storage.close();
    let opened = await reopen(dir);
    assert.deepEqual(opened.state.snapshot, snapshot(8, 4));
    assert.deepEqual(opened.state.entries, []);
    assert.deepEqual(opened.state.hardState, { term: 4, vote: '', commit: 8 });

    // A snapshot beyond the log, with the entries that follow it in the same batch.
    await opened.storage.save({ hardState: { term: 5, vote: 'b', commit: 100 }, entries: entries(101, 103, 5), snapshot: snapshot(100, 5) });
    // Entries the snapshot covers can no longer change.
    await assert.rejects(opened.storage.save({ entries: entries(100, 104, 6) }), /at or below the snapshot at index 100/);
    await opened.storage.save({ entries: entries(104, 105, 5) });
    await opened.storage.close();
    opened = await reopen(dir);
    assert.deepEqual(opened.state.snapshot, snapshot(100, 5));
    assert.deepEqual(opened.state.entries, entries(101, 105, 5));
    assert.deepEqual(opened.state.hardState, { term: 5, vote: 'b', commit: 100 });
    await opened.storage.close();
  });
});

test('a broken newest snapshot falls back to the older one and the WAL entries after it', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 90 }, entries: entries(1, 100, 1) });
    await storage.saveSnapshot(snapshot(50, 1));
    await storage.saveSnapshot(snapshot(90, 1));
    await storage.close();
    const newest = join(dir, 'snap', '0000000000000001-000000000000005a.snap');
    const buf = await readFile(newest);
    buf[100]! ^= 0x80;
    await writeFile(newest, buf);

    const log = warnings();
    const { storage: again, state } = await reopen(dir, { onWarning: log.onWarning });
    assert.deepEqual(state.snapshot, snapshot(50, 1));
    assert.deepEqual(state.entries, entries(51, 100, 1));
    assert.ok(log.messages.some((m) => m.includes('000000000000005a.snap is unusable') && m.includes('.broken')));
    assert.ok((await readdir(join(dir, 'snap'))).includes('0000000000000001-000000000000005a.snap.broken'));
    await again.close();
  });
});

test('a broken snapshot whose entries were released cannot be papered over', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir, { segmentBytes: 1024, keepSnapshots: 1 });
    for (let i = 1; i <= 200; i += 10) await storage.save({ entries: entries(i, i + 9, 1, 30) });
    await storage.saveSnapshot(snapshot(180, 1));
    await storage.close();
    const path = join(dir, 'snap', '0000000000000001-00000000000000b4.snap');
    const buf = await readFile(path);
    buf[buf.length - 1]! ^= 0x01;
    await writeFile(path, buf);
    await assert.rejects(reopen(dir), (err: unknown) => {
      assert.ok(err instanceof UnrecoverableLogError);
      assert.match(err.message, /there is no usable snapshot/);
      assert.match(err.message, /remove its data root and re-join/);
      return true;
    });
  });
});

test('a snapshot file without its WAL marker (crash before the marker) is ignored', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    await storage.save({ entries: entries(1, 20, 1) });
    await storage.saveSnapshot(snapshot(10, 1));
    await storage.close();
    const snaps = await Snapshotter.open(join(dir, 'snap'));
    await snaps.save(snapshot(15, 1));

    const { storage: again, state } = await reopen(dir);
    assert.deepEqual(state.snapshot, snapshot(10, 1));
    assert.deepEqual(state.entries, entries(11, 20, 1));
    await again.close();
  });
});

test('snapshots without a WAL are refused, now and on every later open', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    await storage.save({ entries: entries(1, 5, 1) });
    await storage.saveSnapshot(snapshot(5, 1));
    await storage.close();
    await rm(join(dir, 'wal'), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(reopen(dir), (err: unknown) => err instanceof UnrecoverableLogError && /holds no segments/.test(err.message));
    }
  });
});

test('a snapshot older than the current one is refused', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    await storage.save({ entries: entries(1, 20, 1) });
    await storage.saveSnapshot(snapshot(15, 1));
    await assert.rejects(storage.saveSnapshot(snapshot(10, 1)), SnapshotOutOfDateError);
    await assert.rejects(storage.save({ entries: [], snapshot: snapshot(12, 1) }), SnapshotOutOfDateError);
    // The storage still works after a refused call.
    await storage.save({ entries: entries(21, 22, 1) });
    await storage.close();
    const { storage: again, state } = await reopen(dir);
    assert.deepEqual(state.entries, entries(16, 22, 1));
    await again.close();
  });
});

test('keeps the newest snapshots only, and no temp files', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir, { keepSnapshots: 2 });
    await storage.save({ entries: entries(1, 40, 1) });
    for (const index of [10, 20, 30, 40]) await storage.saveSnapshot(snapshot(index, 1));
    assert.deepEqual((await readdir(join(dir, 'snap'))).sort(), [
      '0000000000000001-000000000000001e.snap',
      '0000000000000001-0000000000000028.snap',
    ]);
    assert.ok((await readdir(join(dir, 'wal'))).every((n) => n.endsWith('.wal')));
    await storage.close();
  });
});

test('a stray newer snapshot file does not push the one in use out of the kept ones', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir, { keepSnapshots: 1, segmentBytes: 1024 });
    await storage.save({ entries: entries(1, 100, 1, 30) });
    await storage.saveSnapshot(snapshot(40, 1));
    // A snapshot file at 90 whose WAL marker was never written (a crash in between).
    await (await Snapshotter.open(join(dir, 'snap'))).save(snapshot(90, 1));
    await storage.saveSnapshot(snapshot(60, 1));
    assert.deepEqual(await readdir(join(dir, 'snap')), ['0000000000000001-000000000000003c.snap']);
    await storage.close();
    const { storage: again, state } = await reopen(dir, { keepSnapshots: 1, segmentBytes: 1024 });
    assert.deepEqual(state.snapshot, snapshot(60, 1));
    assert.deepEqual(state.entries, entries(61, 100, 1, 30));
    await again.close();
  });
});

test('calls after close are refused; writes queued before it complete', async () => {
  await withTempDir(async (dir) => {
    const { storage } = await DiskStorage.open(dir);
    const queued = storage.save({ entries: entries(1, 3, 1) });
    const closing = storage.close();
    await assert.rejects(storage.save({ entries: entries(4, 4, 1) }), /closed/);
    await queued;
    await closing;
    const { storage: again, state } = await reopen(dir);
    assert.deepEqual(state.entries, entries(1, 3, 1));
    await again.close();
  });
});
