// What the WAL does with damaged files: an interrupted write at the tail is
// cut off and replay goes on; anything else is reported, never papered over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Wal, WalCorruptError } from '../../../manager/raft/storage/wal.js';
import type { HardState } from '../../../manager/raft/types.js';
import { entries, entry, LogModel, recordEnds, segmentNames, warnings, withTempDir } from './fixtures.js';

/** Asserts that opening `dir` fails with a WalCorruptError about `file` at `offset`. */
async function assertCorrupt(dir: string, file: string, offset: number, detail: RegExp): Promise<void> {
  await assert.rejects(Wal.open(dir), (err: unknown) => {
    assert.ok(err instanceof WalCorruptError, `expected WalCorruptError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.offset, offset);
    assert.match(err.message, detail);
    assert.match(err.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt at offset ${offset}`));
    assert.match(err.message, /restore this manager from a snapshot or remove its data root and re-join/);
    return true;
  });
}

/** A WAL of several small segments; returns the model of its log. */
async function writeSegmentedWal(dir: string): Promise<LogModel> {
  const { wal } = await Wal.open(dir, { segmentBytes: 1024 });
  const model = new LogModel();
  for (let i = 0; i < 40; i++) {
    const batch = entries(model.lastIndex + 1, model.lastIndex + 3, 1, 60);
    await wal.append({ term: 1, vote: 'a', commit: model.lastIndex }, batch);
    model.append(batch);
  }
  await wal.close();
  return model;
}

function flipBit(buf: Buffer, at: number): void {
  buf[at]! ^= 0x10;
}

test('a write torn at any byte of the last batch replays the complete records before it and cuts the rest off', async () => {
  await withTempDir(async (root) => {
    const source = join(root, 'source');
    const { wal } = await Wal.open(source);
    const model = new LogModel();
    const firstBatch = entries(1, 10, 1, 40);
    const hs1: HardState = { term: 1, vote: 'a', commit: 5 };
    await wal.append(hs1, firstBatch);
    model.append(firstBatch);
    const name = (await segmentNames(source))[0]!;
    const batchStart = (await stat(join(source, name))).size;
    // The last batch overwrites entries 9 and 10 (a new leader's log), adds
    // more of varied sizes, and ends with its hard state.
    const lastBatch = [entry(9, 2, 0), entry(10, 2, 33), entry(11, 2, 7), entry(12, 2, 64), entry(13, 2, 1)];
    const hs2: HardState = { term: 2, vote: 'b', commit: 11 };
    await wal.append(hs2, lastBatch);
    await wal.close();

    const full = await readFile(join(source, name));
    const ends = recordEnds(full, batchStart);
    assert.equal(ends.length, lastBatch.length + 1);
    assert.equal(ends.at(-1), full.length);

    const dir = join(root, 'torn');
    await mkdir(dir);
    const path = join(dir, name);
    for (let cut = batchStart; cut <= full.length; cut++) {
      await writeFile(path, full.subarray(0, cut));
      const complete = ends.filter((end) => end <= cut).length;
      const validEnd = complete === 0 ? batchStart : ends[complete - 1]!;
      const expected = new LogModel();
      expected.append(model.entries);
      expected.append(lastBatch.slice(0, complete));

      const log = warnings();
      const { wal: opened, replay } = await Wal.open(dir, { onWarning: log.onWarning });
      assert.deepEqual(replay.entries, expected.entries, `cut at ${cut}`);
      assert.deepEqual(replay.hardState, complete > lastBatch.length ? hs2 : hs1, `cut at ${cut}`);
      assert.equal((await stat(path)).size, validEnd, `cut at ${cut}: the file is truncated to its last complete record`);
      assert.equal(log.messages.length, cut > validEnd ? 1 : 0, `cut at ${cut}: ${log.messages.join('; ')}`);
      if (cut > validEnd) assert.match(log.messages[0]!, new RegExp(`cut off ${cut - validEnd} bytes after offset ${validEnd}`));

      // Writing goes on where the valid records end.
      const next = entry(expected.lastIndex + 1, 3, 8);
      await opened.append(undefined, [next]);
      await opened.close();
      const { wal: reopened, replay: after } = await Wal.open(dir);
      assert.deepEqual(after.entries, [...expected.entries, next], `cut at ${cut}: append after repair`);
      await reopened.close();
    }
  });
});

test('a zero-filled tail after the last record is cut off', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    await wal.append({ term: 1, vote: 'a', commit: 2 }, entries(1, 5, 1, 100));
    await wal.close();
    const path = join(dir, (await segmentNames(dir))[0]!);
    const good = await readFile(path);
    await writeFile(path, Buffer.concat([good, Buffer.alloc(8192)]));

    const log = warnings();
    const { wal: opened, replay } = await Wal.open(dir, { onWarning: log.onWarning });
    assert.deepEqual(replay.entries, entries(1, 5, 1, 100));
    assert.equal((await stat(path)).size, good.length);
    assert.equal(log.messages.length, 1);
    assert.match(log.messages[0]!, /zero record length/);
    await opened.close();
  });
});

test('a last batch whose later pages never reached the disk (zeros in place of records) is cut off', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    await wal.append(undefined, entries(1, 5, 1, 100));
    const path = join(dir, (await segmentNames(dir))[0]!);
    const batchStart = (await stat(path)).size;
    await wal.append({ term: 1, vote: 'a', commit: 8 }, entries(6, 10, 1, 100));
    await wal.close();
    const buf = await readFile(path);
    const ends = recordEnds(buf, batchStart);
    // Entry 6 made it whole; from the middle of entry 7 on, only zeros.
    buf.fill(0, ends[0]! + 20);
    await writeFile(path, buf);

    const { wal: opened, replay } = await Wal.open(dir);
    assert.deepEqual(replay.entries, entries(1, 6, 1, 100));
    assert.deepEqual(replay.hardState, { term: 0, vote: '', commit: 0 });
    assert.equal((await stat(path)).size, ends[0]);
    await opened.close();
  });
});

test('a damaged final record with nothing after it counts as a torn write', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    await wal.append(undefined, entries(1, 4, 1, 50));
    await wal.close();
    const path = join(dir, (await segmentNames(dir))[0]!);
    const buf = await readFile(path);
    const ends = recordEnds(buf, 0);
    flipBit(buf, buf.length - 3);
    await writeFile(path, buf);
    const { wal: opened, replay } = await Wal.open(dir);
    assert.deepEqual(replay.entries, entries(1, 3, 1, 50));
    assert.equal((await stat(path)).size, ends.at(-2));
    await opened.close();
  });
});

test('a flipped bit in the middle record of an earlier segment is corruption', async () => {
  await withTempDir(async (dir) => {
    await writeSegmentedWal(dir);
    const names = await segmentNames(dir);
    assert.ok(names.length >= 3);
    const path = join(dir, names[1]!);
    const buf = await readFile(path);
    const ends = recordEnds(buf, 0);
    const middle = Math.floor(ends.length / 2);
    const start = ends[middle - 1]!;
    flipBit(buf, start + 8 + 5);
    await writeFile(path, buf);

    await assertCorrupt(dir, path, start, /checksum mismatch.*a later segment exists/);
    assert.equal((await stat(path)).size, buf.length, 'nothing is truncated');
  });
});

test('a flipped bit in the last segment with valid records after it is corruption, and nothing is truncated', async () => {
  await withTempDir(async (dir) => {
    const { wal } = await Wal.open(dir);
    await wal.append(undefined, entries(1, 3, 1, 50));
    await wal.append({ term: 1, vote: 'a', commit: 3 }, entries(4, 8, 1, 50));
    await wal.close();
    const path = join(dir, (await segmentNames(dir))[0]!);
    const pristine = await readFile(path);
    const ends = recordEnds(pristine, 0);
    const start = ends[3]!; // entry 4, followed by the rest of its batch

    const payloadFlip = Buffer.from(pristine);
    flipBit(payloadFlip, start + 30);
    await writeFile(path, payloadFlip);
    await assertCorrupt(dir, path, start, new RegExp(`checksum mismatch.*valid record follows at offset ${ends[4]}`));
    assert.equal((await stat(path)).size, pristine.length);

    // A damaged length field throws the framing off; the valid records after
    // it are still found.
    const lengthFlip = Buffer.from(pristine);
    lengthFlip[start] = lengthFlip[start]! + 1;
    await writeFile(path, lengthFlip);
    await assertCorrupt(dir, path, start, /valid record follows/);
    assert.equal((await stat(path)).size, pristine.length);
  });
});

test('a missing middle segment is corruption', async () => {
  await withTempDir(async (dir) => {
    await writeSegmentedWal(dir);
    const names = await segmentNames(dir);
    assert.ok(names.length >= 4);
    await unlink(join(dir, names[2]!));
    await assertCorrupt(dir, join(dir, names[3]!), 0, /segment 3 is missing/);
  });
});

test('a renamed segment is detected by its header', async () => {
  await withTempDir(async (dir) => {
    await writeSegmentedWal(dir);
    const names = await segmentNames(dir);
    const last = names.at(-1)!;
    const renamed = `${last.slice(0, 17)}${(parseInt(last.slice(17, 33), 16) + 1).toString(16).padStart(16, '0')}.wal`;
    await rename(join(dir, last), join(dir, renamed));
    await assertCorrupt(dir, join(dir, renamed), 0, /renamed or copied from another WAL/);
  });
});

test('a segment that does not continue the previous one is detected', async () => {
  await withTempDir(async (root) => {
    // Two WALs of the same shape but different contents: a segment of one
    // dropped into the other has the right name and header but the wrong place.
    const a = join(root, 'a');
    const b = join(root, 'b');
    await writeSegmentedWal(a);
    const { wal } = await Wal.open(b, { segmentBytes: 1024 });
    for (let i = 1; i <= 200; i++) await wal.append(undefined, [entry(i, 1, 10)]);
    await wal.close();
    const namesA = await segmentNames(a);
    const namesB = await segmentNames(b);
    const seq2 = namesB.find((n) => n.startsWith('0000000000000002-'))!;
    assert.notEqual(seq2, namesA[1]);
    await unlink(join(a, namesA[1]!));
    await writeFile(join(a, seq2), await readFile(join(b, seq2)));
    await assertCorrupt(a, join(a, seq2), 0, /does not belong after the previous segment/);
  });
});

test('a damaged header of the last segment is corruption, not a torn write', async () => {
  await withTempDir(async (dir) => {
    await writeSegmentedWal(dir);
    const names = await segmentNames(dir);
    const path = join(dir, names.at(-1)!);
    const buf = await readFile(path);
    flipBit(buf, 12);
    await writeFile(path, buf);
    await assertCorrupt(dir, path, 0, /segment header is unreadable/);
  });
});

test('a segment whose creation was interrupted is removed on open', async () => {
  await withTempDir(async (dir) => {
    const model = await writeSegmentedWal(dir);
    const names = await segmentNames(dir);
    const next = `${(names.length + 1).toString(16).padStart(16, '0')}-${(model.lastIndex + 1).toString(16).padStart(16, '0')}.wal.tmp`;
    await writeFile(join(dir, next), Buffer.alloc(10));
    const log = warnings();
    const { wal, replay } = await Wal.open(dir, { segmentBytes: 1024, onWarning: log.onWarning });
    assert.deepEqual(replay.entries, model.entries);
    assert.ok(!(await readdir(dir)).includes(next));
    assert.equal(log.messages.length, 1);
    await wal.close();
  });
});
