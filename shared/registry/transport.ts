// Which scheme a registry is spoken to with. HTTPS unless the registry is on
// loopback or the operator listed it as insecure (Docker's
// --insecure-registry: `host[:port]` names or CIDR ranges); Docker Hub's API
// lives on a different host than its name.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import { DOCKER_HUB_DOMAIN } from './reference.js';

const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

/** `host`, `host:port`, `[v6]:port` → hostname without brackets, and port. */
export function splitHostPort(hostport: string): { hostname: string; port?: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostport);
  if (bracket !== null) return { hostname: bracket[1] as string, ...(bracket[2] !== undefined ? { port: Number(bracket[2]) } : {}) };
  const m = /^([^:]+)(?::(\d+))?$/.exec(hostport);
  if (m === null) return { hostname: hostport };
  return { hostname: m[1] as string, ...(m[2] !== undefined ? { port: Number(m[2]) } : {}) };
}

export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** The host the distribution API of `domain` answers on. */
export function apiHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

/** Docker's insecure-registries list: exact `host[:port]` names and CIDR ranges. */
export class InsecureRegistries {
  private readonly names = new Set<string>();
  private readonly ranges = new BlockList();
  private hasRanges = false;

  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const entry = raw.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
      if (entry === '') continue;
      const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
      if (cidr !== null) {
        const family = isIP(cidr[1] as string);
        const bits = Number(cidr[2]);
        if (family === 0 || bits > (family === 4 ? 32 : 128)) {
          throw new InvalidArgumentError(`insecure registry "${raw}" is not a valid host[:port] or CIDR range (e.g. 10.0.0.0/8)`);
        }
        this.ranges.addSubnet(cidr[1] as string, bits, family === 4 ? 'ipv4' : 'ipv6');
        this.hasRanges = true;
      } else {
        this.names.add(entry.toLowerCase());
      }
    }
  }

  /** Whether `domain` (host[:port]) is to be spoken to over plain HTTP. */
  async isInsecure(domain: string): Promise<boolean> {
    const { hostname } = splitHostPort(domain);
    if (isLoopbackHostname(hostname)) return true;
    if (this.names.has(domain.toLowerCase())) return true;
    if (!this.hasRanges) return false;
    if (isIP(hostname) !== 0) return this.inRanges(hostname);
    // Like Docker, a name is insecure when any address it resolves to is in a listed range.
    try {
      const addrs = await lookup(hostname, { all: true });
      return addrs.some((a) => this.inRanges(a.address));
    } catch {
      return false;
    }
  }

  private inRanges(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `http://127.0.0.1:5000` or `https://registry-1.docker.io`: where `/v2/...` paths go. */
export async function registryBaseUrl(domain: string, insecure: InsecureRegistries): Promise<string> {
  const scheme = (await insecure.isInsecure(domain)) ? 'http' : 'https';
  return `${scheme}://${apiHost(domain)}`;
}
