// The allocator's pure core: from the store as it is now, what each network,
// service and task must be given, and what must be taken back.
//
// Everything is recomputed from the store each round, so a new leader (or a
// restored snapshot) carries on where the last one stopped: an address is in
// use exactly when a network, a live task, a service or a node record holds
// it. Only the search cursors (where the next address search starts) live
// outside the store; without them the search starts after the highest
// address in use, which is as good for correctness.
import type {
  EndpointPortConfig,
  NetworkAllocation,
  NetworkAttachment,
  NetworkRecord,
  NodeRecord,
  Service,
  ServiceRecord,
  TaskRecord,
} from '../../shared/model/index.js';
import { DEFAULT_ADDRESS_POOL, DEFAULT_SUBNET_SIZE, FIRST_VNI, INGRESS_PORT_RANGE } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import { AddressSpace } from './address-space.js';
import { endpointMode, publishesIngress, publishMode, specNetworks, taskNetworks } from './endpoint.js';
import { addressOf, blockSize, type Cidr, formatCidr, formatIp, overlaps, parseCidr, parseIp, withPrefix } from './ipv4.js';
import { DEFAULT_OVERLAY_MTU, intOption, MAX_VNI, MTU_OPTION, VXLAN_OPTION } from './network-spec.js';

export interface AllocatorInput {
  networks: readonly NetworkRecord[];
  services: readonly ServiceRecord[];
  tasks: readonly TaskRecord[];
  nodes: readonly NodeRecord[];
  /** The cluster's DefaultAddrPool (empty: 10.0.0.0/8). */
  addressPool?: readonly string[];
  /** The cluster's SubnetSize (0 or absent: 24). */
  subnetSize?: number;
}

/** Network ID -> the last address handed out there (see AddressSpace). */
export type Cursors = ReadonlyMap<string, number>;

export interface AllocationProblem {
  kind: 'network' | 'service' | 'task';
  id: string;
  message: string;
}

export interface AllocationPlan {
  /** Records to write, each as read plus its new allocation (Version is the one read). */
  networks: NetworkRecord[];
  services: ServiceRecord[];
  tasks: TaskRecord[];
  /** What could not be allocated this round, and why (tasks also carry it in Status.Err). */
  problems: AllocationProblem[];
  cursors: Map<string, number>;
}

/** Prefix of the Status.Err the allocator writes on a task it cannot give an address. */
export const ALLOCATION_ERROR_PREFIX = 'network allocation failed: ';

/**
 * A task holds its addresses until its container is gone for good: until it
 * is terminal, or, never placed, it is no longer meant to run.
 */
export function holdsAddresses(t: TaskRecord): boolean {
  if (isTerminal(t.Status.State)) return false;
  const placed = t.NodeID !== undefined && t.NodeID !== '';
  return placed || stateIndex(t.DesiredState) <= stateIndex('complete');
}

function hasAttachments(t: TaskRecord): boolean {
  return (t.NetworksAttachments?.length ?? 0) > 0;
}

function portKey(protocol: string | undefined, port: number): string {
  return `${protocol ?? 'tcp'}/${port}`;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Networks by ID and by name (service specs stored before resolution may name them). */
class NetworkIndex {
  private readonly byId = new Map<string, NetworkRecord>();
  private readonly byName = new Map<string, NetworkRecord>();
  ingress: NetworkRecord | undefined;

  constructor(networks: readonly NetworkRecord[]) {
    for (const n of networks) this.put(n);
  }

  put(n: NetworkRecord): void {
    this.byId.set(n.ID, n);
    this.byName.set(n.Spec.Name, n);
    if (n.Spec.Ingress) this.ingress = n;
  }

  resolve(target: string): NetworkRecord | undefined {
    return this.byId.get(target) ?? this.byName.get(target);
  }

  get(id: string): NetworkRecord | undefined {
    return this.byId.get(id);
  }
}

/** Allocation of the networks that have none yet: VXLAN id, subnet, gateway, MTU. */
function allocateNetworks(input: AllocatorInput, problems: AllocationProblem[]): NetworkRecord[] {
  const vnis = new Set<number>();
  const subnets: Array<{ id: string; cidr: Cidr }> = [];
  for (const n of input.networks) {
    const a = n.Internal.Allocation;
    if (!a) continue;
    vnis.add(a.VNI);
    const c = parseCidr(a.Subnet);
    if (c) subnets.push({ id: n.ID, cidr: c });
  }
  const pending = input.networks
    .filter((n) => n.Internal.Allocation === undefined)
    // The ingress network first (it takes the pool's first subnet and VNI 4096, as in Docker), then by age.
    .sort((a, b) => Number(b.Spec.Ingress) - Number(a.Spec.Ingress) || a.Version.Index - b.Version.Index || (a.ID < b.ID ? -1 : 1));
  // Subnets users asked for are theirs before any is picked from the pool.
  for (const n of pending) {
    const s = n.Spec.IPAM.Config[0]?.Subnet;
    const c = s === undefined ? undefined : parseCidr(s);
    if (c) subnets.push({ id: n.ID, cidr: c });
  }
  const pools = (input.addressPool && input.addressPool.length > 0 ? input.addressPool : [DEFAULT_ADDRESS_POOL])
    .map((p) => parseCidr(p))
    .filter((c): c is Cidr => c !== undefined);
  const size = input.subnetSize && input.subnetSize > 0 ? input.subnetSize : DEFAULT_SUBNET_SIZE;
  const out: NetworkRecord[] = [];
  for (const n of pending) {
    const fail = (message: string): void => void problems.push({ kind: 'network', id: n.ID, message });
    let vni: number | undefined;
    try {
      vni = intOption(n.Spec.Options, VXLAN_OPTION, 1, MAX_VNI);
    } catch (err) {
      fail((err as Error).message);
      continue;
    }
    if (vni !== undefined && vnis.has(vni)) {
      fail(`VXLAN id ${vni} (option ${VXLAN_OPTION}) is already used by another network; pick another or leave the option out`);
      continue;
    }
    if (vni === undefined) {
      vni = FIRST_VNI;
      while (vnis.has(vni)) vni++;
      if (vni > MAX_VNI) {
        fail('no VXLAN id left for the network; remove unused networks');
        continue;
      }
    }
    const asked = n.Spec.IPAM.Config[0];
    let subnet: Cidr | undefined;
    if (asked?.Subnet !== undefined) {
      subnet = parseCidr(asked.Subnet);
      const clash = subnet && subnets.find((s) => s.id !== n.ID && overlaps(s.cidr, subnet!));
      if (!subnet || clash) {
        fail(`subnet ${asked.Subnet} overlaps with another network's subnet${clash ? ` (${formatCidr(clash.cidr)})` : ''}; pick another`);
        continue;
      }
    } else {
      subnet = pickSubnet(pools, size, subnets.map((s) => s.cidr));
      if (!subnet) {
        fail(`the address pool (${pools.map(formatCidr).join(', ')}) has no free /${size} subnet left; remove unused networks or give a --subnet`);
        continue;
      }
      subnets.push({ id: n.ID, cidr: subnet });
    }
    const gateway = asked?.Gateway ?? formatIp(subnet.base + 1);
    const allocation: NetworkAllocation = {
      VNI: vni,
      Subnet: formatCidr(subnet),
      Gateway: gateway,
      MTU: intOption(n.Spec.Options, MTU_OPTION, 576, 9000) ?? DEFAULT_OVERLAY_MTU,
      NodeAddresses: {},
    };
    vnis.add(vni);
    out.push({ ...n, Internal: { ...n.Internal, Allocation: allocation } });
  }
  return out;
}

/** The first block of the given size in the pools that overlaps no subnet in use. */
function pickSubnet(pools: readonly Cidr[], size: number, used: readonly Cidr[]): Cidr | undefined {
  for (const pool of pools) {
    if (size < pool.prefix) continue;
    const step = blockSize(size);
    const end = pool.base + blockSize(pool.prefix);
    for (let base = pool.base; base < end; base += step) {
      const c = { base, prefix: size };
      if (!used.some((u) => overlaps(u, c))) return c;
    }
  }
  return undefined;
}

interface Space {
  network: NetworkRecord;
  allocation: NetworkAllocation;
  prefix: number;
  addresses: AddressSpace;
}

/** Plans one round. Deterministic: the same input and cursors give the same plan. */
export function planAllocations(input: AllocatorInput, cursors: Cursors = new Map()): AllocationPlan {
  const problems: AllocationProblem[] = [];
  const updatedNetworks = new Map<string, NetworkRecord>();
  for (const n of allocateNetworks(input, problems)) updatedNetworks.set(n.ID, n);
  const networks = new NetworkIndex(input.networks.map((n) => updatedNetworks.get(n.ID) ?? n));

  // Address spaces, with every address some record holds today.
  const spaces = new Map<string, Space>();
  for (const n of input.networks) {
    const rec = networks.get(n.ID)!;
    const a = rec.Internal.Allocation;
    const subnet = a && parseCidr(a.Subnet);
    const gw = a && parseIp(a.Gateway);
    if (!a || !subnet || gw === undefined) continue;
    spaces.set(n.ID, { network: rec, allocation: a, prefix: subnet.prefix, addresses: new AddressSpace(subnet, gw, cursors.get(n.ID)) });
  }
  const claim = (networkId: string, cidrAddress: string): void => {
    const ip = addressOf(cidrAddress);
    if (ip !== undefined) spaces.get(networkId)?.addresses.claim(ip);
  };
  for (const s of spaces.values()) for (const addr of Object.values(s.allocation.NodeAddresses)) claim(s.network.ID, addr);
  const services = new Map(input.services.map((s) => [s.ID, s]));
  for (const s of input.services) for (const v of s.Endpoint?.VirtualIPs ?? []) claim(v.NetworkID, v.Addr);
  for (const t of input.tasks) {
    if (!holdsAddresses(t)) continue;
    for (const a of t.NetworksAttachments ?? []) for (const addr of a.Addresses) claim(a.Network.ID, addr);
  }

  const allocate = (networkId: string): string | undefined => {
    const s = spaces.get(networkId);
    const ip = s?.addresses.allocate();
    return s && ip !== undefined ? withPrefix(ip, s.prefix) : undefined;
  };
  const release = (networkId: string, cidrAddress: string): void => {
    const ip = addressOf(cidrAddress);
    if (ip !== undefined) spaces.get(networkId)?.addresses.release(ip);
  };
  const exhausted = (networkId: string): string => {
    const s = spaces.get(networkId)!;
    return `no IP address left on network ${s.network.Spec.Name} (${s.allocation.Subnet}, ${s.addresses.capacity} addresses); scale services down, or move some to another network`;
  };

  // Services: virtual IPs and published ports.
  const portOwners = new Map<string, string>();
  for (const s of input.services) {
    for (const p of s.Endpoint?.Ports ?? []) {
      if (publishMode(p) === 'ingress' && (p.PublishedPort ?? 0) > 0) portOwners.set(portKey(p.Protocol, p.PublishedPort!), s.ID);
    }
  }
  /** Service ID -> the networks its tasks join, in order; only services whose endpoint is allocated. */
  const ready = new Map<string, NetworkRecord[]>();
  const updatedServices: ServiceRecord[] = [];
  for (const s of input.services) {
    const fail = (message: string): void => void problems.push({ kind: 'service', id: s.ID, message });
    const wanted: NetworkRecord[] = [];
    if (publishesIngress(s.Spec)) {
      const ingress = networks.ingress;
      if (!ingress) {
        fail('the service publishes ports in ingress mode, but the swarm has no ingress network; create one (docker network create --ingress -d overlay ingress) or publish in host mode');
        continue;
      }
      wanted.push(ingress);
    }
    let missing: string | undefined;
    for (const att of specNetworks(s.Spec)) {
      const n = networks.resolve(att.Target);
      if (!n) {
        missing = `network ${att.Target} not found`;
        break;
      }
      if (!wanted.some((w) => w.ID === n.ID)) wanted.push(n);
    }
    if (missing) {
      fail(`${missing}; update the service to use an existing network`);
      continue;
    }
    const unallocated = wanted.find((n) => !spaces.has(n.ID));
    if (unallocated) {
      fail(`network ${unallocated.Spec.Name} has no subnet yet`);
      continue;
    }
    const ports = planPorts(s, portOwners);
    if (typeof ports === 'string') {
      fail(ports);
      continue;
    }
    // Virtual IPs: kept while the service stays on the network, taken back when it leaves (or turns dnsrr).
    const vips: Array<{ NetworkID: string; Addr: string }> = [];
    const current = s.Endpoint?.VirtualIPs ?? [];
    const vipMode = endpointMode(s.Spec) === 'vip';
    let vipFailure: string | undefined;
    const fresh: Array<{ NetworkID: string; Addr: string }> = [];
    for (const n of vipMode ? wanted : []) {
      const kept = current.find((v) => v.NetworkID === n.ID);
      if (kept) {
        vips.push({ NetworkID: kept.NetworkID, Addr: kept.Addr });
        continue;
      }
      const addr = allocate(n.ID);
      if (addr === undefined) {
        vipFailure = exhausted(n.ID);
        break;
      }
      fresh.push({ NetworkID: n.ID, Addr: addr });
      vips.push({ NetworkID: n.ID, Addr: addr });
    }
    if (vipFailure) {
      for (const v of fresh) release(v.NetworkID, v.Addr);
      fail(vipFailure);
      continue;
    }
    for (const v of current) if (!vips.some((k) => k.NetworkID === v.NetworkID && k.Addr === v.Addr)) release(v.NetworkID, v.Addr);
    for (const p of s.Endpoint?.Ports ?? []) if (portOwners.get(portKey(p.Protocol, p.PublishedPort ?? 0)) === s.ID) portOwners.delete(portKey(p.Protocol, p.PublishedPort ?? 0));
    for (const p of ports) if (publishMode(p) === 'ingress') portOwners.set(portKey(p.Protocol, p.PublishedPort ?? 0), s.ID);
    const endpoint: NonNullable<Service['Endpoint']> = {
      Spec: structuredClone(s.Spec.EndpointSpec ?? {}),
      ...(ports.length > 0 ? { Ports: ports } : {}),
      ...(vips.length > 0 ? { VirtualIPs: vips } : {}),
    };
    // A service with neither virtual IPs nor ports needs no write: the API shows its spec's endpoint.
    const nothing = s.Endpoint === undefined && vips.length === 0 && ports.length === 0;
    if (!nothing && !same(endpoint, s.Endpoint)) updatedServices.push({ ...s, Endpoint: endpoint });
    ready.set(s.ID, wanted);
  }

  // Tasks: an address on each network they join.
  const updatedTasks: TaskRecord[] = [];
  const attachedNow = new Map<string, NetworkAttachment[]>();
  for (const t of input.tasks) {
    if (!holdsAddresses(t) || hasAttachments(t)) continue;
    const service = services.get(t.ServiceID);
    if (!service) continue;
    const own = taskNetworks(t.Spec);
    if (own.length === 0 && !publishesIngress(service.Spec)) continue;
    const serviceNets = ready.get(service.ID);
    const fail = (message: string): void => {
      problems.push({ kind: 'task', id: t.ID, message });
      const err = ALLOCATION_ERROR_PREFIX + message;
      if (t.Status.Err !== err) updatedTasks.push({ ...t, Status: { ...t.Status, Err: err } });
    };
    if (!serviceNets) {
      const why = problems.find((p) => p.kind === 'service' && p.id === service.ID);
      fail(why ? why.message : `service ${service.Spec.Name} is not allocated yet`);
      continue;
    }
    const nets: NetworkRecord[] = serviceNets.filter((n) => n.Spec.Ingress);
    let missing: string | undefined;
    for (const att of own.length > 0 ? own : specNetworks(service.Spec)) {
      const n = networks.resolve(att.Target);
      if (!n || !spaces.has(n.ID)) {
        missing = `network ${att.Target} not found`;
        break;
      }
      if (!nets.some((x) => x.ID === n.ID)) nets.push(n);
    }
    if (missing) {
      fail(missing);
      continue;
    }
    const attachments: NetworkAttachment[] = [];
    let failure: string | undefined;
    for (const n of nets) {
      const addr = allocate(n.ID);
      if (addr === undefined) {
        failure = exhausted(n.ID);
        break;
      }
      attachments.push(attachmentFor(spaces.get(n.ID)!, addr));
    }
    if (failure) {
      for (const a of attachments) release(a.Network.ID, a.Addresses[0]!);
      fail(failure);
      continue;
    }
    const status = { ...t.Status };
    if (status.Err?.startsWith(ALLOCATION_ERROR_PREFIX)) delete status.Err;
    updatedTasks.push({ ...t, Status: status, NetworksAttachments: attachments });
    attachedNow.set(t.ID, attachments);
  }

  // Nodes: an address on each network where they run tasks, and on ingress everywhere once ports are published.
  const nodeIds = new Set(input.nodes.map((n) => n.ID));
  const needed = new Map<string, Set<string>>();
  const need = (networkId: string, nodeId: string): void => {
    let set = needed.get(networkId);
    if (!set) needed.set(networkId, (set = new Set()));
    set.add(nodeId);
  };
  for (const t of input.tasks) {
    if (!holdsAddresses(t) || t.NodeID === undefined || t.NodeID === '' || !nodeIds.has(t.NodeID)) continue;
    for (const a of attachedNow.get(t.ID) ?? t.NetworksAttachments ?? []) need(a.Network.ID, t.NodeID);
  }
  const ingress = networks.ingress;
  if (ingress && [...ready.keys()].some((id) => publishesIngress(services.get(id)!.Spec))) {
    for (const n of input.nodes) need(ingress.ID, n.ID);
  }
  for (const s of [...spaces.values()].sort((a, b) => (a.network.ID < b.network.ID ? -1 : 1))) {
    const current = s.allocation.NodeAddresses;
    const wantedNodes = needed.get(s.network.ID) ?? new Set<string>();
    const next: Record<string, string> = {};
    for (const [node, addr] of Object.entries(current)) {
      if (wantedNodes.has(node)) next[node] = addr;
      else release(s.network.ID, addr);
    }
    for (const node of [...wantedNodes].sort()) {
      if (next[node] !== undefined) continue;
      const addr = allocate(s.network.ID);
      if (addr === undefined) {
        problems.push({ kind: 'network', id: s.network.ID, message: `node ${node}: ${exhausted(s.network.ID)}` });
        continue;
      }
      next[node] = addr;
    }
    if (!same(sortedRecord(next), sortedRecord(current))) {
      const allocation = { ...s.allocation, NodeAddresses: sortedRecord(next) };
      updatedNetworks.set(s.network.ID, { ...s.network, Internal: { ...s.network.Internal, Allocation: allocation } });
    }
  }

  const nextCursors = new Map<string, number>();
  for (const [id, s] of spaces) {
    const c = s.addresses.lastHandedOut;
    if (c !== undefined) nextCursors.set(id, c);
  }
  return {
    networks: [...updatedNetworks.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1)),
    services: updatedServices,
    tasks: updatedTasks,
    problems,
    cursors: nextCursors,
  };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function attachmentFor(s: Space, addr: string): NetworkAttachment {
  return {
    Network: {
      ID: s.network.ID,
      Spec: { Name: s.network.Spec.Name },
      DriverState: { Name: 'overlay', Options: { [VXLAN_OPTION]: String(s.allocation.VNI) } },
    },
    Addresses: [addr],
  };
}

/**
 * Endpoint.Ports for the service: host-mode and fixed ingress ports as
 * asked, ingress ports without a published port from the dynamic range
 * (keeping the one given before for the same target). A string says why
 * not (a port another service holds, or the range is used up).
 */
function planPorts(s: ServiceRecord, owners: ReadonlyMap<string, string>): EndpointPortConfig[] | string {
  const out: EndpointPortConfig[] = [];
  const mine = new Set<string>();
  const taken = (key: string): boolean => {
    const owner = owners.get(key);
    return (owner !== undefined && owner !== s.ID) || mine.has(key);
  };
  const previous = s.Endpoint?.Ports ?? [];
  const dynamic: EndpointPortConfig[] = [];
  for (const p of s.Spec.EndpointSpec?.Ports ?? []) {
    const base: EndpointPortConfig = {
      ...(p.Name ? { Name: p.Name } : {}),
      Protocol: p.Protocol ?? 'tcp',
      TargetPort: p.TargetPort ?? 0,
      PublishedPort: p.PublishedPort ?? 0,
      PublishMode: publishMode(p),
    };
    if (base.PublishMode === 'host') {
      out.push(base);
      continue;
    }
    if (base.PublishedPort! > 0) {
      const key = portKey(base.Protocol, base.PublishedPort!);
      if (taken(key)) {
        const owner = owners.get(key);
        return `port '${base.PublishedPort}' is already in use by ${owner && owner !== s.ID ? `service ${owner}` : 'this service'} as an ingress port; publish another port`;
      }
      mine.add(key);
      out.push(base);
    } else {
      dynamic.push(base);
      out.push(base);
    }
  }
  const [low, high] = INGRESS_PORT_RANGE;
  for (const p of dynamic) {
    const before = previous.find(
      (q) => publishMode(q) === 'ingress' && q.TargetPort === p.TargetPort && (q.Protocol ?? 'tcp') === p.Protocol && (q.PublishedPort ?? 0) >= low && (q.PublishedPort ?? 0) <= high,
    );
    if (before && !taken(portKey(p.Protocol, before.PublishedPort!))) {
      p.PublishedPort = before.PublishedPort!;
    } else {
      let port = low;
      while (port <= high && taken(portKey(p.Protocol, port))) port++;
      if (port > high) return `no published port left in the dynamic range ${low}-${high}; remove services or publish fixed ports`;
      p.PublishedPort = port;
    }
    mine.add(portKey(p.Protocol, p.PublishedPort));
  }
  return out;
}
