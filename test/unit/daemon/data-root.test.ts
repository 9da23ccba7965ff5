import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '../../../shared/errors.js';
import { lockDataRoot } from '../../../cli/daemon/data-root.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-data-root-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(r.status, 0);
  assert.ok(r.pid > 0);
  return r.pid;
}

test('locking creates a private data root and records this pid; release frees it', async () => {
  await withDir(async (parent) => {
    const root = join(parent, 'a', 'b');
    const lock = await lockDataRoot(root);
    assert.equal((await stat(root)).mode & 0o077, 0, 'no access for group or others');
    assert.equal(await readFile(join(root, 'shoal.pid'), 'utf8'), String(process.pid));
    await lock.release();
    await assert.rejects(stat(join(root, 'shoal.pid')), { code: 'ENOENT' });
    const again = await lockDataRoot(root);
    await again.release();
    await again.release(); // twice is fine
  });
});

test('a live daemon\'s pid file holds the lock, and is left alone', async () => {
  await withDir(async (root) => {
    // The process that started this test is alive and is not us.
    const live = process.ppid;
    await writeFile(join(root, 'shoal.pid'), `${live}\n`);
    await assert.rejects(lockDataRoot(root), (err: unknown) => {
      assert.ok(err instanceof ShoalError, String(err));
      assert.equal(err.code, 'data_root_locked');
      assert.ok(err.message.includes(`pid ${live}`), err.message);
      assert.ok(err.message.includes(root), err.message);
      assert.match(err.message, /--data-root/);
      return true;
    });
    assert.equal(await readFile(join(root, 'shoal.pid'), 'utf8'), `${live}\n`);
  });
});

test('a stale pid file (its daemon is gone) is taken over', async () => {
  await withDir(async (root) => {
    await writeFile(join(root, 'shoal.pid'), String(deadPid()));
    const lock = await lockDataRoot(root);
    assert.equal(await readFile(join(root, 'shoal.pid'), 'utf8'), String(process.pid));
    await lock.release();
  });
});

test('a pid file without a usable pid is stale too', async () => {
  for (const text of ['', 'garbage', '0', '-5', '1.5']) {
    await withDir(async (root) => {
      await writeFile(join(root, 'shoal.pid'), text);
      const lock = await lockDataRoot(root);
      assert.equal(await readFile(join(root, 'shoal.pid'), 'utf8'), String(process.pid), JSON.stringify(text));
      await lock.release();
    });
  }
});
