// Parsing what a registry serves as a manifest: an image index (OCI index or
// Docker manifest list) or an image manifest (OCI or Docker schema 2), and the
// image config a manifest points at. Checked just enough that the code using
// them can trust the shapes. Pure.
import { RegistryError } from './errors.js';
import { MEDIA_TYPES, type Descriptor, type ImageConfigFile, type ImageIndex, type ImageManifest } from './types.js';

/** What we ask registries for, most preferred first. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

export type ManifestDocument = { kind: 'index'; mediaType: string; index: ImageIndex } | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

function unsupported(message: string): RegistryError {
  return new RegistryError('unsupported_manifest', message, 400);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v) || typeof v['digest'] !== 'string' || typeof v['size'] !== 'number' || !Number.isSafeInteger(v['size']) || v['size'] < 0) {
    throw unsupported(`malformed manifest: ${where} is not a descriptor with a digest and a size`);
  }
  if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(v['digest'])) throw unsupported(`malformed manifest: ${where} has an invalid digest "${v['digest']}"`);
  const d: Descriptor = { mediaType: typeof v['mediaType'] === 'string' ? v['mediaType'] : '', digest: v['digest'], size: v['size'] };
  const p = v['platform'];
  if (isRecord(p) && typeof p['os'] === 'string' && typeof p['architecture'] === 'string') {
    d.platform = { os: p['os'], architecture: p['architecture'], ...(typeof p['variant'] === 'string' ? { variant: p['variant'] } : {}) };
  }
  if (isRecord(v['annotations'])) d.annotations = v['annotations'] as Record<string, string>;
  return d;
}

/** `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Classify and check a manifest body. The media type comes from the body when it
 * says, else from the Content-Type, else from the shape (some registries serve
 * everything as application/json).
 */
export function parseManifestDocument(bytes: Uint8Array, contentType: string | undefined, what: string): ManifestDocument {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw unsupported(`the manifest for ${what} is not JSON; the registry may be misconfigured`);
  }
  if (!isRecord(body)) throw unsupported(`the manifest for ${what} is not a JSON object`);
  if (body['schemaVersion'] === 1) {
    throw unsupported(
      `Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${what} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2`,
    );
  }
  if (body['schemaVersion'] !== 2) throw unsupported(`the manifest for ${what} has unsupported schemaVersion ${JSON.stringify(body['schemaVersion'])}`);
  const declared = typeof body['mediaType'] === 'string' ? body['mediaType'] : bareMediaType(contentType);
  const looksLikeIndex = Array.isArray(body['manifests']);
  const isIndex = INDEX_MEDIA_TYPES.includes(declared) || (!MANIFEST_MEDIA_TYPES.includes(declared) && looksLikeIndex);
  if (isIndex) {
    if (!looksLikeIndex) throw unsupported(`malformed image index for ${what}: no "manifests" list`);
    const manifests = (body['manifests'] as unknown[]).map((m, i) => descriptor(m, `manifests[${i}]`));
    return { kind: 'index', mediaType: INDEX_MEDIA_TYPES.includes(declared) ? declared : MEDIA_TYPES.ociIndex, index: { schemaVersion: 2, mediaType: declared, manifests } };
  }
  if (!isRecord(body['config']) || !Array.isArray(body['layers'])) {
    throw unsupported(`the manifest for ${what} has media type "${declared}", which is neither an image manifest nor an index`);
  }
  const config = descriptor(body['config'], 'config');
  const layers = (body['layers'] as unknown[]).map((l, i) => descriptor(l, `layers[${i}]`));
  const mediaType = MANIFEST_MEDIA_TYPES.includes(declared) ? declared : MEDIA_TYPES.ociManifest;
  const manifest: ImageManifest = { schemaVersion: 2, mediaType, config, layers };
  if (isRecord(body['annotations'])) manifest.annotations = body['annotations'] as Record<string, string>;
  return { kind: 'manifest', mediaType, manifest };
}

/** Parse an image config blob; its rootfs must list one diff ID per layer of the manifest. */
export function parseImageConfig(bytes: Uint8Array, layerCount: number, what: string): ImageConfigFile {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw unsupported(`the image config of ${what} is not JSON`);
  }
  if (!isRecord(body)) throw unsupported(`the image config of ${what} is not a JSON object`);
  const rootfs = body['rootfs'];
  if (!isRecord(rootfs) || !Array.isArray(rootfs['diff_ids']) || !rootfs['diff_ids'].every((d) => typeof d === 'string' && /^sha256:[a-f0-9]{64}$/.test(d))) {
    throw unsupported(`the image config of ${what} has no valid rootfs.diff_ids`);
  }
  if (rootfs['diff_ids'].length !== layerCount) {
    throw unsupported(`the image ${what} is inconsistent: its manifest has ${layerCount} layers but its config lists ${rootfs['diff_ids'].length}`);
  }
  if (typeof body['architecture'] !== 'string' || typeof body['os'] !== 'string') throw unsupported(`the image config of ${what} names no os and architecture`);
  return body as unknown as ImageConfigFile;
}

/** Whether a layer descriptor is something this node can unpack. */
export function layerCompression(mediaType: string): 'gzip' | 'none' | 'detect' | undefined {
  if (mediaType === MEDIA_TYPES.ociLayerGzip || mediaType === MEDIA_TYPES.dockerLayerGzip) return 'gzip';
  if (mediaType === MEDIA_TYPES.ociLayerTar) return 'none';
  // Docker's uncompressed and foreign-layer types, or none at all: sniff the bytes.
  if (mediaType === '' || mediaType === 'application/vnd.docker.image.rootfs.diff.tar') return 'detect';
  return undefined;
}
