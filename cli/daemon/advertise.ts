// Which address other nodes should use to reach this one, chosen the way
// `docker swarm init` chooses it.
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError } from '../../shared/errors.js';
import { type HostPort, parseHostPort } from '../../shared/addr.js';

function interfaceAddress(name: string): string | undefined {
  const addrs = networkInterfaces()[name];
  return addrs?.find((a) => a.family === 'IPv4')?.address ?? addrs?.[0]?.address;
}

export function resolveAdvertise(advertise: string | undefined, listen: HostPort): HostPort {
  if (advertise !== undefined && advertise !== '') {
    // An interface name (eth0) stands for its address, as in Docker.
    const [hostPart, portPart] = advertise.split(':');
    const ifAddr = hostPart !== undefined && /^[a-zA-Z][\w.-]*$/.test(hostPart) ? interfaceAddress(hostPart) : undefined;
    // An IPv6-only interface: its address needs brackets before a port can follow.
    const ifHost = ifAddr !== undefined && ifAddr.includes(':') ? `[${ifAddr}]` : ifAddr;
    const spec = ifHost !== undefined ? `${ifHost}${portPart !== undefined ? `:${portPart}` : ''}` : advertise;
    return parseHostPort(spec, listen.port);
  }
  if (listen.host !== '0.0.0.0' && listen.host !== '::') return listen;
  const candidates = Object.entries(networkInterfaces()).flatMap(([name, addrs]) =>
    (addrs ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => ({ name, address: a.address })),
  );
  if (candidates.length === 1) return { host: candidates[0]!.address, port: listen.port };
  if (candidates.length === 0) {
    throw new InvalidArgumentError('could not find an IP address to advertise: this system has no non-loopback IPv4 address; use --advertise-addr');
  }
  const list = candidates.map((c) => `${c.address} on ${c.name}`).join(' and ');
  throw new InvalidArgumentError(
    `could not choose an IP address to advertise since this system has multiple addresses on different interfaces (${list}); use --advertise-addr`,
  );
}
