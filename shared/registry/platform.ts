// Picking the manifest for this node's platform out of an image index, as
// containerd's platform matcher does for the common cases. Pure.
import type { Descriptor } from './types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const NODE_ARCH_TO_OCI: Record<string, Platform> = {
  x64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  ia32: { os: 'linux', architecture: '386' },
  ppc64: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  loong64: { os: 'linux', architecture: 'loong64' },
};

/** The platform this process runs on, in OCI terms (`process.arch` x64 is amd64). */
export function hostPlatform(arch: string = process.arch): Platform {
  return NODE_ARCH_TO_OCI[arch] ?? { os: 'linux', architecture: arch };
}

/** `linux/amd64`, `linux/arm64/v8`: how Docker prints a platform. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant !== undefined && p.variant !== '' ? `/${p.variant}` : ''}`;
}

/** Parse `os/arch[/variant]` (the --platform syntax). */
export function parsePlatform(s: string): Platform | undefined {
  const parts = s.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) return undefined;
  return { os: parts[0] as string, architecture: parts[1] as string, ...(parts[2] !== undefined ? { variant: parts[2] } : {}) };
}

// arm64 images are published with variant v8 or none at all; they are the same thing.
function normalizedVariant(architecture: string, variant: string | undefined): string {
  if (architecture === 'arm64' && (variant === undefined || variant === '' || variant === 'v8')) return 'v8';
  return variant ?? '';
}

/**
 * The descriptor to pull for `want` out of an index's manifests: same os and
 * architecture; an exact variant match wins, then an entry without a variant
 * (when none was asked for), then the first entry of that architecture.
 * Attestation entries (`unknown/unknown`) never match.
 */
export function selectPlatform(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((d) => d.platform !== undefined && d.platform.os === want.os && d.platform.architecture === want.architecture);
  if (candidates.length === 0) return undefined;
  const wantVariant = normalizedVariant(want.architecture, want.variant);
  const exact = candidates.find((d) => normalizedVariant(want.architecture, d.platform?.variant) === wantVariant);
  if (exact !== undefined) return exact;
  if (want.variant !== undefined && want.variant !== '') return undefined;
  return candidates[0];
}
