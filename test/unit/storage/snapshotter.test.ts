import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Snapshotter } from '../../../manager/raft/storage/snapshotter.js';
import type { Snapshot } from '../../../manager/raft/types.js';
import { dataFor, warnings, withTempDir } from './fixtures.js';

function snapshot(index: number, term: number, size = 100): Snapshot {
  return {
    metadata: { index, term, confState: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } },
    data: dataFor(index, term, size),
  };
}

function nameOf(index: number, term: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}

test('a saved snapshot loads back exactly, under a <term>-<index>.snap name', async () => {
  await withTempDir(async (dir) => {
    const snaps = await Snapshotter.open(dir);
    const original = snapshot(1234, 5, 100_000);
    await snaps.save(original);
    assert.deepEqual(await readdir(dir), [nameOf(1234, 5)]);
    const loaded = await snaps.loadNewest();
    assert.deepEqual(loaded, original);
    assert.equal(Object.getPrototypeOf(loaded!.data), Uint8Array.prototype);

    const empty: Snapshot = { metadata: { index: 1, term: 1, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
    await withTempDir(async (dir2) => {
      const s2 = await Snapshotter.open(dir2);
      await s2.save(empty);
      assert.deepEqual(await s2.loadNewest(), empty);
    });
  });
});

test('loadNewest picks the highest index, and only among the available ones', async () => {
  await withTempDir(async (dir) => {
    const snaps = await Snapshotter.open(dir, { keep: 10 });
    for (const [index, term] of [[10, 1], [300, 2], [25, 1], [300, 3]] as const) await snaps.save(snapshot(index, term));
    assert.deepEqual(await snaps.list(), [
      { index: 300, term: 3 },
      { index: 300, term: 2 },
      { index: 25, term: 1 },
      { index: 10, term: 1 },
    ]);
    assert.deepEqual((await snaps.loadNewest())?.metadata.index, 300);
    assert.deepEqual((await snaps.loadNewest())?.metadata.term, 3);
    const picked = await snaps.loadNewest((id) => id.index < 300);
    assert.deepEqual(picked, snapshot(25, 1));
    assert.equal(await snaps.loadNewest(() => false), undefined);
  });
});

test('a snapshot failing its checksum is set aside as .broken and the older one is used', async () => {
  await withTempDir(async (dir) => {
    const snaps = await Snapshotter.open(dir);
    await snaps.save(snapshot(10, 1));
    await snaps.save(snapshot(20, 1));
    const newest = join(dir, nameOf(20, 1));
    const buf = await readFile(newest);
    buf[buf.length - 50]! ^= 0x01;
    await writeFile(newest, buf);

    const log = warnings();
    const reopened = await Snapshotter.open(dir, { onWarning: log.onWarning });
    assert.deepEqual(await reopened.loadNewest(), snapshot(10, 1));
    assert.deepEqual((await readdir(dir)).sort(), [nameOf(10, 1), `${nameOf(20, 1)}.broken`]);
    assert.equal(log.messages.length, 1);
    assert.match(log.messages[0]!, new RegExp(`${nameOf(20, 1)} is unusable \\(checksum mismatch`));
    assert.match(log.messages[0]!, /\.broken/);
    // The broken file is not retried.
    assert.deepEqual(await reopened.loadNewest(), snapshot(10, 1));
    assert.equal(log.messages.length, 1);
  });
});

test('truncated, foreign and misnamed snapshot files are all set aside', async () => {
  await withTempDir(async (dir) => {
    const snaps = await Snapshotter.open(dir, { keep: 10 });
    await snaps.save(snapshot(1, 1));
    await snaps.save(snapshot(2, 1));
    await snaps.save(snapshot(3, 1));
    const good = await readFile(join(dir, nameOf(3, 1)));
    await writeFile(join(dir, nameOf(3, 1)), good.subarray(0, good.length - 1));
    await writeFile(join(dir, nameOf(5, 1)), 'not a snapshot at all, only some text long enough to hold a header');
    // A valid file under another snapshot's name.
    await writeFile(join(dir, nameOf(4, 1)), await readFile(join(dir, nameOf(2, 1))));

    const log = warnings();
    const reopened = await Snapshotter.open(dir, { onWarning: log.onWarning });
    assert.deepEqual(await reopened.loadNewest(), snapshot(2, 1));
    assert.equal(log.messages.length, 3);
    assert.match(log.messages[0]!, /SHOALSNP magic/);
    assert.match(log.messages[1]!, /not the one its name says/);
    assert.match(log.messages[2]!, /checksum mismatch/);
  });
});

test('a write leaves no temp file, and a failed write cleans its temp file up', async () => {
  await withTempDir(async (dir) => {
    const snaps = await Snapshotter.open(dir);
    await snaps.save(snapshot(7, 2, 10_000));
    assert.deepEqual(await readdir(dir), [nameOf(7, 2)]);

    // A directory where the file should go makes the rename fail.
    await mkdir(join(dir, nameOf(8, 2)));
    await assert.rejects(snaps.save(snapshot(8, 2)), new RegExp(`could not write snapshot .*${nameOf(8, 2)}`));
    assert.deepEqual((await readdir(dir)).sort(), [nameOf(7, 2), nameOf(8, 2)]);
  });
});

test('leftovers of an interrupted write are removed on open', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, `${nameOf(9, 1)}.tmp`), 'half');
    const log = warnings();
    const snaps = await Snapshotter.open(dir, { onWarning: log.onWarning });
    assert.deepEqual(await readdir(dir), []);
    assert.equal(log.messages.length, 1);
    assert.equal(await snaps.loadNewest(), undefined);
  });
});

test('purge keeps the newest N snapshots up to the current one and drops newer strays', async () => {
  await withTempDir(async (dir) => {
    const snaps = await Snapshotter.open(dir, { keep: 2 });
    for (const index of [5, 1, 4, 2, 3, 9]) await snaps.save(snapshot(index, 1));
    // 9 was written but its WAL marker never was; 5 is the snapshot in use.
    assert.equal(await snaps.purge({ index: 5, term: 1 }), 4);
    assert.deepEqual((await readdir(dir)).sort(), [nameOf(4, 1), nameOf(5, 1)]);
    assert.equal(await snaps.purge({ index: 5, term: 1 }), 0);
  });
});
