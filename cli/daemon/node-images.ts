// The API's view of this node's image store (GET /images/json and friends),
// in Docker's shapes, plus GET /distribution through the registry client.
import type { ImageBackend, ImageDeleteItem, ImageInspect, ImageSummary, PullMessage } from '../../manager/api/image-types.js';
import { ShoalError } from '../../shared/errors.js';
import type { RegistryClient } from '../../shared/registry/client.js';
import type { RegistryAuth } from '../../shared/registry/types.js';
import type { ImageStore } from '../../worker/image/store.js';
import type { LocalImage, PullProgress } from '../../worker/image/types.js';

function createdSeconds(img: LocalImage): number {
  const t = img.config.created === undefined ? Number.NaN : Date.parse(img.config.created);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

export function toImageSummary(img: LocalImage): ImageSummary {
  return {
    Id: img.id,
    ParentId: '',
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Created: createdSeconds(img),
    Size: img.size,
    SharedSize: -1,
    Labels: img.config.config?.Labels ?? {},
    Containers: -1,
  };
}

export function toImageInspect(img: LocalImage): ImageInspect {
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: '',
    Created: img.config.created ?? '',
    Author: '',
    Config: { ...(img.config.config ?? {}) },
    Architecture: img.config.architecture,
    ...(img.config.variant !== undefined ? { Variant: img.config.variant } : {}),
    Os: img.config.os,
    Size: img.size,
    GraphDriver: { Name: 'overlay2', Data: { LowerDir: [...img.layerDirs].reverse().join(':') } },
    RootFS: { Type: 'layers', Layers: img.config.rootfs.diff_ids },
    Metadata: { LastTagTime: new Date(img.pulledAt).toISOString() },
  };
}

/** Docker's progress bar text, e.g. `[=====>      ]  1.2MB/3.4MB`. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`;
  return `[${bar}] ${humanBytes(current)}/${humanBytes(total)}`;
}

function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)}${units[i]}`;
}

export function toPullMessage(p: PullProgress): PullMessage {
  const m: PullMessage = { status: p.status };
  if (p.id !== undefined) {
    m.id = p.id;
    m.progressDetail = p.current !== undefined && p.total !== undefined ? { current: p.current, total: p.total } : {};
    if (p.current !== undefined && p.total !== undefined) m.progress = progressBar(p.current, p.total);
  }
  return m;
}

/**
 * Every daemon answers GET /distribution (clients pin service images with
 * it on a manager); only one that runs containers keeps images.
 */
export class NodeImages implements ImageBackend {
  constructor(
    private readonly images: ImageStore | undefined,
    private readonly client: RegistryClient,
  ) {}

  private get store(): ImageStore {
    if (this.images === undefined) throw new ShoalError('not_implemented', 'this daemon keeps no images: it runs the sim executor (shoal daemon --executor sim)', 501);
    return this.images;
  }

  async listImages(): Promise<ImageSummary[]> {
    return this.store
      .list()
      .map(toImageSummary)
      .sort((a, b) => b.Created - a.Created);
  }

  async inspectImage(name: string): Promise<ImageInspect> {
    return toImageInspect(this.store.inspect(name));
  }

  async pullImage(ref: string, auth: RegistryAuth | undefined, progress: (m: PullMessage) => void, signal: AbortSignal): Promise<void> {
    await this.store.pull(ref, { ...(auth !== undefined ? { auth } : {}), signal, onProgress: (p) => progress(toPullMessage(p)) });
  }

  async removeImage(name: string, force: boolean): Promise<ImageDeleteItem[]> {
    return this.store.remove(name, { force });
  }

  async distributionInspect(ref: string, auth: RegistryAuth | undefined) {
    return this.client.distributionInspect(ref, auth === undefined ? {} : { auth });
  }
}
