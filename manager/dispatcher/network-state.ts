// What each node must know of the overlay networks it takes part in
// (shared/protocol/network-state.ts), computed from the store alone. Pure.
// The swarm-wide part of a network (its endpoints and services) is computed
// once per sweep and shared by every node's message (NetworkDigest).
import type { NetworkRecord, NodeRecord, ServiceRecord, TaskRecord } from '../../shared/model/index.js';
import { isTerminal } from '../../shared/model/task-states.js';
import {
  macForIp,
  type NetworksMessage,
  type OverlayNetworkState,
  type OverlayPeer,
  type OverlayService,
} from '../../shared/protocol/network-state.js';

export interface NetworkInputs {
  networks: readonly NetworkRecord[];
  services: readonly ServiceRecord[];
  /** Tasks with NetworksAttachments (others do not matter here). */
  tasks: readonly TaskRecord[];
  nodes: readonly NodeRecord[];
  dataPathPort: number;
}

/** The swarm-wide facts of one network. */
interface NetworkDigest {
  network: NetworkRecord;
  /** Endpoints by the node they are on. */
  peersByNode: Map<string, OverlayPeer[]>;
  services: OverlayService[];
}

/** `10.0.1.5/24` → `10.0.1.5`. */
export function bareIp(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

/** A task's endpoint is on its node's bridge from the moment it is assigned until it ends. */
function isLive(t: TaskRecord): boolean {
  return t.NodeID !== undefined && t.NodeID !== '' && !isTerminal(t.Status.State) && t.Status.State !== 'remove';
}

/** Takes traffic: running, meant to run, and healthy when it has a healthcheck. */
function isBackend(t: TaskRecord): boolean {
  return t.DesiredState === 'running' && t.Status.State === 'running' && t.Internal.Health !== 'unhealthy' && t.Internal.Health !== 'starting';
}

function serviceNetworks(s: ServiceRecord): Set<string> {
  const ids = new Set<string>();
  for (const n of s.Spec.TaskTemplate.Networks ?? []) ids.add(n.Target);
  for (const n of s.Spec.Networks ?? []) ids.add(n.Target);
  return ids;
}

function publishesIngress(s: ServiceRecord): boolean {
  return (s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress' && (p.PublishedPort ?? 0) > 0);
}

export class NetworkStateBuilder {
  private readonly digests: NetworkDigest[];
  private readonly underlay = new Map<string, string>();

  constructor(private readonly inputs: NetworkInputs) {
    for (const n of inputs.nodes) if (n.Status.Addr !== '') this.underlay.set(n.ID, n.Status.Addr);
    this.digests = inputs.networks.filter((n) => n.Internal.Allocation !== undefined).map((n) => this.digest(n));
  }

  private digest(network: NetworkRecord): NetworkDigest {
    const alloc = network.Internal.Allocation!;
    const peersByNode = new Map<string, OverlayPeer[]>();
    const add = (nodeId: string, peer: OverlayPeer): void => {
      let list = peersByNode.get(nodeId);
      if (list === undefined) peersByNode.set(nodeId, (list = []));
      list.push(peer);
    };
    for (const [nodeId, cidr] of Object.entries(alloc.NodeAddresses)) {
      const underlay = this.underlay.get(nodeId);
      if (underlay === undefined) continue;
      const ip = bareIp(cidr);
      add(nodeId, { ip, mac: macForIp(ip), underlay, nodeId });
    }
    const backends = new Map<string, OverlayService['backends']>();
    for (const t of this.inputs.tasks) {
      const att = t.NetworksAttachments?.find((a) => a.Network.ID === network.ID);
      const cidr = att?.Addresses[0];
      if (cidr === undefined || !isLive(t)) continue;
      const ip = bareIp(cidr);
      const underlay = this.underlay.get(t.NodeID!);
      if (underlay !== undefined) add(t.NodeID!, { ip, mac: macForIp(ip), underlay, nodeId: t.NodeID!, taskId: t.ID });
      if (isBackend(t)) {
        let list = backends.get(t.ServiceID);
        if (list === undefined) backends.set(t.ServiceID, (list = []));
        list.push({ taskId: t.ID, slot: t.Slot ?? 0, ip });
      }
    }
    const services: OverlayService[] = [];
    for (const s of this.inputs.services) {
      const attached = network.Spec.Ingress ? publishesIngress(s) : serviceNetworks(s).has(network.ID);
      if (!attached) continue;
      const vip = s.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === network.ID)?.Addr;
      const mode = s.Spec.EndpointSpec?.Mode ?? 'vip';
      // Every published port on ingress (the routing mesh's own and, for services only there, host-mode ones);
      // host-mode ports on every other network too, since the node may serve them from whichever the service is on.
      const ports = (s.Endpoint?.Ports ?? [])
        .filter((p) => (p.PublishedPort ?? 0) > 0 && (p.TargetPort ?? 0) > 0 && (network.Spec.Ingress || p.PublishMode === 'host'))
        .map((p) => ({
          protocol: p.Protocol === 'udp' ? ('udp' as const) : ('tcp' as const),
          targetPort: p.TargetPort!,
          publishedPort: p.PublishedPort!,
          publishMode: p.PublishMode === 'host' ? ('host' as const) : ('ingress' as const),
        }));
      services.push({
        id: s.ID,
        name: s.Spec.Name ?? s.ID,
        endpointMode: mode,
        ...(mode === 'vip' && vip !== undefined ? { vip: bareIp(vip) } : {}),
        backends: (backends.get(s.ID) ?? []).sort((a, b) => a.slot - b.slot || a.taskId.localeCompare(b.taskId)),
        ports,
      });
    }
    services.sort((a, b) => a.name.localeCompare(b.name));
    return { network, peersByNode, services };
  }

  /** The message for one node: the networks it has an address on, with every endpoint elsewhere. */
  forNode(nodeId: string): NetworksMessage {
    const networks: OverlayNetworkState[] = [];
    for (const d of this.digests) {
      const alloc = d.network.Internal.Allocation!;
      const nodeAddress = alloc.NodeAddresses[nodeId];
      if (nodeAddress === undefined) continue;
      const peers: OverlayPeer[] = [];
      for (const [peerNode, list] of d.peersByNode) if (peerNode !== nodeId) peers.push(...list);
      peers.sort((a, b) => a.ip.localeCompare(b.ip));
      networks.push({
        id: d.network.ID,
        name: d.network.Spec.Name,
        vni: alloc.VNI,
        subnet: alloc.Subnet,
        gateway: alloc.Gateway,
        mtu: alloc.MTU,
        internal: d.network.Spec.Internal,
        ingress: d.network.Spec.Ingress,
        nodeAddress,
        peers,
        services: d.services,
      });
    }
    networks.sort((a, b) => a.vni - b.vni);
    return { type: 'networks', dataPathPort: this.inputs.dataPathPort, networks };
  }
}
