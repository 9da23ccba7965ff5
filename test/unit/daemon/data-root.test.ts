import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShoalError } from '../../../shared/errors.js';
import { lockDataRoot } from '../../../cli/daemon/data-root.js';

const MODULE = fileURLToPath(new URL('../../../cli/daemon/data-root.js', import.meta.url));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-data-root-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isLocked(pid?: number): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ShoalError, String(err));
    assert.equal(err.code, 'data_root_locked');
    if (pid !== undefined) assert.ok(err.message.includes(`pid ${pid}`), err.message);
    assert.match(err.message, /--data-root/);
    return true;
  };
}

test('locking creates a private data root and records this pid; release frees it', async () => {
  await withDir(async (parent) => {
    const root = join(parent, 'a', 'b');
    const lock = await lockDataRoot(root);
    assert.equal((await stat(root)).mode & 0o077, 0, 'no access for group or others');
    assert.equal((await readFile(join(root, 'shoal.pid'), 'utf8')).trim(), String(process.pid));
    await lock.release();
    await assert.rejects(stat(join(root, 'shoal.pid')), { code: 'ENOENT' });
    const again = await lockDataRoot(root);
    await again.release();
    await again.release(); // twice is fine
  });
});

test('a held data root cannot be locked twice, even by the same process or through another path', async () => {
  await withDir(async (root) => {
    const lock = await lockDataRoot(root);
    await assert.rejects(lockDataRoot(root), isLocked(process.pid));
    await assert.rejects(lockDataRoot(join(root, '.', '..', root.split('/').pop()!)), isLocked());
    await lock.release();
  });
});

test('another process holds the lock while it lives; SIGKILL releases it without cleanup', async () => {
  await withDir(async (root) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(MODULE)}); await m.lockDataRoot(${JSON.stringify(root)}); console.log('locked'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
      });
      await assert.rejects(lockDataRoot(root), isLocked(child.pid));
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    // The pid file is still there (nobody cleaned up), but the kernel freed the lock.
    assert.equal((await readFile(join(root, 'shoal.pid'), 'utf8')).trim(), String(child.pid));
    const lock = await lockDataRoot(root);
    assert.equal((await readFile(join(root, 'shoal.pid'), 'utf8')).trim(), String(process.pid));
    await lock.release();
  });
});
