// host:port as users write it, and the multiaddrs libp2p dials.
import { InvalidArgumentError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Docker's cluster port when an address gives none. */
export const DEFAULT_SWARM_PORT = 2377;

/** Parse `HOST[:PORT]` (IPv4, `[IPv6]`, or a name). */
export function parseHostPort(s: string, defaultPort = DEFAULT_SWARM_PORT): HostPort {
  const v = s.trim().replace(/^tcp:\/\//, '');
  let host: string;
  let portStr: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(v);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2];
  } else {
    const parts = v.split(':');
    if (parts.length > 2 || parts[0] === '') throw new InvalidArgumentError(`invalid address "${s}": expected HOST or HOST:PORT`);
    host = parts[0]!;
    portStr = parts[1];
  }
  // Digits only: Number() would also take '' (as 0), ' 80', '0x50' and '1e3'.
  const port = portStr === undefined ? defaultPort : /^\d{1,5}$/.test(portStr) ? Number(portStr) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`invalid port in address "${s}"`);
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export function toMultiaddr(hp: HostPort): string {
  if (hp.host.includes(':')) return `/ip6/${hp.host}/tcp/${hp.port}`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(hp.host)) return `/ip4/${hp.host}/tcp/${hp.port}`;
  return `/dns/${hp.host}/tcp/${hp.port}`;
}

export function fromMultiaddr(ma: string): HostPort {
  const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)/.exec(ma);
  if (!m) throw new InvalidArgumentError(`unsupported address ${ma}: expected /ip4|ip6|dns/HOST/tcp/PORT`);
  return { host: m[2]!, port: Number(m[3]) };
}

export function hostOfMultiaddr(ma: string): string {
  return fromMultiaddr(ma).host;
}
