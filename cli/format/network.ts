// `shoal network` output and flags, as the docker CLI prints and reads them
// (cli/command/network in docker/cli). Pure.
import type { IPAMConfig, Network, NetworkCreateRequest } from '../../shared/model/index.js';
import { keyValues } from './service-spec.js';
import { formatTable } from './tabwriter.js';

export const NETWORK_TABLE_HEADER: readonly string[] = ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'];

/** docker sorts networks by name. */
function byName(networks: readonly Network[]): Network[] {
  return [...networks].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** `docker network ls`: IDs cut to 12 characters unless --no-trunc. */
export function formatNetworkTable(networks: readonly Network[], trunc = true): string {
  return formatTable([NETWORK_TABLE_HEADER, ...byName(networks).map((n) => [trunc ? n.Id.slice(0, 12) : n.Id, n.Name, n.Driver, n.Scope])]);
}

/** `docker network ls -q`. */
export function formatNetworkIds(networks: readonly Network[], trunc = true): string {
  return byName(networks)
    .map((n) => `${trunc ? n.Id.slice(0, 12) : n.Id}\n`)
    .join('');
}

export interface NetworkCreateFlags {
  driver?: string;
  attachable?: boolean;
  internal?: boolean;
  ingress?: boolean;
  subnet?: string[];
  gateway?: string[];
  label?: string[];
  opt?: string[];
}

/** docker's createNetwork request; one --gateway per --subnet, in order. */
export function buildNetworkCreate(name: string, f: NetworkCreateFlags): NetworkCreateRequest {
  const subnets = f.subnet ?? [];
  const gateways = f.gateway ?? [];
  if (gateways.length > subnets.length) throw new Error('every --gateway needs a --subnet (give them in pairs)');
  const config: IPAMConfig[] = subnets.map((s, i) => ({ Subnet: s, ...(gateways[i] ? { Gateway: gateways[i] } : {}) }));
  return {
    Name: name,
    Driver: f.driver ?? 'overlay',
    ...(f.attachable ? { Attachable: true } : {}),
    ...(f.internal ? { Internal: true } : {}),
    ...(f.ingress ? { Ingress: true } : {}),
    IPAM: { Driver: 'default', Config: config, Options: {} },
    Options: keyValues(f.opt ?? []),
    Labels: keyValues(f.label ?? []),
  };
}
