// What should exist on this node, computed from the manager's word and the
// containers attached here. Pure: no I/O, same input gives the same output.
import { macForIp, type NetworksMessage, type OverlayNetworkState } from '../../shared/protocol/network-state.js';
import { addressOf, linkAddresses, linkSlots, meshAddresses, parseCidr } from './ipv4.js';
import { NS_TABLE, type NodeNames } from './naming.js';
import { hostTable, ingressPorts, networkTable, type HostLink, type HostModePort, type NftTable } from './nft-rules.js';

/** A container attached on this node, as the data plane records it. */
export interface ContainerAttachment {
  containerId: string;
  taskId: string;
  /** In interface order: eth0 is the first. `address` is CIDR (`10.0.1.5/24`). */
  networks: Array<{ networkId: string; address: string }>;
}

export interface DesiredVeth {
  /** Network-side name (in the network namespace). */
  name: string;
  containerNs: string;
  /** Container-side name (eth0, eth1...). */
  ifName: string;
  /** CIDR. */
  address: string;
  mac: string;
  mtu: number;
}

export interface DesiredNetwork {
  id: string;
  ns: string;
  mtu: number;
  /** The bridge carries the node's address, so it gets that address's MAC: other nodes' neighbour entries name it. */
  bridgeMac: string;
  /** CIDR: the node's address and each service VIP as /32. Sorted. */
  bridgeAddrs: string[];
  vxlan: { vni: number; port: number; local: string };
  /** Remote endpoints: IP → MAC (proxy ARP answers from these). */
  neigh: Map<string, string>;
  /** Remote endpoints: MAC → underlay IP of the node they are on. */
  fdb: Map<string, string>;
  veths: DesiredVeth[];
  nft: NftTable;
  /** The ingress network's end of the routing mesh. */
  mesh?: { nsSide: string };
  /** The network's end of its host-mode port veth, when this node's tasks on it take host-mode ports. */
  hostPorts?: { nsSide: string };
  state: OverlayNetworkState;
}

export interface DesiredHost {
  /** The routing mesh's host side, when this node has the ingress network. */
  mesh?: { ifName: string; peerNs: string; hostSide: string; nsSide: string };
  /** Host-mode port veths, one per network that carries them here. */
  hostPortLinks: Array<{ ifName: string; peerNs: string; hostSide: string; nsSide: string }>;
  /** Published ports, when there are any. */
  nft?: NftTable;
}

export interface DesiredState {
  networks: DesiredNetwork[];
  containerNs: string[];
  host: DesiredHost;
}

export interface PlannerConfig {
  names: NodeNames;
  /** This node's data path address: VXLAN packets leave from it. */
  underlayIp: string;
  /** The routing mesh's point-to-point subnet (a /30 is enough). */
  meshSubnet: string;
  /** Where host-mode port veths take their /30s from (default DEFAULT_HOST_PORT_SUBNET). */
  hostPortSubnet?: string;
}

/** 64 /30s, next to the mesh's default 172.31.255.0/30. */
export const DEFAULT_HOST_PORT_SUBNET = '172.31.254.0/24';

/**
 * Host-mode published ports, by the network whose namespace serves them:
 * each service's ports go to the local tasks' addresses on one network the
 * service is on (its first non-ingress network with a local task, else the
 * ingress network); a port already taken by an earlier service is skipped.
 * Internal networks and networks without a node address take none (nothing
 * to source the traffic from).
 */
export function hostModePorts(msg: NetworksMessage, containers: readonly ContainerAttachment[]): Map<string, HostModePort[]> {
  const local = new Map<string, Set<string>>();
  for (const c of containers) local.set(c.taskId, new Set(c.networks.map((n) => n.networkId)));
  const candidates = [...msg.networks.filter((n) => !n.ingress), ...msg.networks.filter((n) => n.ingress)].filter((n) => !n.internal && n.nodeAddress !== '');
  const chosen = new Map<string, { networkId: string; ports: OverlayNetworkState['services'][number]['ports']; backends: string[] }>();
  for (const net of candidates) {
    for (const s of net.services) {
      if (chosen.has(s.id) || !s.ports.some((p) => p.publishMode === 'host')) continue;
      const backends = s.backends.filter((b) => local.get(b.taskId)?.has(net.id) === true).map((b) => b.ip);
      if (backends.length > 0) chosen.set(s.id, { networkId: net.id, ports: s.ports, backends: [...new Set(backends)].sort() });
    }
  }
  const out = new Map<string, HostModePort[]>();
  const taken = new Set<string>();
  for (const id of [...chosen.keys()].sort()) {
    const c = chosen.get(id)!;
    for (const p of c.ports) {
      const key = `${p.protocol}/${p.publishedPort}`;
      if (p.publishMode !== 'host' || taken.has(key)) continue;
      taken.add(key);
      const list = out.get(c.networkId) ?? [];
      list.push({ protocol: p.protocol, publishedPort: p.publishedPort, targetPort: p.targetPort, backends: c.backends });
      out.set(c.networkId, list);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.publishedPort - b.publishedPort || a.protocol.localeCompare(b.protocol));
  return out;
}

/**
 * A /30 for each network that needs a host-mode port veth: the slot its VNI
 * names, or the next free one, taken in VNI order so a network keeps its
 * addresses while the others come and go (unless two VNIs share a slot).
 */
function hostPortAddresses(networks: ReadonlyArray<{ id: string; vni: number }>, subnet: string): Map<string, { hostSide: string; nsSide: string }> {
  const slots = linkSlots(subnet);
  const used = new Set<number>();
  const out = new Map<string, { hostSide: string; nsSide: string }>();
  for (const n of [...networks].sort((a, b) => a.vni - b.vni)) {
    for (let i = 0; i < slots; i++) {
      const slot = (n.vni + i) % slots;
      if (used.has(slot)) continue;
      used.add(slot);
      out.set(n.id, linkAddresses(subnet, slot)!);
      break;
    }
  }
  return out;
}

export function desiredState(msg: NetworksMessage, containers: readonly ContainerAttachment[], cfg: PlannerConfig): DesiredState {
  const { names } = cfg;
  const mesh = meshAddresses(cfg.meshSubnet);
  const networks: DesiredNetwork[] = [];
  const host: DesiredHost = { hostPortLinks: [] };
  const links: HostLink[] = [];
  const hostPorts = hostModePorts(msg, containers);
  const hostPortSubnet = cfg.hostPortSubnet ?? DEFAULT_HOST_PORT_SUBNET;
  const hostPortLinks = hostPortAddresses(msg.networks.filter((n) => hostPorts.has(n.id)), hostPortSubnet);
  for (const net of msg.networks) {
    const ns = names.networkNs(net.id);
    const nodeIp = net.nodeAddress === '' ? undefined : addressOf(net.nodeAddress);
    const vips = net.services.filter((s) => s.endpointMode === 'vip' && s.vip !== undefined).map((s) => `${s.vip!}/32`);
    const neigh = new Map<string, string>();
    const fdb = new Map<string, string>();
    for (const p of net.peers) {
      // Only endpoints on other nodes: local ones are on the bridge, and a stray one naming us must not shadow them.
      if (p.underlay === cfg.underlayIp || p.ip === nodeIp) continue;
      neigh.set(p.ip, p.mac.toLowerCase());
      fdb.set(p.mac.toLowerCase(), p.underlay);
    }
    const veths: DesiredVeth[] = [];
    for (const c of containers) {
      c.networks.forEach((a, i) => {
        if (a.networkId !== net.id) return;
        const cidr = parseCidr(a.address);
        veths.push({
          name: names.vethName(c.containerId),
          containerNs: names.containerNs(c.containerId),
          ifName: names.containerIfName(i),
          address: `${cidr.ip}/${cidr.prefixLength}`,
          mac: macForIp(cidr.ip),
          mtu: net.mtu,
        });
      });
    }
    veths.sort((a, b) => a.name.localeCompare(b.name));
    const d: DesiredNetwork = {
      id: net.id,
      ns,
      mtu: net.mtu,
      bridgeMac: nodeIp === undefined ? '' : macForIp(nodeIp),
      bridgeAddrs: [...new Set([...(net.nodeAddress === '' ? [] : [net.nodeAddress]), ...vips])].sort(),
      vxlan: { vni: net.vni, port: msg.dataPathPort, local: cfg.underlayIp },
      neigh,
      fdb,
      veths,
      nft: networkTable(NS_TABLE, net, hostPorts.get(net.id) ?? []),
      state: net,
    };
    if (net.ingress && !net.internal) {
      d.mesh = { nsSide: mesh.nsSide };
      host.mesh = { ifName: names.meshHostSide, peerNs: ns, hostSide: mesh.hostSide, nsSide: mesh.nsSide };
      links.unshift({ hostIfName: names.meshHostSide, ...mesh, ports: ingressPorts(net) });
    }
    const hp = hostPortLinks.get(net.id);
    const ports = hostPorts.get(net.id);
    if (hp !== undefined && ports !== undefined) {
      d.hostPorts = { nsSide: hp.nsSide };
      const ifName = names.hostPortHostSide(net.id);
      host.hostPortLinks.push({ ifName, peerNs: ns, ...hp });
      links.push({ hostIfName: ifName, ...hp, ports });
    }
    networks.push(d);
  }
  if (links.some((l) => l.ports.length > 0)) host.nft = hostTable(names.hostTable, links);
  // A container keeps its namespace while it lives, even when none of its networks is known (yet, or any more).
  const containerNs = containers.map((c) => names.containerNs(c.containerId)).sort();
  return { networks, containerNs, host };
}
