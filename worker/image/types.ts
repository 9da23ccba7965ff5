// What the rest of the worker sees of the image store (worker/image/): the
// OCI executor asks for an image by reference and gets the unpacked layer
// directories to stack with overlayfs, plus the image config.
import type { ImageConfigFile, RegistryAuth } from '../../shared/registry/types.js';

export interface LocalImage {
  /** The config digest (`sha256:...`): Docker's image ID. */
  id: string;
  /** Digest of the manifest pulled for this platform. */
  manifestDigest: string;
  /** e.g. `127.0.0.1:5000/web:1` (familiar names for Docker Hub: `busybox:latest`). */
  repoTags: string[];
  /** e.g. `127.0.0.1:5000/web@sha256:...` (the digest the registry knows it by). */
  repoDigests: string[];
  config: ImageConfigFile;
  /** Unpacked layer directories, lowest layer first (reverse for overlayfs lowerdir). */
  layerDirs: string[];
  /** Sum of the unpacked layers, bytes. */
  size: number;
  /** Unix ms when this node pulled it. */
  pulledAt: number;
}

export interface PullProgress {
  /** Docker's progress statuses: "Pulling fs layer", "Downloading", "Download complete", "Extracting", "Pull complete", "Already exists". */
  status: string;
  /** Short layer id (first 12 hex of the digest) when the status is about one layer. */
  id?: string;
  current?: number;
  total?: number;
}

export interface PullOptions {
  auth?: RegistryAuth;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
}

export interface ImageProvider {
  /**
   * The image a reference names, pulled first if this node lacks it. A reference
   * with a digest is served locally when present; a tag alone is pulled only when
   * missing (Docker's `missing` pull policy for swarm tasks pinned by digest).
   * Errors are ShoalErrors with messages such as
   * `pull access denied for 127.0.0.1:5000/web, repository does not exist or may require 'docker login': denied: ...`
   * or `manifest for 127.0.0.1:5000/web:9 not found: manifest unknown: manifest unknown`
   * (RegistryError codes in shared/registry/errors.ts).
   */
  ensure(ref: string, opts?: PullOptions): Promise<LocalImage>;
}
