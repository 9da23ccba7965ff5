// The three files Docker writes for each container and bind-mounts over the
// image's: /etc/hostname, /etc/hosts and /etc/resolv.conf.
import type { ContainerSpec } from '../../../shared/model/index.js';

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

/**
 * Docker's default hosts file, the container's own addresses (none until it has
 * a network), then ContainerSpec.Hosts: `IP_address canonical_hostname [aliases...]`
 * as swarm sends them (the older `hostname:IP` is accepted too).
 */
export function hostsFile(hostname: string, extra: readonly string[] | undefined, addresses: readonly string[] = []): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const a of addresses) lines.push(`${a}\t${hostname}`);
  for (const h of extra ?? []) {
    const fields = h.trim().split(/\s+/).filter((f) => f !== '');
    if (fields.length >= 2) {
      lines.push(`${fields[0]}\t${fields.slice(1).join(' ')}`);
    } else if (fields.length === 1 && fields[0]!.includes(':')) {
      const i = fields[0]!.indexOf(':');
      lines.push(`${fields[0]!.slice(i + 1)}\t${fields[0]!.slice(0, i)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Google's public resolvers: what Docker falls back to when the host has only local ones. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

interface ResolvParts {
  nameservers: string[];
  search: string[];
  options: string[];
}

function parseResolvConf(text: string): ResolvParts {
  const out: ResolvParts = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0] !== undefined) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.search = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

function isLocalNameserver(ns: string): boolean {
  return ns.startsWith('127.') || ns === '::1' || ns === '0:0:0:0:0:0:0:1';
}

/**
 * The host's resolv.conf as a container sees it: loopback nameservers are
 * unreachable from the container's network namespace, so they go (and when
 * none is left, Docker's fallback comes in); DNSConfig fields replace the
 * host's when given.
 */
export function resolvConfFile(hostResolvConf: string | undefined, dns: ContainerSpec['DNSConfig']): string {
  const host = parseResolvConf(hostResolvConf ?? '');
  let nameservers = host.nameservers.filter((ns) => !isLocalNameserver(ns));
  if (nameservers.length === 0) nameservers = [...FALLBACK_NAMESERVERS];
  if (dns?.Nameservers !== undefined && dns.Nameservers.length > 0) nameservers = dns.Nameservers;
  const search = dns?.Search !== undefined && dns.Search.length > 0 ? dns.Search : host.search;
  const options = dns?.Options !== undefined && dns.Options.length > 0 ? dns.Options : host.options;
  const lines: string[] = [];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  for (const ns of nameservers) lines.push(`nameserver ${ns}`);
  if (options.length > 0) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
