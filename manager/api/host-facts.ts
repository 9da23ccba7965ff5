// Facts about the host that GET /info reports and the backend contract does not carry:
// they describe the machine, not the cluster, and dockerd reads them the same way.

import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface HostFacts {
  /** PRETTY_NAME from os-release, e.g. "Debian GNU/Linux 13 (trixie)". */
  operatingSystem: string;
  /** VERSION_ID from os-release, e.g. "13". */
  osVersion: string;
  cgroupVersion: '1' | '2';
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

/** KEY=value lines with optional quotes (os-release(5)). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    let value = match[2] ?? '';
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    out[match[1] ?? ''] = value;
  }
  return out;
}

/** As dockerd does: proxy URLs are shown with their credentials replaced by "xxxxx". */
export function maskProxyCredentials(value: string): string {
  if (value === '') return value;
  try {
    const url = new URL(value);
    if (url.username === '' && url.password === '') return value;
    url.username = 'xxxxx';
    url.password = 'xxxxx';
    return url.toString().replace(/\/$/, value.endsWith('/') ? '/' : '');
  } catch {
    return value;
  }
}

function envProxy(env: NodeJS.ProcessEnv, name: string): string {
  return env[name.toUpperCase()] ?? env[name.toLowerCase()] ?? '';
}

function readOsRelease(): Record<string, string> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return parseOsRelease(readFileSync(path, 'utf8'));
    } catch {
      // Try the next location; an OS without os-release just reports less.
    }
  }
  return {};
}

/** Read once when the server is created: none of these change while the daemon runs. */
export function readHostFacts(env: NodeJS.ProcessEnv = process.env, fallbackOs = 'linux'): HostFacts {
  const release = readOsRelease();
  return {
    operatingSystem: release['PRETTY_NAME'] ?? release['NAME'] ?? fallbackOs,
    osVersion: release['VERSION_ID'] ?? '',
    // The unified hierarchy exposes cgroup.controllers at its root; v1 does not.
    cgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
    httpProxy: maskProxyCredentials(envProxy(env, 'http_proxy')),
    httpsProxy: maskProxyCredentials(envProxy(env, 'https_proxy')),
    noProxy: envProxy(env, 'no_proxy'),
  };
}

/** Open file descriptors of this process (dockerd's NFd); 0 where /proc is unavailable. */
export function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
