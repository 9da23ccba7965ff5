import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors.js';
import { loadOrCreateIdentity, peerIdString } from '../../../shared/p2p/identity.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-identity-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('an identity is created once, owner-only, and the same key comes back on reload', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'nested', 'identity.key');
    const first = await loadOrCreateIdentity(file);
    assert.equal(first.type, 'Ed25519');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const again = await loadOrCreateIdentity(file);
    assert.equal(peerIdString(again), peerIdString(first));
    assert.ok(again.equals(first));
    assert.match(peerIdString(first), /^12D3KooW/);
    // No temporary files are left behind.
    assert.deepEqual(await readdir(join(dir, 'nested')), ['identity.key']);
  });
});

test('concurrent first starts agree on one identity', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'identity.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateIdentity(file)));
    assert.equal(new Set(keys.map(peerIdString)).size, 1);
    assert.equal(peerIdString(await loadOrCreateIdentity(file)), peerIdString(keys[0]!));
  });
});

test('a corrupt identity is refused with advice, not silently replaced', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'identity.key');
    await writeFile(file, 'not a key', { mode: 0o600 });
    await assert.rejects(loadOrCreateIdentity(file), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /corrupt/);
      assert.match(err.message, /new peer id/);
      return true;
    });
  });
});

test('an identity readable by others is refused until its mode is fixed', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'identity.key');
    await loadOrCreateIdentity(file);
    await chmod(file, 0o644);
    await assert.rejects(loadOrCreateIdentity(file), /chmod 600/);
    await chmod(file, 0o600);
    await loadOrCreateIdentity(file);
  });
});
