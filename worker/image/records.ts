// The image store's index (images.json): one record per image (config digest),
// with the references that name it. Lookups and the reference bookkeeping of
// `docker rmi` live here as pure functions over the records.
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import { shortId } from '../../shared/registry/digest.js';
import { familiarName, familiarString, parseReference } from '../../shared/registry/reference.js';
import type { ImageConfigFile, ImageReference } from '../../shared/registry/types.js';

export interface ImageRecord {
  /** Config digest: Docker's image ID. */
  id: string;
  manifestDigest: string;
  /** Familiar `name:tag` strings. */
  repoTags: string[];
  /** Familiar `name@digest` strings (the index digest when pulled through one). */
  repoDigests: string[];
  config: ImageConfigFile;
  /** Sum of the unpacked layers. */
  size: number;
  pulledAt: number;
  /** Last pull or ensure() that returned it; what removeUnused() ages by. */
  lastUsedAt: number;
}

export interface ImagesFile {
  version: 1;
  images: ImageRecord[];
}

function isRecordShape(v: unknown): v is ImageRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<ImageRecord>;
  return (
    typeof r.id === 'string' &&
    typeof r.manifestDigest === 'string' &&
    Array.isArray(r.repoTags) &&
    Array.isArray(r.repoDigests) &&
    typeof r.config === 'object' &&
    r.config !== null &&
    Array.isArray(r.config.rootfs?.diff_ids) &&
    typeof r.size === 'number' &&
    typeof r.pulledAt === 'number'
  );
}

/** Records from the file's content; throws with what to do when the file is not ours. */
export function parseImagesFile(content: unknown, path: string): ImageRecord[] {
  if (content === undefined) return [];
  const file = content as Partial<ImagesFile>;
  if (typeof content !== 'object' || content === null || file.version !== 1 || !Array.isArray(file.images)) {
    throw new Error(`${path} is not a shoal image index (version 1); move it away to start with an empty image store`);
  }
  return file.images.filter(isRecordShape).map((r) => ({ ...r, lastUsedAt: typeof r.lastUsedAt === 'number' ? r.lastUsedAt : r.pulledAt }));
}

/** `127.0.0.1:5000/web:1` for a reference with a tag (the digest dropped), else undefined. */
export function tagString(ref: ImageReference): string | undefined {
  return ref.tag === undefined ? undefined : familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag });
}

export function digestString(ref: ImageReference, digest: string): string {
  return `${familiarName(ref)}@${digest}`;
}

/** The image a reference names locally: by `name@digest` when it has a digest, else by `name:tag`. */
export function findByReference(records: Iterable<ImageRecord>, ref: ImageReference): ImageRecord | undefined {
  if (ref.digest !== undefined) {
    const wanted = digestString(ref, ref.digest);
    const name = familiarName(ref);
    for (const r of records) {
      if (r.repoDigests.includes(wanted)) return r;
      // Pulled through an index, an image is known by the index digest; its own manifest digest names it too.
      if (r.manifestDigest === ref.digest && r.repoDigests.some((d) => d.startsWith(`${name}@`))) return r;
    }
    return undefined;
  }
  const tag = tagString(ref);
  for (const r of records) if (tag !== undefined && r.repoTags.includes(tag)) return r;
  return undefined;
}

export type Lookup = { record: ImageRecord; by: 'id' } | { record: ImageRecord; by: 'reference'; ref: ImageReference };

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/**
 * Docker's image lookup for inspect and rmi: a full ID, then a reference, then
 * a unique ID prefix. Throws NotFoundError (`No such image: X`) or, for an
 * ambiguous prefix, a ConflictError.
 */
export function lookup(records: readonly ImageRecord[], refOrId: string): Lookup {
  const full = /^sha256:[a-f0-9]{64}$/.test(refOrId) ? refOrId : /^[a-f0-9]{64}$/.test(refOrId) ? `sha256:${refOrId}` : undefined;
  if (full !== undefined) {
    const r = records.find((x) => x.id === full);
    if (r !== undefined) return { record: r, by: 'id' };
  }
  let ref: ImageReference | undefined;
  try {
    ref = parseReference(refOrId);
  } catch {
    ref = undefined;
  }
  if (ref !== undefined) {
    const r = findByReference(records, ref);
    if (r !== undefined) return { record: r, by: 'reference', ref };
  }
  const m = ID_PREFIX.exec(refOrId);
  if (m !== null) {
    const prefix = `sha256:${m[1]}`;
    const matches = records.filter((x) => x.id.startsWith(prefix));
    if (matches.length === 1) return { record: matches[0] as ImageRecord, by: 'id' };
    if (matches.length > 1) throw new ConflictError(`image ID prefix "${refOrId}" is ambiguous: it matches ${matches.length} images; give more characters`);
  }
  throw new NotFoundError(`No such image: ${refOrId}`);
}

/** Point `tag` and `digest` references at `target`, taking tags away from any other image (which may be left dangling). */
export function assignReferences(records: ImageRecord[], target: ImageRecord, tags: string[], digests: string[]): void {
  for (const r of records) {
    if (r === target) continue;
    r.repoTags = r.repoTags.filter((t) => !tags.includes(t));
  }
  for (const t of tags) if (!target.repoTags.includes(t)) target.repoTags.push(t);
  for (const d of digests) if (!target.repoDigests.includes(d)) target.repoDigests.push(d);
}

function repositoryOf(reference: string): string {
  const at = reference.indexOf('@');
  if (at !== -1) return reference.slice(0, at);
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash ? reference.slice(0, colon) : reference;
}

/** At most one tag, and every reference in one repository: removing by ID may drop them all without --force. */
export function isSingleReference(r: ImageRecord): boolean {
  const repos = new Set([...r.repoTags, ...r.repoDigests].map(repositoryOf));
  return r.repoTags.length <= 1 && repos.size <= 1;
}

export interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export type RemovePlan = { untagged: string[]; deleteImage: boolean };

/**
 * What `docker rmi` does with the references of an image (pure; mutates only
 * `record`'s reference lists). The caller deletes the image when told to.
 */
export function planRemove(found: Lookup, opts: { force: boolean; inUse: boolean }): RemovePlan {
  const r = found.record;
  const short = shortId(r.id);
  if (found.by === 'reference') {
    const ref = found.ref;
    const refs = [...r.repoTags, ...r.repoDigests];
    const given = ref.digest !== undefined ? digestString(ref, ref.digest) : (tagString(ref) as string);
    // The digest the lookup matched may be the manifest digest; untag what the record actually holds.
    const held = refs.includes(given) ? given : r.repoDigests.find((d) => d.startsWith(`${familiarName(ref)}@`)) ?? given;
    if (!opts.force && opts.inUse && isSingleReference(r)) {
      throw new ConflictError(`conflict: unable to remove repository reference "${familiarString(ref)}" (must force) - a container is using its referenced image ${short}`);
    }
    const untagged = [held];
    r.repoTags = r.repoTags.filter((t) => t !== held);
    r.repoDigests = r.repoDigests.filter((d) => d !== held);
    // Removing the last tag of a repository also drops that repository's digest references, as Docker does.
    if (ref.digest === undefined) {
      const repo = familiarName(ref);
      if (!r.repoTags.some((t) => repositoryOf(t) === repo)) {
        for (const d of r.repoDigests.filter((x) => repositoryOf(x) === repo)) untagged.push(d);
        r.repoDigests = r.repoDigests.filter((x) => repositoryOf(x) !== repo);
      }
    }
    const remaining = r.repoTags.length + r.repoDigests.length;
    return { untagged, deleteImage: remaining === 0 && !opts.inUse };
  }
  if (!isSingleReference(r) && !opts.force) {
    throw new ConflictError(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
  }
  if (opts.inUse && !opts.force) {
    throw new ConflictError(`conflict: unable to delete ${short} (must be forced) - image is being used by a container`);
  }
  const untagged = [...r.repoTags, ...r.repoDigests];
  r.repoTags = [];
  r.repoDigests = [];
  // Forced while a container uses it: the references go, the image stays until its containers do.
  return { untagged, deleteImage: !opts.inUse };
}
