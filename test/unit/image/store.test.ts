import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { isShoalError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';
import { RegistryClient } from '../../../shared/registry/client.js';
import { digestHex, shortId } from '../../../shared/registry/digest.js';
import { ImageStore, type ImageStoreOptions } from '../../../worker/image/store.js';
import type { PullProgress } from '../../../worker/image/types.js';
import { buildLayer, type BuiltLayer } from '../../fixtures/images.js';
import { addSimpleImage, FakeRegistry } from '../registry/fake-registry.js';
import { RecordingWhiteoutMaker } from './recording-whiteouts.js';

const base = buildLayer([
  { path: 'bin', type: 'dir' },
  { path: 'bin/tool', content: 'x'.repeat(700_000), mode: 0o755 },
]);
const appV1 = buildLayer([
  { path: 'app', type: 'dir' },
  { path: 'app/v', content: '1' },
  { path: 'app/gone', content: 'bye' },
]);
const appV1Changes = buildLayer([
  { path: 'app', type: 'dir' },
  { path: 'app/.wh.gone' },
]);
const appV2 = buildLayer([
  { path: 'app', type: 'dir' },
  { path: 'app/v', content: '2' },
]);
const asLayers = (ls: BuiltLayer[]) => ls.map((l) => ({ blob: l.blob, diffId: l.diffId, mediaType: l.descriptor.mediaType }));

const logger = createLogger({ level: 'silent' });

describe('image store', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  let root: string;
  let store: ImageStore;
  let whiteouts: RecordingWhiteoutMaker;
  let inUse: Set<string>;
  let now: number;
  let v1: ReturnType<typeof addSimpleImage>;
  let v2: ReturnType<typeof addSimpleImage>;

  const open = (extra: Partial<ImageStoreOptions> = {}): Promise<ImageStore> =>
    ImageStore.open({ root, logger, client, whiteouts, inUse: () => inUse, preserveOwnership: false, now: () => now, ...extra });

  before(async () => {
    reg = await new FakeRegistry().start();
    v1 = addSimpleImage(reg, 'web', '1', asLayers([base, appV1, appV1Changes]));
    v2 = addSimpleImage(reg, 'web', '2', asLayers([base, appV2]), { cmd: ['v2'] });
    client = new RegistryClient({ retryDelayMs: 5 });
  });
  after(async () => {
    await client.close();
    await reg.stop();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-images-'));
    whiteouts = new RecordingWhiteoutMaker();
    inUse = new Set();
    now = 1_000_000;
    reg.requests.length = 0;
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  const ref1 = (): string => `${reg.host}/web:1`;
  const ref2 = (): string => `${reg.host}/web:2`;

  it('pulls an image: layers unpacked in order, whiteouts converted, records as Docker shows them', async () => {
    const progress: PullProgress[] = [];
    const img = await store.ensure(ref1(), { onProgress: (p) => progress.push(p) });
    assert.equal(img.id, v1.configDigest);
    assert.equal(img.manifestDigest, v1.manifestDigest);
    assert.deepEqual(img.repoTags, [`${reg.host}/web:1`]);
    assert.deepEqual(img.repoDigests, [`${reg.host}/web@${v1.manifestDigest}`]);
    assert.deepEqual(img.layerDirs, [base, appV1, appV1Changes].map((l) => join(root, 'layers', digestHex(l.diffId), 'fs')));
    assert.equal(img.size, 700_000 + 1 + 3);
    assert.equal(await readFile(join(img.layerDirs[1] as string, 'app/v'), 'utf8'), '1');
    // Layers are unpacked in a temporary directory, then renamed into place.
    assert.equal(whiteouts.calls.length, 1);
    assert.equal(whiteouts.calls[0]?.kind, 'whiteout');
    assert.match(whiteouts.calls[0]?.path ?? '', /\/tmp\/layer-[a-f0-9]{12}-[a-f0-9]+\/fs\/app\/gone$/);

    const statuses = progress.map((p) => `${p.status}${p.id !== undefined ? ` ${p.id}` : ''}`);
    const baseId = shortId(base.descriptor.digest);
    assert.equal(statuses[0], 'Pulling from web 1');
    for (const s of ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) {
      assert.ok(statuses.includes(`${s} ${baseId}`), `missing "${s} ${baseId}" in ${statuses.join(' | ')}`);
    }
    assert.ok(statuses.indexOf(`Download complete ${baseId}`) < statuses.indexOf(`Pull complete ${baseId}`));
    assert.deepEqual(statuses.slice(-2), [`Digest: ${v1.manifestDigest}`, `Status: Downloaded newer image for ${reg.host}/web:1`]);
    const downloading = progress.filter((p) => p.status === 'Downloading' && p.id === baseId);
    assert.equal(downloading.at(-1)?.current, base.descriptor.size);
    assert.equal(downloading.at(-1)?.total, base.descriptor.size);
  });

  it('serves a present tag or digest without asking the registry; pull() always asks', async () => {
    await store.ensure(ref1());
    reg.requests.length = 0;
    assert.equal((await store.ensure(ref1())).id, v1.configDigest);
    assert.equal((await store.ensure(`${reg.host}/web@${v1.manifestDigest}`)).id, v1.configDigest);
    assert.equal((await store.ensure(`${reg.host}/web:1@${v1.manifestDigest}`)).id, v1.configDigest);
    assert.equal(reg.requests.length, 0);

    const progress: string[] = [];
    await store.pull(ref1(), { onProgress: (p) => progress.push(p.status) });
    assert.equal(reg.count('/v2/web/manifests/', 'GET'), 1);
    assert.equal(reg.count('/v2/web/blobs/'), 0, 'config and layers are local');
    assert.equal(progress.filter((s) => s === 'Already exists').length, 3);
    assert.equal(progress.at(-1), `Status: Image is up to date for ${reg.host}/web:1`);
  });

  it('two concurrent ensure() calls download each blob once', async () => {
    const [a, b] = await Promise.all([store.ensure(ref1()), store.ensure(ref1())]);
    assert.deepEqual(a, b);
    assert.equal(reg.count('/v2/web/manifests/', 'GET'), 1);
    for (const l of [base, appV1, appV1Changes]) assert.equal(reg.count(`/v2/web/blobs/${l.descriptor.digest}`), 1, `blob ${l.descriptor.digest}`);
    assert.equal(reg.count(`/v2/web/blobs/${v1.configDigest}`), 1);
  });

  it('two images sharing a layer, pulled concurrently, download and unpack it once', async () => {
    const progress2: PullProgress[] = [];
    const [a, b] = await Promise.all([store.ensure(ref1()), store.ensure(ref2(), { onProgress: (p) => progress2.push(p) })]);
    assert.equal(a.layerDirs[0], b.layerDirs[0]);
    assert.equal(reg.count(`/v2/web/blobs/${base.descriptor.digest}`), 1);
    assert.equal(store.layerInfos().length, 4);
    // The second pull saw the shared layer complete, whichever started it.
    assert.ok(progress2.some((p) => p.id === shortId(base.descriptor.digest) && p.status === 'Pull complete'));
    const third = await store.pull(ref2());
    assert.equal(third.id, v2.configDigest);
  });

  it('lists, inspects by tag, ID and ID prefix, and says No such image otherwise', async () => {
    await store.ensure(ref1());
    await store.ensure(ref2());
    assert.deepEqual(store.list().map((i) => i.id).sort(), [v1.configDigest, v2.configDigest].sort());
    assert.equal(store.inspect(ref1()).id, v1.configDigest);
    assert.equal(store.inspect(v2.configDigest).id, v2.configDigest);
    assert.equal(store.inspect(digestHex(v2.configDigest).slice(0, 12)).id, v2.configDigest);
    assert.throws(() => store.inspect(`${reg.host}/web:3`), (err: unknown) => isShoalError(err) && err.code === 'not_found' && err.message === `No such image: ${reg.host}/web:3`);
  });

  it('moves a tag to the newly pulled image, leaving the old one dangling', async () => {
    await store.ensure(ref1());
    const m2 = JSON.parse(v2.manifestBytes.toString('utf8')) as unknown;
    reg.putManifest('web', Buffer.from(JSON.stringify(m2)), 'application/vnd.oci.image.manifest.v1+json', '1');
    const newer = await store.pull(ref1());
    assert.equal(newer.id, v2.configDigest);
    assert.deepEqual(store.inspect(v1.configDigest).repoTags, []);
    reg.putManifest('web', v1.manifestBytes, 'application/vnd.oci.image.manifest.v1+json', '1');
  });

  it('removes as docker rmi does: untag, then delete with the layers only it used', async () => {
    await store.ensure(ref1());
    await store.ensure(ref2());
    await store.pull(`${reg.host}/web@${v1.manifestDigest}`); // a digest reference, no new tag
    assert.deepEqual(store.inspect(ref1()).repoDigests, [`${reg.host}/web@${v1.manifestDigest}`]);

    const items = await store.remove(ref1());
    const v1Only = [appV1, appV1Changes].map((l) => l.diffId);
    assert.deepEqual(items, [
      { Untagged: `${reg.host}/web:1` },
      { Untagged: `${reg.host}/web@${v1.manifestDigest}` },
      { Deleted: v1.configDigest },
      ...v1Only.map((d) => ({ Deleted: d })),
    ]);
    for (const d of v1Only) assert.equal(existsSync(join(root, 'layers', digestHex(d))), false);
    // The shared base layer stays for web:2.
    assert.ok(existsSync(store.layerDir(base.diffId)));
    assert.equal(existsSync(join(root, 'blobs', 'sha256', digestHex(v1.configDigest))), false);
    assert.throws(() => store.inspect(v1.configDigest), /No such image/);
  });

  it('refuses to remove an image a container uses unless forced, and never deletes it', async () => {
    const img = await store.ensure(ref1());
    inUse.add(img.id);
    await assert.rejects(store.remove(ref1()), (err: unknown) => isShoalError(err) && err.code === 'conflict' && /unable to remove repository reference ".*web:1" \(must force\)/.test(err.message));
    await assert.rejects(store.remove(img.id), /conflict: unable to delete [a-f0-9]{12} \(must be forced\) - image is being used by a container/);
    const items = await store.remove(img.id, { force: true });
    assert.deepEqual(items, [{ Untagged: `${reg.host}/web:1` }, { Untagged: `${reg.host}/web@${v1.manifestDigest}` }]);
    assert.equal(store.inspect(img.id).repoTags.length, 0);
    assert.ok(existsSync(img.layerDirs[0] as string));
  });

  it('refuses removal by ID of an image tagged in several repositories unless forced', async () => {
    await store.ensure(ref1());
    // The same manifest under another repository name.
    reg.putManifest('other', v1.manifestBytes, 'application/vnd.oci.image.manifest.v1+json', 'x');
    for (const l of [base, appV1, appV1Changes]) reg.blobs.set(l.descriptor.digest, l.blob);
    await store.ensure(`${reg.host}/other:x`);
    assert.equal(store.list().length, 1);
    await assert.rejects(store.remove(v1.configDigest), /\(must be forced\) - image is referenced in multiple repositories/);
    assert.deepEqual(await store.remove(`${reg.host}/other:x`), [{ Untagged: `${reg.host}/other:x` }, { Untagged: `${reg.host}/other@${v1.manifestDigest}` }]);
    const all = await store.remove(v1.configDigest);
    assert.equal(all.filter((i) => i.Deleted !== undefined).length, 4);
  });

  it('prune deletes layers and blobs no image references; removeUnused ages images out', async () => {
    await store.ensure(ref1());
    const strayLayer = `sha256:${'e'.repeat(64)}`;
    await mkdir(join(root, 'layers', digestHex(strayLayer), 'fs'), { recursive: true });
    await writeFile(join(root, 'blobs', 'sha256', 'f'.repeat(64)), 'stray blob');
    const pruned = await store.prune();
    assert.deepEqual(pruned.layersDeleted, [strayLayer]);
    assert.deepEqual(pruned.blobsDeleted, [`sha256:${'f'.repeat(64)}`]);
    assert.equal(pruned.spaceReclaimed, 'stray blob'.length);
    assert.equal(store.list().length, 1);
    assert.deepEqual((await store.prune()).layersDeleted, []);

    now += 10_000;
    await store.ensure(ref2()); // used at now
    now += 5_000;
    inUse.add(v2.configDigest);
    assert.deepEqual(await store.removeUnused(60_000), []);
    assert.deepEqual(await store.removeUnused(8_000), [v1.configDigest]);
    inUse.clear();
    assert.deepEqual(await store.removeUnused(0), [v2.configDigest]);
    assert.deepEqual(await readdir(join(root, 'layers')), []);
  });

  it('keeps its records across restarts and forgets images whose layers vanished', async () => {
    await store.ensure(ref1());
    await store.ensure(ref2());
    const before = store.list();
    await store.close();
    store = await open();
    assert.deepEqual(store.list(), before);
    reg.requests.length = 0;
    await store.ensure(ref1());
    assert.equal(reg.requests.length, 0);

    await store.close();
    await rm(join(root, 'layers', digestHex(appV2.diffId)), { recursive: true });
    store = await open();
    assert.deepEqual(store.list().map((i) => i.id), [v1.configDigest]);
    const json = JSON.parse(await readFile(join(root, 'images.json'), 'utf8')) as { images: unknown[] };
    assert.equal(json.images.length, 1);
  });

  it('fails a pull with the registry error and leaves nothing behind for a bad layer', async () => {
    await assert.rejects(store.ensure(`${reg.host}/web:9`), (err: unknown) => isShoalError(err) && err.code === 'manifest_unknown');
    // A layer whose content is not what the config's diff ID says.
    const liar = buildLayer([{ path: 'x', content: 'x' }]);
    const other = buildLayer([{ path: 'y', content: 'y' }]);
    addSimpleImage(reg, 'bad', '1', [{ blob: liar.blob, diffId: other.diffId, mediaType: liar.descriptor.mediaType }]);
    await assert.rejects(store.ensure(`${reg.host}/bad:1`), (err: unknown) => isShoalError(err) && err.code === 'digest_mismatch');
    assert.deepEqual(await readdir(join(root, 'layers')), []);
    assert.equal(existsSync(join(root, 'blobs', 'sha256', digestHex(liar.descriptor.digest))), false);
    assert.deepEqual(store.list(), []);
  });
});
