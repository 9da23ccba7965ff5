import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { RegistryClient } from '../../../shared/registry/client.js';
import { sha256Digest } from '../../../shared/registry/digest.js';
import { RegistryError } from '../../../shared/registry/errors.js';
import { MEDIA_TYPES } from '../../../shared/registry/types.js';
import { buildLayer } from '../../fixtures/images.js';
import { addSimpleImage, FakeRegistry } from './fake-registry.js';

const layerA = buildLayer([{ path: 'a.txt', content: 'a\n' }]);
const layerB = buildLayer([{ path: 'b.txt', content: 'b'.repeat(100_000) }]);
const layers = [layerA, layerB].map((l) => ({ blob: l.blob, diffId: l.diffId, mediaType: l.descriptor.mediaType }));

function fastClient(extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  return new RegistryClient({ retryDelayMs: 5, ...extra });
}

async function rejectsWith(p: Promise<unknown>, code: string, message: string | RegExp): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RegistryError, `expected a RegistryError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

describe('registry client: manifests', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  let img: ReturnType<typeof addSimpleImage>;

  before(async () => {
    reg = await new FakeRegistry().start();
    img = addSimpleImage(reg, 'web', '1', layers);
    client = fastClient();
  });
  after(async () => {
    await client.close();
    await reg.stop();
  });
  beforeEach(() => {
    reg.requests.length = 0;
    reg.omitHeadDigest = false;
  });

  it('resolves a tag to its digest with a HEAD request only', async () => {
    const r = await client.resolve(`${reg.host}/web:1`);
    assert.deepEqual(r, { digest: img.manifestDigest, mediaType: MEDIA_TYPES.ociManifest, size: img.manifestBytes.length });
    assert.equal(reg.count('/v2/web/manifests/', 'HEAD'), 1);
    assert.equal(reg.count('/v2/web/manifests/', 'GET'), 0);
  });

  it('falls back to GET when HEAD gives no Docker-Content-Digest', async () => {
    reg.omitHeadDigest = true;
    const r = await client.resolve(`${reg.host}/web:1`);
    assert.equal(r.digest, img.manifestDigest);
    assert.equal(reg.count('/v2/web/manifests/', 'GET'), 1);
  });

  it('fetches an OCI manifest and a Docker schema 2 manifest', async () => {
    const got = await client.getManifest(`${reg.host}/web:1`);
    assert.equal(got.digest, img.manifestDigest);
    assert.equal(got.manifest.layers.length, 2);
    assert.equal(got.indexDigest, undefined);
    const docker = addSimpleImage(reg, 'dock', 'v2', layers, { mediaType: 'docker' });
    const d = await client.getManifest(`${reg.host}/dock:v2`);
    assert.equal(d.mediaType, MEDIA_TYPES.dockerManifest);
    assert.equal(d.digest, docker.manifestDigest);
  });

  it('selects the platform from a manifest list, and says which platforms exist when none matches', async () => {
    const amd = addSimpleImage(reg, 'multi', 'amd-only', layers, { architecture: 'amd64' });
    const arm = addSimpleImage(reg, 'multi', 'arm-only', layers, { architecture: 'arm64' });
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.dockerManifestList,
        manifests: [
          { mediaType: MEDIA_TYPES.ociManifest, digest: arm.manifestDigest, size: arm.manifestBytes.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { mediaType: MEDIA_TYPES.ociManifest, digest: amd.manifestDigest, size: amd.manifestBytes.length, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const listDigest = reg.putManifest('multi', list, MEDIA_TYPES.dockerManifestList, 'both');
    const x = await client.getManifest(`${reg.host}/multi:both`, { platform: { os: 'linux', architecture: 'amd64' } });
    assert.equal(x.digest, amd.manifestDigest);
    assert.equal(x.indexDigest, listDigest);
    const y = await client.getManifest(`${reg.host}/multi:both`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(y.digest, arm.manifestDigest);
    assert.deepEqual(y.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    await rejectsWith(
      client.getManifest(`${reg.host}/multi:both`, { platform: { os: 'linux', architecture: 's390x' } }),
      'no_matching_manifest',
      `no matching manifest for linux/s390x in the manifest list entries (${reg.host}/multi:both is published for linux/arm64/v8, linux/amd64)`,
    );
    // resolve() pins the list itself, and can check a platform is in it.
    assert.equal((await client.resolve(`${reg.host}/multi:both`)).digest, listDigest);
    await rejectsWith(client.resolve(`${reg.host}/multi:both`, { platform: { os: 'linux', architecture: 'ppc64le' } }), 'no_matching_manifest', /linux\/ppc64le/);
    const inspect = await client.distributionInspect(`${reg.host}/multi:both`);
    assert.equal(inspect.Descriptor.digest, listDigest);
    assert.deepEqual(inspect.Platforms.map((p) => p.architecture), ['arm64', 'amd64']);
  });

  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const pinned = `${reg.host}/web@${img.manifestDigest}`;
    reg.corrupt.add(img.manifestDigest);
    try {
      await rejectsWith(client.getManifest(pinned), 'digest_mismatch', new RegExp(`^manifest verification failed for digest ${img.manifestDigest}`));
      // By tag, the registry's own Docker-Content-Digest is checked.
      await rejectsWith(client.getManifest(`${reg.host}/web:1`), 'digest_mismatch', /manifest verification failed/);
    } finally {
      reg.corrupt.delete(img.manifestDigest);
    }
    assert.equal((await client.getManifest(pinned)).digest, img.manifestDigest);
  });

  it("words a missing tag as Docker: manifest for X not found: manifest unknown: manifest unknown", async () => {
    await rejectsWith(client.getManifest(`${reg.host}/web:9`), 'manifest_unknown', `manifest for ${reg.host}/web:9 not found: manifest unknown: manifest unknown`);
    await rejectsWith(client.resolve(`${reg.host}/web:9`), 'manifest_unknown', `manifest for ${reg.host}/web:9 not found: manifest unknown: manifest unknown`);
  });

  it("words denied access as Docker: pull access denied for X, repository does not exist or may require 'docker login'", async () => {
    reg.denied.add('secret');
    await rejectsWith(
      client.getManifest(`${reg.host}/secret:1`),
      'pull_access_denied',
      `pull access denied for ${reg.host}/secret, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
    );
  });

  it('retries a manifest read after a 500', async () => {
    reg.failNext('/v2/web/manifests/', 1);
    const got = await client.getManifest(`${reg.host}/web:1`);
    assert.equal(got.digest, img.manifestDigest);
    assert.equal(reg.count('/v2/web/manifests/', 'GET'), 2);
  });
});

describe('registry client: blobs', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  let dir: string;

  before(async () => {
    reg = await new FakeRegistry().start();
    addSimpleImage(reg, 'web', '1', layers);
    client = fastClient();
    dir = await mkdtemp(join(tmpdir(), 'shoal-blob-'));
  });
  after(async () => {
    await client.close();
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    reg.requests.length = 0;
  });

  it('downloads a blob, verifies it and reports progress', async () => {
    const dest = join(dir, 'b1');
    const seen: number[] = [];
    await client.fetchBlob(`${reg.host}/web`, layerB.descriptor, dest, { onProgress: (c, t) => (assert.equal(t, layerB.descriptor.size), seen.push(c)) });
    assert.deepEqual(await readFile(dest), layerB.blob);
    assert.equal(seen.at(-1), layerB.descriptor.size);
  });

  it('retries after a 500 and then succeeds', async () => {
    const dest = join(dir, 'b2');
    reg.failNext(`/v2/web/blobs/${layerA.descriptor.digest}`, 2);
    await client.fetchBlob(`${reg.host}/web`, layerA.descriptor, dest);
    assert.deepEqual(await readFile(dest), layerA.blob);
    assert.equal(reg.count(`/v2/web/blobs/${layerA.descriptor.digest}`), 3);
  });

  it('gives up after three attempts', async () => {
    reg.failNext(`/v2/web/blobs/${layerA.descriptor.digest}`, 5);
    await rejectsWith(client.fetchBlob(`${reg.host}/web`, layerA.descriptor, join(dir, 'b3')), 'registry_error', /500 Internal Server Error|unknown error/);
    assert.equal(reg.count(`/v2/web/blobs/${layerA.descriptor.digest}`), 3);
    reg.failures.clear();
  });

  it('never keeps a blob that fails verification, nor its temp file', async () => {
    const sub = await mkdtemp(join(dir, 'bad-'));
    const dest = join(sub, 'blob');
    reg.corrupt.add(layerB.descriptor.digest);
    try {
      await rejectsWith(client.fetchBlob(`${reg.host}/web`, layerB.descriptor, dest), 'digest_mismatch', new RegExp(`^filesystem layer verification failed for digest ${layerB.descriptor.digest}`));
    } finally {
      reg.corrupt.delete(layerB.descriptor.digest);
    }
    assert.equal(existsSync(dest), false);
    assert.deepEqual(await readdir(sub), []);
    // A descriptor claiming fewer bytes than the registry sends is refused too.
    await rejectsWith(client.fetchBlob(`${reg.host}/web`, { ...layerB.descriptor, size: 10 }, dest), 'digest_mismatch', /more than the 10 bytes/);
    assert.deepEqual(await readdir(sub), []);
  });

  it('pushes blobs (skipping ones the registry has) and manifests', async () => {
    const bytes = Buffer.from('pushed content');
    const digest = sha256Digest(bytes);
    assert.deepEqual(await client.pushBlob(`${reg.host}/up`, digest, bytes), { existed: false, size: bytes.length });
    assert.deepEqual(reg.blobs.get(digest), bytes);
    assert.deepEqual(await client.pushBlob(`${reg.host}/up`, digest, bytes), { existed: true, size: bytes.length });
    assert.equal(reg.count('/v2/up/blobs/uploads/', 'POST'), 1);
    const file = join(dir, 'from-file');
    await client.fetchBlob(`${reg.host}/web`, layerA.descriptor, file);
    await client.pushBlob(`${reg.host}/up`, layerA.descriptor.digest, file);
    assert.deepEqual(reg.blobs.get(layerA.descriptor.digest), layerA.blob);
    const manifest = Buffer.from('{"schemaVersion":2,"config":{"digest":"sha256:00","size":1},"layers":[]}');
    assert.equal(await client.pushManifest(`${reg.host}/up`, 't', manifest, MEDIA_TYPES.ociManifest), sha256Digest(manifest));
    assert.deepEqual(reg.manifests.get('up:t')?.bytes, manifest);
  });

  it('stops when the caller aborts, with the abort reason', async () => {
    const ac = new AbortController();
    const reason = new Error('task removed');
    ac.abort(reason);
    await assert.rejects(client.fetchBlob(`${reg.host}/web`, layerB.descriptor, join(dir, 'aborted'), { signal: ac.signal }), (err: unknown) => err === reason);
    assert.equal(existsSync(join(dir, 'aborted')), false);
  });

  it('names the registry when nothing listens there', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = fastClient({ attempts: 1 });
    try {
      await rejectsWith(c.resolve(`127.0.0.1:${port}/web:1`), 'registry_unreachable', new RegExp(`^Head "http://127\\.0\\.0\\.1:${port}/v2/web/manifests/1": dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused`));
    } finally {
      await c.close();
    }
  });
});

describe('registry client: authentication', () => {
  it('basic auth: credentials are sent after the challenge; none means pull access denied; wrong ones are unauthorized', async () => {
    const reg = await new FakeRegistry({ kind: 'basic', username: 'u', password: 'p' }).start();
    const client = fastClient();
    try {
      const img = addSimpleImage(reg, 'web', '1', layers);
      assert.equal((await client.resolve(`${reg.host}/web:1`, { auth: { username: 'u', password: 'p' } })).digest, img.manifestDigest);
      // The challenge is remembered: the next request authenticates up front.
      reg.requests.length = 0;
      await client.getManifest(`${reg.host}/web:1`, { auth: { username: 'u', password: 'p' } });
      assert.equal(reg.requests.length, 1);
      assert.match(reg.requests[0]?.authorization ?? '', /^Basic /);

      await rejectsWith(
        client.getManifest(`${reg.host}/web:1`),
        'pull_access_denied',
        `pull access denied for ${reg.host}/web, repository does not exist or may require 'docker login': unauthorized: authentication required`,
      );
      await rejectsWith(client.getManifest(`${reg.host}/web:1`, { auth: { username: 'u', password: 'wrong' } }), 'unauthorized', /^unauthorized: authentication required \(the registry .* refused the credentials/);
    } finally {
      await client.close();
      await reg.stop();
    }
  });

  it('bearer auth: fetches a scoped token with basic credentials and caches it until it expires', async () => {
    const reg = await new FakeRegistry({ kind: 'bearer', username: 'u', password: 'p', expiresIn: 120 }).start();
    let now = 1_000_000;
    const client = fastClient({ now: () => now });
    try {
      const img = addSimpleImage(reg, 'web', '1', layers);
      const auth = { username: 'u', password: 'p' };
      const got = await client.getManifest(`${reg.host}/web:1`, { auth });
      assert.equal(got.digest, img.manifestDigest);
      await client.fetchBlobBytes(`${reg.host}/web`, got.manifest.config, { auth });
      await client.resolve(`${reg.host}/web:1`, { auth });
      assert.equal(reg.tokenRequests.length, 1, 'one token for one scope');
      const tr = reg.tokenRequests[0];
      assert.equal(tr?.query.get('service'), 'fake-registry');
      assert.deepEqual(tr?.query.getAll('scope'), ['repository:web:pull']);
      assert.equal(tr?.query.get('account'), 'u');
      assert.equal(tr?.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
      now += 200_000; // past the token's 120 s
      await client.resolve(`${reg.host}/web:1`, { auth });
      assert.equal(reg.tokenRequests.length, 2);
      // Another user's credentials never reuse that token.
      await rejectsWith(client.resolve(`${reg.host}/web:1`, { auth: { username: 'u', password: 'nope' } }), 'unauthorized', /^unauthorized: incorrect username or password/);
      await rejectsWith(client.resolve(`${reg.host}/web:1`), 'pull_access_denied', /^pull access denied for .*\/web, repository does not exist or may require 'docker login'/);
    } finally {
      await client.close();
      await reg.stop();
    }
  });

  it('bearer auth: anonymous tokens, a registry token used as is, an identity token as a refresh token', async () => {
    const reg = await new FakeRegistry({ kind: 'bearer', anonymous: true, refreshToken: 'refresh-me' }).start();
    const client = fastClient();
    try {
      const img = addSimpleImage(reg, 'web', '1', layers);
      assert.equal((await client.resolve(`${reg.host}/web:1`)).digest, img.manifestDigest);
      assert.equal(reg.tokenRequests[0]?.authorization, undefined);

      reg.tokenRequests.length = 0;
      const c2 = fastClient();
      try {
        assert.equal((await c2.resolve(`${reg.host}/web:1`, { auth: { identitytoken: 'refresh-me' } })).digest, img.manifestDigest);
        assert.equal(reg.tokenRequests[0]?.method, 'POST');
        assert.equal(reg.tokenRequests[0]?.form?.get('grant_type'), 'refresh_token');
        assert.equal(reg.tokenRequests[0]?.form?.get('scope'), 'repository:web:pull');
      } finally {
        await c2.close();
      }

      // A registrytoken is a bearer token used as is: no token request at all; a bad one is refused.
      reg.tokenRequests.length = 0;
      await rejectsWith(client.resolve(`${reg.host}/web:1`, { auth: { registrytoken: 'not-a-token' } }), 'unauthorized', /authentication required/);
      assert.equal(reg.tokenRequests.length, 0);
      const c3 = fastClient();
      try {
        await c3.resolve(`${reg.host}/web:1`);
        const issued = reg.requests.at(-1)?.authorization?.slice('Bearer '.length) ?? '';
        reg.requests.length = 0;
        reg.tokenRequests.length = 0;
        await client.resolve(`${reg.host}/web:1`, { auth: { registrytoken: issued } });
        assert.equal(reg.tokenRequests.length, 0);
        assert.equal(reg.requests[0]?.authorization, `Bearer ${issued}`);
      } finally {
        await c3.close();
      }
    } finally {
      await client.close();
      await reg.stop();
    }
  });
});
