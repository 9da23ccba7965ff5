// The nftables rulesets the load balancer and the routing mesh need, as
// `nft -f` scripts. Each script replaces its table atomically (add, delete,
// recreate in one transaction: connections already NATed keep their
// mapping in conntrack) and carries a hash of itself as the table's
// comment, so a reader can tell whether the table is already as wanted.
import { createHash } from 'node:crypto';
import type { OverlayNetworkState } from '../../shared/protocol/network-state.js';
import { addressOf } from './ipv4.js';
import { BRIDGE, HOST_PORT_NS_SIDE, MESH_NS_SIDE } from './naming.js';

export interface NftTable {
  /** `ip <name>`. */
  name: string;
  /** Identifies the content; stored in the table's comment. */
  hash: string;
  /** The whole `nft -f -` input that puts the table in place. */
  script: string;
}

export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  publishedPort: number;
}

/** A host-mode published port and the tasks on this node that take it (their addresses on one network). */
export interface HostModePort extends PublishedPort {
  targetPort: number;
  /** Sorted. */
  backends: string[];
}

/** A veth from the host to one of our namespaces and the published ports the host sends over it. */
export interface HostLink {
  hostIfName: string;
  /** CIDR. */
  hostSide: string;
  /** CIDR. */
  nsSide: string;
  ports: readonly PublishedPort[];
}

/** `numgen random mod N map { 0 : a, 1 : b }`: a random backend per new connection (NAT rules see only the first packet). */
function pickOne(backends: readonly string[]): string {
  if (backends.length === 1) return backends[0]!;
  return `numgen random mod ${backends.length} map { ${backends.map((b, i) => `${i} : ${b}`).join(', ')} }`;
}

function table(name: string, chains: string[]): NftTable {
  const body = chains.join('\n');
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  const script = [`table ip ${name}`, `delete table ip ${name}`, `table ip ${name} {`, `  comment "shoal:${hash}"`, body, '}', ''].join('\n');
  return { name, hash, script };
}

/** `priority` is a number or a standard name (`dstnat` is not accepted on the output hook: use -100). */
function chain(name: string, hook: string, priority: string, rules: string[]): string {
  return [`  chain ${name} {`, `    type nat hook ${hook} priority ${priority}; policy accept;`, ...rules.map((r) => `    ${r}`), '  }'].join('\n');
}

/** Backends sorted so the same set gives the same script whatever order the manager listed them in. */
function backendIps(service: OverlayNetworkState['services'][number]): string[] {
  return service.backends.map((b) => b.ip).sort();
}

/**
 * Inside a network's namespace: traffic to a service VIP goes to one of its
 * backends; on the ingress network, traffic arriving from the host over the
 * mesh veth at a published port goes to a backend's target port. Either way
 * the source becomes the node's address, so replies come back here to be
 * un-NATed, wherever the backend runs.
 */
export function networkTable(tableName: string, network: OverlayNetworkState, hostPorts: readonly HostModePort[] = []): NftTable {
  const pre: string[] = [];
  const services = [...network.services].sort((a, b) => a.id.localeCompare(b.id));
  for (const s of services) {
    const backends = backendIps(s);
    if (s.endpointMode === 'vip' && s.vip !== undefined && backends.length > 0) {
      pre.push(`ip daddr ${s.vip} dnat to ${pickOne(backends)}`);
    }
    if (network.ingress && backends.length > 0) {
      for (const p of s.ports) {
        if (p.publishMode !== 'ingress') continue;
        pre.push(`iifname "${MESH_NS_SIDE}" ${p.protocol} dport ${p.publishedPort} dnat to ${pickOne(backends)}:${p.targetPort}`);
      }
    }
  }
  // Host-mode ports: only this node's tasks, and only what arrives from the host over the network's host-port veth.
  for (const p of hostPorts) {
    if (p.backends.length === 0) continue;
    pre.push(`iifname "${HOST_PORT_NS_SIDE}" ${p.protocol} dport ${p.publishedPort} dnat to ${pickOne(p.backends)}:${p.targetPort}`);
  }
  const post: string[] = [];
  if (network.nodeAddress !== '') post.push(`ct status dnat oifname "${BRIDGE}" snat to ${addressOf(network.nodeAddress)}`);
  return table(tableName, [chain('prerouting', 'prerouting', 'dstnat', pre), chain('postrouting', 'postrouting', 'srcnat', post)]);
}

/** The ingress network's published ports (ingress mode), deduplicated and sorted. */
export function ingressPorts(network: OverlayNetworkState): PublishedPort[] {
  const seen = new Map<string, PublishedPort>();
  for (const s of network.services) {
    for (const p of s.ports) {
      if (p.publishMode === 'ingress') seen.set(`${p.protocol}/${p.publishedPort}`, { protocol: p.protocol, publishedPort: p.publishedPort });
    }
  }
  return [...seen.values()].sort((a, b) => a.publishedPort - b.publishedPort || a.protocol.localeCompare(b.protocol));
}

/**
 * In the host's namespace: a published port on any of the host's own
 * addresses, from outside (prerouting) or from the host itself (output),
 * goes over a veth to one of our namespaces (the ingress one for the
 * routing mesh, a network's for host-mode ports), with the veth's host
 * address as source: the namespace then needs no route back to clients
 * (it replaces the source again with the node's overlay address), and
 * 127.0.0.1 may leave the host (with route_localnet on the veth). The
 * first rule for a port wins: the mesh's come first.
 */
export function hostTable(tableName: string, links: readonly HostLink[]): NftTable {
  const rules: string[] = [];
  const seen = new Set<string>();
  for (const l of links) {
    const to = addressOf(l.nsSide);
    for (const p of l.ports) {
      const key = `${p.protocol}/${p.publishedPort}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(`fib daddr type local ${p.protocol} dport ${p.publishedPort} dnat to ${to}`);
    }
  }
  return table(tableName, [
    chain('prerouting', 'prerouting', 'dstnat', rules),
    chain('output', 'output', '-100', rules),
    chain('postrouting', 'postrouting', 'srcnat', links.map((l) => `oifname "${l.hostIfName}" snat to ${addressOf(l.hostSide)}`)),
  ]);
}
