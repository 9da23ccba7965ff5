// The daemon's ImageBackend: the image store's records in Docker's shapes
// (pure mappings), and NodeImages over a real ImageStore pulling from an
// in-process fake registry (no root: tiny layers without whiteouts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { NodeImages, progressBar, toImageInspect, toImageSummary, toPullMessage } from '../../../cli/daemon/node-images.js';
import type { PullMessage } from '../../../manager/api/image-types.js';
import { isShoalError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';
import { RegistryClient } from '../../../shared/registry/client.js';
import { sha256Digest } from '../../../shared/registry/digest.js';
import { MEDIA_TYPES } from '../../../shared/registry/types.js';
import { ImageStore } from '../../../worker/image/store.js';
import type { LocalImage } from '../../../worker/image/types.js';
import { buildLayer, type BuiltLayer } from '../../fixtures/images.js';
import { FakeRegistry } from '../registry/fake-registry.js';
import { RecordingWhiteoutMaker } from '../image/recording-whiteouts.js';

const ID = `sha256:${'ab'.repeat(32)}`;

function local(over: Partial<LocalImage> = {}): LocalImage {
  return {
    id: ID,
    manifestDigest: `sha256:${'cd'.repeat(32)}`,
    repoTags: ['127.0.0.1:5000/e2e/app:1', '127.0.0.1:5000/e2e/app:latest'],
    repoDigests: [`127.0.0.1:5000/e2e/app@sha256:${'cd'.repeat(32)}`],
    config: {
      created: '2024-01-01T00:00:00Z',
      architecture: 'arm64',
      variant: 'v8',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['A=1'], Labels: { tier: 'web' } },
      rootfs: { type: 'layers', diff_ids: [`sha256:${'01'.repeat(32)}`, `sha256:${'02'.repeat(32)}`] },
    },
    layerDirs: ['/data/image/layers/0101/fs', '/data/image/layers/0202/fs'],
    size: 4_321_000,
    pulledAt: Date.parse('2024-05-01T10:00:00Z'),
    ...over,
  };
}

describe('node image mappings', () => {
  it('toImageSummary: Docker ImageSummary fields, Created in Unix seconds, labels from the config', () => {
    assert.deepEqual(toImageSummary(local()), {
      Id: ID,
      ParentId: '',
      RepoTags: ['127.0.0.1:5000/e2e/app:1', '127.0.0.1:5000/e2e/app:latest'],
      RepoDigests: [`127.0.0.1:5000/e2e/app@sha256:${'cd'.repeat(32)}`],
      Created: 1_704_067_200,
      Size: 4_321_000,
      SharedSize: -1,
      Labels: { tier: 'web' },
      Containers: -1,
    });
  });

  it('toImageSummary: no or unreadable created time is 0, no labels is {}', () => {
    const base = local();
    const { created: _omit, ...withoutCreated } = base.config;
    assert.equal(toImageSummary(local({ config: withoutCreated })).Created, 0);
    assert.equal(toImageSummary(local({ config: { ...base.config, created: 'yesterday' } })).Created, 0);
    assert.deepEqual(toImageSummary(local({ config: { ...base.config, config: {} } })).Labels, {});
  });

  it('toImageInspect: platform, runtime config, layers, and overlay lowerdirs top layer first', () => {
    const got = toImageInspect(local());
    assert.equal(got.Id, ID);
    assert.equal(got.Created, '2024-01-01T00:00:00Z');
    assert.deepEqual([got.Os, got.Architecture, got.Variant], ['linux', 'arm64', 'v8']);
    assert.deepEqual(got.Config, { Cmd: ['sh'], Env: ['A=1'], Labels: { tier: 'web' } });
    assert.deepEqual(got.RootFS, { Type: 'layers', Layers: [`sha256:${'01'.repeat(32)}`, `sha256:${'02'.repeat(32)}`] });
    assert.deepEqual(got.GraphDriver, { Name: 'overlay2', Data: { LowerDir: '/data/image/layers/0202/fs:/data/image/layers/0101/fs' } });
    assert.equal(got.Metadata.LastTagTime, '2024-05-01T10:00:00.000Z');
    assert.equal(got.Size, 4_321_000);
    const { variant: _v, ...noVariant } = local().config;
    assert.equal('Variant' in toImageInspect(local({ config: noVariant })), false, 'no Variant key without a variant');
  });

  it('toImageInspect does not share the store record config object', () => {
    const img = local();
    const got = toImageInspect(img);
    got.Config['Cmd'] = ['changed'];
    assert.deepEqual(img.config.config?.Cmd, ['sh']);
  });

  it('progressBar: docker-style bar with decimal sizes', () => {
    assert.equal(progressBar(0, 2_000_000), `[>${' '.repeat(49)}] 0B/2.0MB`);
    assert.equal(progressBar(1_000_000, 2_000_000), `[${'='.repeat(25)}>${' '.repeat(24)}] 1.0MB/2.0MB`);
    assert.equal(progressBar(2_000_000, 2_000_000), `[${'='.repeat(50)}] 2.0MB/2.0MB`);
    assert.equal(progressBar(999, 1500), `[${'='.repeat(33)}>${' '.repeat(16)}] 999B/1.5kB`);
  });

  it('toPullMessage: layer statuses get progressDetail (bytes only while counting), summaries have no id', () => {
    assert.deepEqual(toPullMessage({ status: 'Pulling fs layer', id: 'aaaaaaaaaaaa' }), { status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} });
    assert.deepEqual(toPullMessage({ status: 'Downloading', id: 'aaaaaaaaaaaa', current: 500, total: 1000 }), {
      status: 'Downloading',
      id: 'aaaaaaaaaaaa',
      progressDetail: { current: 500, total: 1000 },
      progress: progressBar(500, 1000),
    });
    assert.deepEqual(toPullMessage({ status: 'Digest: sha256:abc' }), { status: 'Digest: sha256:abc' });
  });
});

const logger = createLogger({ level: 'silent' });

/** Pushes a one-layer image with a creation time to the fake registry. */
function addImage(reg: FakeRegistry, repo: string, tag: string, layer: BuiltLayer, created: string): { configDigest: string; manifestDigest: string } {
  reg.putBlob(layer.blob);
  const config = Buffer.from(
    JSON.stringify({ created, architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [layer.diffId] } }),
  );
  const configDigest = reg.putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: config.length },
      layers: [layer.descriptor],
    }),
  );
  return { configDigest, manifestDigest: reg.putManifest(repo, manifest, MEDIA_TYPES.ociManifest, tag) };
}

describe('NodeImages over an image store and a fake registry', () => {
  const older = buildLayer([{ path: 'old.txt', content: 'old\n' }]);
  const newer = buildLayer([{ path: 'new.txt', content: 'x'.repeat(3000) }]);
  let reg: FakeRegistry;
  let client: RegistryClient;
  let root: string;
  let store: ImageStore;
  let images: NodeImages;
  let oldImage: { configDigest: string; manifestDigest: string };
  let newImage: { configDigest: string; manifestDigest: string };

  before(async () => {
    reg = await new FakeRegistry({ kind: 'basic', username: 'shoal', password: 's3cret' }).start();
    oldImage = addImage(reg, 'team/old', '1', older, '2020-01-01T00:00:00Z');
    newImage = addImage(reg, 'team/new', '2', newer, '2024-01-01T00:00:00Z');
    client = new RegistryClient({ retryDelayMs: 5 });
  });
  after(async () => {
    await client.close();
    await reg.stop();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-node-images-'));
    store = await ImageStore.open({ root, logger, client, whiteouts: new RecordingWhiteoutMaker(), preserveOwnership: false });
    images = new NodeImages(store, client);
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  const auth = { username: 'shoal', password: 's3cret' };
  const never = new AbortController().signal;

  it('pullImage reports docker-shaped progress and the image then lists, newest first', async () => {
    const progress: PullMessage[] = [];
    await images.pullImage(`${reg.host}/team/old:1`, auth, (m) => progress.push(m), never);
    await images.pullImage(`${reg.host}/team/new:2`, auth, () => undefined, never);
    const layerId = sha256Digest(older.blob).slice('sha256:'.length, 'sha256:'.length + 12);
    assert.deepEqual(progress[0], { status: 'Pulling from team/old', id: '1', progressDetail: {} });
    assert.ok(progress.some((m) => m.id === layerId && m.status === 'Pull complete'), JSON.stringify(progress));
    assert.deepEqual(progress.slice(-2), [{ status: `Digest: ${oldImage.manifestDigest}` }, { status: `Status: Downloaded newer image for ${reg.host}/team/old:1` }]);

    const list = await images.listImages();
    assert.deepEqual(
      list.map((s) => [s.Id, s.RepoTags, s.Created]),
      [
        [newImage.configDigest, [`${reg.host}/team/new:2`], Date.parse('2024-01-01T00:00:00Z') / 1000],
        [oldImage.configDigest, [`${reg.host}/team/old:1`], Date.parse('2020-01-01T00:00:00Z') / 1000],
      ],
    );
    assert.deepEqual(list[1]?.RepoDigests, [`${reg.host}/team/old@${oldImage.manifestDigest}`]);
    assert.equal(list[0]?.Size, 3000, 'the size of the unpacked files');
  });

  it('pullImage without credentials fails with the registry refusal', async () => {
    await assert.rejects(images.pullImage(`${reg.host}/team/old:1`, undefined, () => undefined, never), (err: unknown) => isShoalError(err) && /unauthorized|authentication|denied/i.test(err.message));
    assert.deepEqual(await images.listImages(), []);
  });

  it('inspectImage by reference or ID prefix; an unknown name is a 404', async () => {
    await images.pullImage(`${reg.host}/team/old:1`, auth, () => undefined, never);
    assert.equal((await images.inspectImage(`${reg.host}/team/old:1`)).Id, oldImage.configDigest);
    assert.equal((await images.inspectImage(oldImage.configDigest.slice('sha256:'.length, 'sha256:'.length + 12))).Id, oldImage.configDigest);
    await assert.rejects(images.inspectImage(`${reg.host}/team/nope:1`), (err: unknown) => isShoalError(err) && err.status === 404 && /No such image/.test(err.message));
  });

  it('removeImage untags and deletes the image and its layer', async () => {
    await images.pullImage(`${reg.host}/team/old:1`, auth, () => undefined, never);
    const items = await images.removeImage(`${reg.host}/team/old:1`, false);
    assert.deepEqual(items, [{ Untagged: `${reg.host}/team/old:1` }, { Untagged: `${reg.host}/team/old@${oldImage.manifestDigest}` }, { Deleted: oldImage.configDigest }, { Deleted: older.diffId }]);
    assert.deepEqual(await images.listImages(), []);
    assert.deepEqual(store.layerInfos(), []);
  });

  it('without an image store (sim executor) the image calls are 501 but distributionInspect still works', async () => {
    const noStore = new NodeImages(undefined, client);
    await assert.rejects(noStore.listImages(), (err: unknown) => isShoalError(err) && err.status === 501 && /keeps no images/.test(err.message));
    await assert.rejects(noStore.pullImage(`${reg.host}/team/old:1`, auth, () => undefined, never), (err: unknown) => isShoalError(err) && err.status === 501);
    assert.equal((await noStore.distributionInspect(`${reg.host}/team/new:2`, auth)).Descriptor.digest, newImage.manifestDigest);
  });

  it('distributionInspect asks the registry with the credentials given', async () => {
    const got = await images.distributionInspect(`${reg.host}/team/new:2`, auth);
    assert.deepEqual(got.Descriptor, { mediaType: MEDIA_TYPES.ociManifest, digest: newImage.manifestDigest, size: got.Descriptor.size });
    assert.deepEqual(got.Platforms, [{ architecture: 'amd64', os: 'linux' }]);
    await assert.rejects(images.distributionInspect(`${reg.host}/team/new:2`, undefined), (err: unknown) => isShoalError(err));
  });
});
