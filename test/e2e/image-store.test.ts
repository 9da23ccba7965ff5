// The image store against a real registry (Debian's docker-registry) with the
// real whiteout maker: pushed with shoal's client, pulled, stacked with
// overlayfs exactly as the executor will, and run with chroot. Needs root
// (mknod, trusted.* xattrs, mount, chroot).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isShoalError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { RegistryClient } from '../../shared/registry/client.js';
import { ImageStore } from '../../worker/image/store.js';
import { ShellWhiteoutMaker } from '../../worker/image/whiteouts.js';
import { buildTestImage, type BuiltImage } from '../fixtures/images.js';
import { startRegistry, type RegistryFixture } from '../fixtures/registry.js';

const run = promisify(execFile);
const logger = createLogger({ level: process.env['SHOAL_TEST_LOG_LEVEL'] ?? 'silent' });
const CREDS = { username: 'shoal', password: 's3cret' };

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('test/e2e/image-store.test.ts must run as root: unpacking layers makes overlay whiteouts (mknod) and trusted.* xattrs, and the test mounts overlayfs');
  }
}

describe('image store e2e (root, real registry, overlayfs)', { timeout: 180_000 }, () => {
  let plain: RegistryFixture;
  let secured: RegistryFixture;
  let work: string;
  let client: RegistryClient;
  const mounts: string[] = [];

  before(async () => {
    requireRoot();
    work = await mkdtemp(join(tmpdir(), 'shoal-e2e-images-'));
    [plain, secured] = await Promise.all([startRegistry(), startRegistry({ auth: CREDS })]);
    client = new RegistryClient();
  });

  after(async () => {
    for (const m of mounts.reverse()) await run('umount', [m]).catch(() => undefined);
    await client?.close();
    await Promise.all([plain?.stop(), secured?.stop()]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  async function mountImage(layerDirs: string[], name: string): Promise<string> {
    const merged = join(work, 'mnt', name);
    await mkdir(merged, { recursive: true });
    // overlayfs lists the top layer first.
    const lowerdir = [...layerDirs].reverse().join(':');
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir}`, merged]);
    mounts.push(merged);
    return merged;
  }

  it('pulls the app image and stacks it with overlayfs: whiteout, opaque directory, busybox runs', async () => {
    const img: BuiltImage = await buildTestImage({ registry: plain.host, repository: 'app', tags: ['1'], client });
    const store = await ImageStore.open({ root: join(work, 'store-plain'), logger, whiteouts: new ShellWhiteoutMaker() });
    try {
      const local = await store.ensure(img.ref);
      assert.equal(local.id, img.configDigest);
      assert.deepEqual(local.repoDigests, [`${plain.host}/app@${img.digest}`]);
      assert.equal(local.layerDirs.length, 3);

      const merged = await mountImage(local.layerDirs, 'app');
      assert.equal(existsSync(join(merged, 'app/gone.txt')), false, '/app/gone.txt is whited out');
      assert.deepEqual(await readdir(join(merged, 'app/old')), ['new.txt'], '/app/old is opaque');
      assert.equal(await readFile(join(merged, 'app/hello.txt'), 'utf8'), 'hello from the app layer\n');
      assert.equal((await stat(join(merged, 'app/hello-link.txt'))).ino, (await stat(join(merged, 'app/hello.txt'))).ino);
      const nobody = await stat(join(merged, 'app/nobody.txt'));
      assert.deepEqual([nobody.uid, nobody.gid, nobody.mode & 0o777], [65534, 65534, 0o600]);
      assert.equal((await stat(join(merged, 'tmp'))).mode & 0o7777, 0o1777);
      const { stdout } = await run('chroot', [merged, '/bin/sh', '-c', 'echo ok; cat /app/old/new.txt; id -u nobody']);
      assert.equal(stdout, 'ok\nthe only file left in /app/old\n65534\n');

      // What the whiteout maker produced, as overlayfs needs it.
      const wh = await stat(join(local.layerDirs[2] as string, 'app/gone.txt'));
      assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
      const { stdout: xattr } = await run('/usr/bin/python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())', join(local.layerDirs[2] as string, 'app/old')]);
      assert.equal(xattr.trim(), 'y');
    } finally {
      await store.close();
    }
  });

  it('pulls a Docker schema 2 image through a manifest list for this platform', async () => {
    const img = await buildTestImage({
      registry: plain.host,
      repository: 'multi',
      tags: ['2'],
      variant: 'healthy',
      format: 'docker',
      platforms: [
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
        { os: 'linux', architecture: 'amd64' },
      ],
      client,
    });
    const store = await ImageStore.open({ root: join(work, 'store-multi'), logger, platform: { os: 'linux', architecture: 'amd64' } });
    try {
      const local = await store.ensure(img.pinned);
      assert.equal(local.id, img.configDigest);
      assert.equal(local.manifestDigest, img.manifestDigest);
      assert.deepEqual(local.repoDigests, [`${plain.host}/multi@${img.indexDigest}`]);
      assert.deepEqual(local.config.config?.Healthcheck?.Test, ['CMD-SHELL', 'test -f /tmp/ready']);
      assert.equal((await client.resolve(`${plain.host}/multi:2`)).digest, img.indexDigest);
    } finally {
      await store.close();
    }
  });

  it('pulls from an htpasswd registry with credentials, and refuses without them', async () => {
    const img = await buildTestImage({ registry: secured.host, repository: 'private/app', tags: ['1'], auth: CREDS, client });
    const store = await ImageStore.open({ root: join(work, 'store-auth'), logger });
    try {
      await assert.rejects(store.ensure(img.ref), (err: unknown) => {
        assert.ok(isShoalError(err), String(err));
        assert.equal(err.code, 'pull_access_denied');
        assert.equal(err.message, `pull access denied for ${secured.host}/private/app, repository does not exist or may require 'docker login': unauthorized: authentication required`);
        return true;
      });
      await assert.rejects(store.ensure(img.ref, { auth: { username: CREDS.username, password: 'wrong' } }), (err: unknown) => isShoalError(err) && err.code === 'unauthorized' && /^unauthorized: authentication required/.test(err.message));
      const local = await store.ensure(img.ref, { auth: CREDS });
      assert.equal(local.id, img.configDigest);
      const merged = await mountImage(local.layerDirs, 'auth');
      const { stdout } = await run('chroot', [merged, '/bin/sh', '-c', 'echo ok']);
      assert.equal(stdout, 'ok\n');
    } finally {
      await store.close();
    }
  });

  it('builds the same digests from the same options', async () => {
    const a = await buildTestImage({ registry: plain.host, repository: 'same', tags: ['a'], client });
    const b = await buildTestImage({ registry: plain.host, repository: 'same', tags: ['b'], client });
    assert.equal(a.digest, b.digest);
    assert.deepEqual(a.diffIds, b.diffIds);
  });
});
