// Docker's image objects as GET /images/json, GET /images/{name}/json,
// DELETE /images/{name} and POST /images/create answer them (definitions
// ImageSummary, ImageInspect, ImageDeleteResponseItem, CreateImageInfo in
// docker-engine-api-v1.56.yaml). Every daemon serves them for its own node.
import type { RegistryAuth } from '../../shared/registry/types.js';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** One line of POST /images/create's progress stream (JSONMessage). */
export interface PullMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  error?: string;
  errorDetail?: { message: string };
}

export interface DistributionInspectResponse {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Array<{ architecture: string; os: string; variant?: string }>;
}

/** The node's image store as the API needs it. */
export interface ImageBackend {
  listImages(): Promise<ImageSummary[]>;
  inspectImage(name: string): Promise<ImageInspect>;
  /** Pulls `ref`, telling progress as it goes; rejects with a ShoalError when the pull fails. */
  pullImage(ref: string, auth: RegistryAuth | undefined, progress: (m: PullMessage) => void, signal: AbortSignal): Promise<void>;
  removeImage(name: string, force: boolean): Promise<ImageDeleteItem[]>;
  /** What a registry says a reference names, without pulling it (the docker CLI pins service images with it). */
  distributionInspect(ref: string, auth: RegistryAuth | undefined): Promise<DistributionInspectResponse>;
}
