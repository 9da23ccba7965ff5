// Names of everything the data plane makes. /run/netns is global to the
// machine and several daemons (tests, benches) may share one, so every
// namespace, host-side device and host nftables table carries a prefix
// derived from the node's data root. Devices inside a network's own
// namespace need no prefix: the namespace is already unique. Interface
// names stay within the kernel's 15 characters.
import { createHash } from 'node:crypto';

/** Inside every network namespace. */
export const BRIDGE = 'br0';
export const VXLAN = 'vxlan0';
/** The ingress namespace's end of the routing-mesh veth. */
export const MESH_NS_SIDE = 'gw0';
/** A network namespace's end of its host-mode port veth. */
export const HOST_PORT_NS_SIDE = 'hp0';
/** The nftables table (family ip) inside each network namespace. */
export const NS_TABLE = 'shoal';
/** Network-side veth names start with this; anything else with it in a network namespace is ours too. */
export const VETH_PREFIX = 've';

const MAX_IFNAME = 15;

function hex(text: string, n: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, n);
}

/** A readable short form of an ID when it is plain alphanumerics, else a hash of it. */
function shortId(id: string, n: number): string {
  return /^[A-Za-z0-9]+$/.test(id) && id.length >= n ? id.slice(0, n).toLowerCase() : hex(id, n);
}

export interface NodeNames {
  /** Six hex digits from the data root's real path. */
  readonly prefix: string;
  /** Every namespace of this node starts with this. */
  readonly nsPrefix: string;
  networkNs(networkId: string): string;
  containerNs(containerId: string): string;
  /** The network-side end of a container's veth (inside the network namespace). */
  vethName(containerId: string): string;
  /** The container-side end: eth0 for its first network, eth1 for the second... */
  containerIfName(index: number): string;
  /** The host's end of the routing-mesh veth. */
  readonly meshHostSide: string;
  /** The host's end of a network's host-mode port veth. */
  hostPortHostSide(networkId: string): string;
  /** Whether a host device is one of this node's host-mode port veths. */
  isHostPortLink(name: string): boolean;
  /** The host's nftables table (family ip) for published ports. */
  readonly hostTable: string;
  isNetworkNs(name: string): boolean;
  isContainerNs(name: string): boolean;
}

export function nodeNames(dataRootRealPath: string): NodeNames {
  const prefix = hex(dataRootRealPath, 6);
  const nsPrefix = `shoal-${prefix}-`;
  const names: NodeNames = {
    prefix,
    nsPrefix,
    networkNs: (id) => `${nsPrefix}n-${shortId(id, 12)}`,
    containerNs: (id) => `${nsPrefix}c-${shortId(id, 16)}`,
    vethName: (id) => `${VETH_PREFIX}${hex(id, MAX_IFNAME - VETH_PREFIX.length)}`,
    containerIfName: (i) => `eth${i}`,
    meshHostSide: `shg${prefix}`,
    hostPortHostSide: (id) => `shh${prefix}${hex(id, MAX_IFNAME - 3 - prefix.length)}`,
    isHostPortLink: (n) => n.startsWith(`shh${prefix}`),
    hostTable: `shoal-${prefix}`,
    isNetworkNs: (n) => n.startsWith(`${nsPrefix}n-`),
    isContainerNs: (n) => n.startsWith(`${nsPrefix}c-`),
  };
  return names;
}
