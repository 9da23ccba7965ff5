// Facts about this host for GET /info, /version and the node description.
import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import type { Platform, ResourceObject } from '../../shared/model/index.js';

/** Docker reports x86_64/aarch64 the way `uname -m` does. */
export function dockerArch(): string {
  const a = arch();
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a;
}

export function hostPlatform(): Platform {
  return { Architecture: dockerArch(), OS: platform() };
}

export function hostResources(): ResourceObject {
  return { NanoCPUs: cpus().length * 1e9, MemoryBytes: totalmem() };
}

export function hostFacts(): { hostname: string; kernelVersion: string; ncpu: number; memTotal: number } {
  return { hostname: hostname(), kernelVersion: release(), ncpu: cpus().length, memTotal: totalmem() };
}
