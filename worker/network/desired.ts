// What should exist on this node, computed from the manager's word and the
// containers attached here. Pure: no I/O, same input gives the same output.
import { macForIp, type NetworksMessage, type OverlayNetworkState } from '../../shared/protocol/network-state.js';
import { addressOf, meshAddresses, parseCidr } from './ipv4.js';
import { NS_TABLE, type NodeNames } from './naming.js';
import { hostTable, ingressPorts, networkTable, type NftTable } from './nft-rules.js';

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
  state: OverlayNetworkState;
}

export interface DesiredHost {
  /** The routing mesh's host side, when this node has the ingress network. */
  mesh?: { ifName: string; peerNs: string; hostSide: string; nsSide: string };
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
}

export function desiredState(msg: NetworksMessage, containers: readonly ContainerAttachment[], cfg: PlannerConfig): DesiredState {
  const { names } = cfg;
  const mesh = meshAddresses(cfg.meshSubnet);
  const networks: DesiredNetwork[] = [];
  let host: DesiredHost = {};
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
      nft: networkTable(NS_TABLE, net),
      state: net,
    };
    if (net.ingress && !net.internal) {
      d.mesh = { nsSide: mesh.nsSide };
      const ports = ingressPorts(net);
      host = {
        mesh: { ifName: names.meshHostSide, peerNs: ns, hostSide: mesh.hostSide, nsSide: mesh.nsSide },
        ...(ports.length > 0 ? { nft: hostTable(names.hostTable, ports, { hostIfName: names.meshHostSide, ...mesh }) } : {}),
      };
    }
    networks.push(d);
  }
  // A container keeps its namespace while it lives, even when none of its networks is known (yet, or any more).
  const containerNs = containers.map((c) => names.containerNs(c.containerId)).sort();
  return { networks, containerNs, host };
}
