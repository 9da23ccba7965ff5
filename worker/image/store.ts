// The node's image store (<data-root>/image):
//   blobs/sha256/<hex>     manifests and configs (layer blobs only until unpacked)
//   layers/<diff hex>/fs   one unpacked layer, shared by every image that has it
//   layers/<diff hex>/layer.json   written last: a layer without it does not exist
//   tmp/                   downloads and unpacks in progress; emptied at open
//   images.json            the image records (written atomically)
// Pulls are single-flight per reference and per layer: concurrent pulls of one
// image, or of two images sharing a layer, download and unpack it once.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { RegistryClient, type RegistryClientOptions } from '../../shared/registry/client.js';
import { digestHex, sha256Digest, shortId } from '../../shared/registry/digest.js';
import { RegistryError } from '../../shared/registry/errors.js';
import { layerCompression, parseImageConfig } from '../../shared/registry/manifest.js';
import type { Platform } from '../../shared/registry/platform.js';
import { familiarString, parseReference } from '../../shared/registry/reference.js';
import type { Descriptor, ImageConfigFile, ImageReference } from '../../shared/registry/types.js';
import { StateFile } from '../state-file.js';
import { untilAborted } from '../../shared/abort.js';
import { Semaphore, SingleFlight } from './concurrency.js';
import { assignReferences, digestString, findByReference, lookup, parseImagesFile, planRemove, tagString, type DeleteItem, type ImageRecord } from './records.js';
import type { ImageProvider, LocalImage, PullOptions, PullProgress } from './types.js';
import { unpackLayer } from './unpack.js';
import { ShellWhiteoutMaker, type WhiteoutMaker } from './whiteouts.js';

export interface ImageStoreOptions {
  /** `<data-root>/image`. */
  root: string;
  logger: Logger;
  /** A client to share (the caller closes it); otherwise one is made from `clientOptions`. */
  client?: RegistryClient;
  clientOptions?: RegistryClientOptions;
  whiteouts?: WhiteoutMaker;
  /** IDs of images some container on this node uses: never deleted, only untagged with force. */
  inUse?: () => Set<string>;
  /** Platform to pull for; the client's (this host's) by default. */
  platform?: Platform;
  /** Blob downloads running at once across all pulls (Docker's max-concurrent-downloads is 3). */
  maxConcurrentDownloads?: number;
  /** Layer unpacks running at once (CPU and disk bound). */
  maxConcurrentUnpacks?: number;
  /** Keep compressed layer blobs after unpacking (default: delete them, as Docker's overlay2 store does). */
  keepLayerBlobs?: boolean;
  /** Restore file owners when unpacking; default: when running as root. */
  preserveOwnership?: boolean;
  now?: () => number;
}

export interface LayerInfo {
  diffId: string;
  /** Bytes of file content. */
  size: number;
  /** The compressed blob it came from. */
  blobDigest: string;
}

export interface PruneResult {
  layersDeleted: string[];
  blobsDeleted: string[];
  /** Bytes freed (file content of deleted layers plus deleted blobs). */
  spaceReclaimed: number;
}

type Report = (p: PullProgress) => void;

// Downloads report progress every this many bytes (and at the end), not on every chunk.
const PROGRESS_STEP = 512 * 1024;

export class ImageStore implements ImageProvider {
  private readonly records: ImageRecord[] = [];
  private readonly layers = new Map<string, LayerInfo>();
  private readonly state: StateFile<{ version: 1; images: ImageRecord[] }>;
  private readonly pulls = new SingleFlight<string, LocalImage>();
  private readonly layerFlights = new SingleFlight<string, LayerInfo>();
  private readonly blobFlights = new SingleFlight<string, void>();
  /** Progress listeners of each layer flight: joiners see the same progress as the pull that started it. */
  private readonly layerListeners = new Map<string, Set<Report>>();
  /** Digests and diff IDs an unfinished pull relies on: prune and remove leave them alone. */
  private readonly pinned = new Map<string, number>();
  /** Layer directories being deleted; a pull needing one waits, then unpacks it afresh. */
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly downloads: Semaphore;
  private readonly unpacks: Semaphore;
  private readonly client: RegistryClient;
  private readonly ownsClient: boolean;
  private readonly whiteouts: WhiteoutMaker;
  private readonly inUse: () => Set<string>;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly shutdown = new AbortController();

  private constructor(private readonly opts: ImageStoreOptions) {
    this.logger = opts.logger;
    this.client = opts.client ?? new RegistryClient({ ...opts.clientOptions, logger: opts.logger });
    this.ownsClient = opts.client === undefined;
    this.whiteouts = opts.whiteouts ?? new ShellWhiteoutMaker();
    this.inUse = opts.inUse ?? (() => new Set<string>());
    this.now = opts.now ?? Date.now;
    this.downloads = new Semaphore(opts.maxConcurrentDownloads ?? 4);
    this.unpacks = new Semaphore(opts.maxConcurrentUnpacks ?? 2);
    this.state = new StateFile(join(opts.root, 'images.json'), () => ({ version: 1 as const, images: this.records }));
  }

  static async open(opts: ImageStoreOptions): Promise<ImageStore> {
    const store = new ImageStore(opts);
    await store.load();
    return store;
  }

  get root(): string {
    return this.opts.root;
  }

  /** The directory holding a layer's files (an overlayfs lowerdir). */
  layerDir(diffId: string): string {
    return join(this.opts.root, 'layers', digestHex(diffId), 'fs');
  }

  // --- ImageProvider ----------------------------------------------------------------

  async ensure(refString: string, opts: PullOptions = {}): Promise<LocalImage> {
    const ref = parseReference(refString);
    const local = findByReference(this.records, ref);
    if (local !== undefined && this.hasLayers(local)) {
      local.lastUsedAt = this.now();
      this.save().catch(() => undefined); // logged in save(); a missed last-used time is harmless
      return this.toLocal(local);
    }
    return this.pull(refString, opts);
  }

  /** Ask the registry what the reference names now and fetch whatever is missing (`docker pull`). */
  async pull(refString: string, opts: PullOptions = {}): Promise<LocalImage> {
    const ref = parseReference(refString);
    const key = familiarString(ref);
    const flight = this.pulls.run(key, () => this.doPull(ref, opts));
    // Whoever joins a pull in progress sees its outcome; its own progress starts at the summary.
    if (flight.joined) opts.onProgress?.({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest ?? 'latest' });
    return untilAborted(flight.promise, opts.signal, () => new Error('the pull was cancelled'));
  }

  // --- queries --------------------------------------------------------------------------

  list(): LocalImage[] {
    return this.records.map((r) => this.toLocal(r));
  }

  /** The image a reference, ID or unique ID prefix names; NotFoundError `No such image: X` otherwise. */
  inspect(refOrId: string): LocalImage {
    return this.toLocal(lookup(this.records, refOrId).record);
  }

  /** Layers unpacked on this node (for `docker system df`-like reports and tests). */
  layerInfos(): LayerInfo[] {
    return [...this.layers.values()];
  }

  // --- removal --------------------------------------------------------------------------

  /**
   * `docker rmi`: untag the reference given, or every reference when an ID is
   * given, and delete the image once nothing names it. An image a container
   * uses is never deleted: without force that is a conflict, with force only
   * its references go.
   */
  async remove(refOrId: string, opts: { force?: boolean } = {}): Promise<DeleteItem[]> {
    const found = lookup(this.records, refOrId);
    const inUse = this.inUse().has(found.record.id);
    const plan = planRemove(found, { force: opts.force === true, inUse });
    const items: DeleteItem[] = plan.untagged.map((u) => ({ Untagged: u }));
    if (plan.deleteImage) items.push(...(await this.deleteImage(found.record)));
    await this.save();
    return items;
  }

  /** Delete images no container uses and nothing pulled or ensured for `olderThanMs`; returns their IDs. */
  async removeUnused(olderThanMs: number): Promise<string[]> {
    const used = this.inUse();
    const cutoff = this.now() - olderThanMs;
    const victims = this.records.filter((r) => !used.has(r.id) && r.lastUsedAt <= cutoff);
    for (const r of victims) await this.deleteImage(r);
    if (victims.length > 0) await this.save();
    return victims.map((r) => r.id);
  }

  /** Delete layers, blobs and leftovers no image references (after crashes or failed pulls). */
  async prune(): Promise<PruneResult> {
    const result: PruneResult = { layersDeleted: [], blobsDeleted: [], spaceReclaimed: 0 };
    const wantedLayers = new Set(this.records.flatMap((r) => r.config.rootfs.diff_ids));
    for (const hex of await listDir(join(this.opts.root, 'layers'))) {
      const diffId = `sha256:${hex}`;
      if (wantedLayers.has(diffId) || this.isPinned(diffId) || this.layerFlights.has(diffId)) continue;
      result.spaceReclaimed += this.layers.get(diffId)?.size ?? 0;
      await this.deleteLayer(diffId);
      result.layersDeleted.push(diffId);
    }
    const wantedBlobs = new Set(this.records.flatMap((r) => [r.id, r.manifestDigest]));
    // Kept layer blobs (keepLayerBlobs) stay while their layer does.
    for (const d of wantedLayers) {
      const info = this.layers.get(d);
      if (info !== undefined) wantedBlobs.add(info.blobDigest);
    }
    const blobDir = join(this.opts.root, 'blobs', 'sha256');
    for (const name of await listDir(blobDir)) {
      const digest = `sha256:${name}`;
      if (wantedBlobs.has(digest) || this.isPinned(digest) || this.blobFlights.has(digest)) continue;
      // Partial downloads (`<hex>.part-...`) belong to running pulls, which pin their digest.
      if (name.includes('.part-') && this.isPinned(`sha256:${name.slice(0, name.indexOf('.'))}`)) continue;
      const path = join(blobDir, name);
      result.spaceReclaimed += (await sizeOf(path)) ?? 0;
      await rm(path, { force: true });
      result.blobsDeleted.push(digest);
    }
    return result;
  }

  /** Stop downloads in progress and write the index. */
  async close(): Promise<void> {
    this.shutdown.abort(new ShoalError('shutting_down', 'the image store is closing; pull again after the daemon restarts', 503));
    await this.state.flush();
    if (this.ownsClient) await this.client.close();
  }

  // --- pulling --------------------------------------------------------------------------

  private async doPull(ref: ImageReference, opts: PullOptions): Promise<LocalImage> {
    const report: Report = opts.onProgress ?? (() => undefined);
    const name = familiarString(ref);
    report({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest ?? 'latest' });
    const signal = this.shutdown.signal;
    const requestOpts = { ...(opts.auth !== undefined ? { auth: opts.auth } : {}), signal };
    const got = await this.client.getManifest(ref, { ...requestOpts, ...(this.opts.platform !== undefined ? { platform: this.opts.platform } : {}) });
    const { manifest } = got;
    const id = manifest.config.digest;
    const pins = [id, got.digest, ...manifest.layers.map((l) => l.digest)];
    this.pin(pins);
    let diffIds: string[] = [];
    try {
      const config = await this.configOf(ref, manifest.config, manifest.layers.length, requestOpts);
      diffIds = config.rootfs.diff_ids;
      this.pin(diffIds);
      const before = this.records.find((r) => r.id === id);
      const hadAll = before !== undefined && this.hasLayers(before);
      const layers = await Promise.all(manifest.layers.map((desc, i) => this.ensureLayer(ref, desc, diffIds[i] as string, opts.auth, report)));
      await writeBlob(this.blobPath(got.digest), got.bytes);

      const pinnedDigest = got.indexDigest ?? got.digest;
      const tag = ref.digest === undefined ? tagString(ref) : undefined;
      const now = this.now();
      let record = this.records.find((r) => r.id === id);
      if (record === undefined) {
        record = { id, manifestDigest: got.digest, repoTags: [], repoDigests: [], config, size: 0, pulledAt: now, lastUsedAt: now };
        this.records.push(record);
      }
      record.manifestDigest = got.digest;
      record.config = config;
      record.size = layers.reduce((sum, l) => sum + l.size, 0);
      record.lastUsedAt = now;
      if (!hadAll) record.pulledAt = now;
      assignReferences(this.records, record, tag !== undefined ? [tag] : [], [digestString(ref, pinnedDigest)]);
      await this.save();
      report({ status: `Digest: ${pinnedDigest}` });
      report({ status: `Status: ${hadAll ? 'Image is up to date' : 'Downloaded newer image'} for ${name}` });
      this.logger.info({ image: name, id, digest: pinnedDigest, layers: layers.length, size: record.size }, hadAll ? 'image up to date' : 'image pulled');
      return this.toLocal(record);
    } finally {
      this.unpin([...pins, ...diffIds]);
    }
  }

  /** The image config: from the blob store when present (checked), else downloaded. */
  private async configOf(ref: ImageReference, desc: Descriptor, layerCount: number, requestOpts: { auth?: PullOptions['auth']; signal: AbortSignal }): Promise<ImageConfigFile> {
    const path = this.blobPath(desc.digest);
    let bytes = await readIfExists(path);
    if (bytes === undefined || sha256Digest(bytes) !== desc.digest) {
      await this.fetchBlobOnce(ref, desc, requestOpts.auth, undefined);
      bytes = await readFile(path);
    }
    return parseImageConfig(bytes, layerCount, familiarString(ref));
  }

  private async ensureLayer(ref: ImageReference, desc: Descriptor, diffId: string, auth: PullOptions['auth'], report: Report): Promise<LayerInfo> {
    const id = shortId(desc.digest);
    const pending = this.deleting.get(diffId);
    if (pending !== undefined) await pending;
    const have = this.layers.get(diffId);
    if (have !== undefined) {
      report({ status: 'Already exists', id });
      return have;
    }
    let listeners = this.layerListeners.get(diffId);
    if (listeners === undefined) {
      listeners = new Set();
      this.layerListeners.set(diffId, listeners);
    }
    listeners.add(report);
    const fanOut: Report = (p) => {
      for (const l of this.layerListeners.get(diffId) ?? []) l(p);
    };
    const flight = this.layerFlights.run(diffId, () => this.fetchLayer(ref, desc, diffId, auth, fanOut));
    if (flight.joined) report({ status: 'Waiting', id });
    try {
      return await flight.promise;
    } finally {
      listeners.delete(report);
      if (listeners.size === 0 && this.layerListeners.get(diffId) === listeners) this.layerListeners.delete(diffId);
    }
  }

  private async fetchLayer(ref: ImageReference, desc: Descriptor, diffId: string, auth: PullOptions['auth'], report: Report): Promise<LayerInfo> {
    const id = shortId(desc.digest);
    const compression = layerCompression(desc.mediaType);
    if (compression === undefined) {
      throw new RegistryError('unsupported_manifest', `layer ${desc.digest} of ${familiarString(ref)} has media type "${desc.mediaType}", which this node cannot unpack (gzip or plain tar only)`, 400);
    }
    report({ status: 'Pulling fs layer', id });
    const blob = this.blobPath(desc.digest);
    if ((await sizeOf(blob)) !== desc.size) {
      await this.fetchBlobOnce(ref, desc, auth, (current, total) => report({ status: 'Downloading', id, current, total }));
      report({ status: 'Verifying Checksum', id });
    }
    report({ status: 'Download complete', id });

    return this.unpacks.run(async () => {
      const tmp = join(this.opts.root, 'tmp', `layer-${digestHex(diffId).slice(0, 12)}-${randomBytes(6).toString('hex')}`);
      try {
        let last = -PROGRESS_STEP;
        const unpacked = await unpackLayer({
          file: blob,
          compression,
          dest: join(tmp, 'fs'),
          expectedDiffId: diffId,
          whiteouts: this.whiteouts,
          logger: this.logger,
          label: `${desc.digest} of ${familiarString(ref)}`,
          ...(this.opts.preserveOwnership !== undefined ? { preserveOwnership: this.opts.preserveOwnership } : {}),
          onProgress: (current, total) => {
            if (current - last < PROGRESS_STEP && current !== total) return;
            last = current;
            report({ status: 'Extracting', id, current, total });
          },
        });
        const info: LayerInfo = { diffId, size: unpacked.size, blobDigest: desc.digest };
        await writeFile(join(tmp, 'layer.json'), JSON.stringify(info));
        const final = join(this.opts.root, 'layers', digestHex(diffId));
        await rm(final, { recursive: true, force: true }); // a half-made layer from a crash
        await rename(tmp, final);
        this.layers.set(diffId, info);
        if (this.opts.keepLayerBlobs !== true) await rm(blob, { force: true });
        report({ status: 'Pull complete', id });
        return info;
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        // A blob that does not unpack to its diff ID is not worth keeping either.
        await rm(blob, { force: true });
        throw err;
      }
    });
  }

  private async fetchBlobOnce(ref: ImageReference, desc: Descriptor, auth: PullOptions['auth'], onBytes: ((current: number, total: number) => void) | undefined): Promise<void> {
    const flight = this.blobFlights.run(desc.digest, () =>
      this.downloads.run(
        async () => {
          let last = -PROGRESS_STEP;
          await this.client.fetchBlob(ref, desc, this.blobPath(desc.digest), {
            ...(auth !== undefined ? { auth } : {}),
            signal: this.shutdown.signal,
            onProgress: (current, total) => {
              if (onBytes === undefined || (current - last < PROGRESS_STEP && current !== total)) return;
              last = current;
              onBytes(current, total);
            },
          });
        },
        () => this.logger.debug({ digest: desc.digest }, 'download queued behind others'),
      ),
    );
    await flight.promise;
  }

  // --- deletion -------------------------------------------------------------------------

  /** Drop the record and whatever only it used; returns Docker's `Deleted:` items. */
  private async deleteImage(record: ImageRecord): Promise<DeleteItem[]> {
    const index = this.records.indexOf(record);
    if (index !== -1) this.records.splice(index, 1);
    // Decide synchronously, before any await, so a pull starting meanwhile sees a consistent store.
    const stillUsedLayers = new Set(this.records.flatMap((r) => r.config.rootfs.diff_ids));
    const layers = [...new Set(record.config.rootfs.diff_ids)].filter((d) => !stillUsedLayers.has(d) && !this.isPinned(d));
    const stillUsedBlobs = new Set(this.records.flatMap((r) => [r.id, r.manifestDigest]));
    const blobs = [record.id, record.manifestDigest].filter((d) => !stillUsedBlobs.has(d) && !this.isPinned(d));
    const items: DeleteItem[] = [{ Deleted: record.id }];
    for (const d of layers) {
      await this.deleteLayer(d);
      items.push({ Deleted: d });
    }
    for (const d of blobs) await rm(this.blobPath(d), { force: true });
    this.logger.info({ id: record.id, layers: layers.length }, 'image deleted');
    return items;
  }

  private async deleteLayer(diffId: string): Promise<void> {
    this.layers.delete(diffId);
    const dir = join(this.opts.root, 'layers', digestHex(diffId));
    // Renamed away first so the layer disappears at once, then removed at leisure.
    const doomed = join(this.opts.root, 'tmp', `deleted-${digestHex(diffId).slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    const work = (async () => {
      try {
        await rename(dir, doomed);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      await rm(doomed, { recursive: true, force: true });
    })();
    this.deleting.set(diffId, work.catch(() => undefined));
    try {
      await work;
    } finally {
      this.deleting.delete(diffId);
    }
  }

  // --- bookkeeping ----------------------------------------------------------------------

  private async load(): Promise<void> {
    const root = this.opts.root;
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(root, 'layers'), { recursive: true });
    // Whatever was half done when the daemon stopped is garbage now.
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    for (const hex of await listDir(join(root, 'layers'))) {
      const info = await readLayerInfo(join(root, 'layers', hex, 'layer.json'));
      if (info !== undefined && info.diffId === `sha256:${hex}`) this.layers.set(info.diffId, info);
    }
    const records = parseImagesFile(await this.state.load(), this.state.path);
    for (const r of records) {
      if (this.hasLayers(r)) {
        this.records.push(r);
      } else {
        this.logger.warn({ id: r.id, tags: r.repoTags }, 'image record dropped: some of its layers are missing (it will be pulled again when needed)');
      }
    }
    if (this.records.length !== records.length) await this.save();
  }

  private hasLayers(r: ImageRecord): boolean {
    return r.config.rootfs.diff_ids.every((d) => this.layers.has(d) && !this.deleting.has(d));
  }

  private toLocal(r: ImageRecord): LocalImage {
    return {
      id: r.id,
      manifestDigest: r.manifestDigest,
      repoTags: [...r.repoTags],
      repoDigests: [...r.repoDigests],
      config: r.config,
      layerDirs: r.config.rootfs.diff_ids.map((d) => this.layerDir(d)),
      size: r.size,
      pulledAt: r.pulledAt,
    };
  }

  private blobPath(digest: string): string {
    return join(this.opts.root, 'blobs', 'sha256', digestHex(digest));
  }

  private pin(keys: string[]): void {
    for (const k of keys) this.pinned.set(k, (this.pinned.get(k) ?? 0) + 1);
  }

  private unpin(keys: string[]): void {
    for (const k of keys) {
      const n = (this.pinned.get(k) ?? 0) - 1;
      if (n <= 0) this.pinned.delete(k);
      else this.pinned.set(k, n);
    }
  }

  private isPinned(key: string): boolean {
    return this.pinned.has(key);
  }

  private async save(): Promise<void> {
    try {
      await this.state.save();
    } catch (err) {
      this.logger.error({ err, path: this.state.path }, 'cannot write the image index');
      throw err;
    }
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readLayerInfo(path: string): Promise<LayerInfo | undefined> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) return undefined;
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Partial<LayerInfo>;
    if (typeof v.diffId === 'string' && typeof v.size === 'number' && typeof v.blobDigest === 'string') return { diffId: v.diffId, size: v.size, blobDigest: v.blobDigest };
  } catch {
    // a torn layer.json: treat the layer as absent; prune removes it
  }
  return undefined;
}

/** Write a small blob whole or not at all: temp file, fsync, rename. */
async function writeBlob(path: string, bytes: Buffer): Promise<void> {
  if ((await sizeOf(path)) === bytes.length) return;
  const tmp = `${path}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
