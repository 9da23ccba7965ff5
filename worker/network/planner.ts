// Desired state + what exists → the commands that make the second the
// first. Pure. Whatever carries this node's prefix and is not wanted goes:
// that is how a restarted agent adopts what it made before and clears
// what went stale while it was away.
import { BRIDGE, HOST_PORT_NS_SIDE, MESH_NS_SIDE, VETH_PREFIX, VXLAN, type NodeNames } from './naming.js';
import type { DesiredNetwork, DesiredState } from './desired.js';
import { emptyNs, type ObservedNs, type ObservedState } from './observed.js';
import { HOST, mergeSteps, type Step } from './steps.js';

export function plan(d: DesiredState, o: ObservedState, names: NodeNames): Step[] {
  const steps: Step[] = [];
  const wanted = new Set([...d.networks.map((n) => n.ns), ...d.containerNs]);
  const observedNs = (ns: string): ObservedNs => (o.namespaces.has(ns) ? (o.netns.get(ns) ?? emptyNs()) : emptyNs());

  // Stale namespaces: their devices are deleted first, so VNIs, veth peers
  // and names are free at once (a namespace itself dies asynchronously).
  const stale = [...o.namespaces].filter((ns) => !wanted.has(ns)).sort((a, b) => rank(names, a) - rank(names, b) || a.localeCompare(b));
  for (const ns of stale) {
    const links = [...observedNs(ns).links.values()].filter((l) => l.name !== 'lo');
    if (links.length > 0) steps.push({ op: 'ip', where: ns, lines: links.map((l) => `link del ${l.name}`), tolerant: true });
    steps.push({ op: 'netns-del', ns });
  }
  const hostMesh = o.host.links.get(names.meshHostSide);
  if (hostMesh !== undefined && d.host.mesh === undefined) steps.push({ op: 'ip', where: HOST, lines: [`link del ${names.meshHostSide}`], tolerant: true });
  const wantedHostPortLinks = new Set(d.host.hostPortLinks.map((l) => l.ifName));
  const staleHostPortLinks = [...o.host.links.keys()].filter((l) => names.isHostPortLink(l) && !wantedHostPortLinks.has(l)).sort();
  if (staleHostPortLinks.length > 0) steps.push({ op: 'ip', where: HOST, lines: staleHostPortLinks.map((l) => `link del ${l}`), tolerant: true });
  if (o.host.nftHash !== undefined && d.host.nft === undefined) steps.push({ op: 'nft', where: HOST, script: `delete table ip ${names.hostTable}\n` });

  for (const ns of [...wanted].sort()) if (!o.namespaces.has(ns)) steps.push({ op: 'netns-add', ns });

  for (const ns of d.containerNs) {
    if (observedNs(ns).links.get('lo')?.up !== true) steps.push({ op: 'ip', where: ns, lines: ['link set lo up'] });
  }
  for (const net of d.networks) planNetwork(net, d, o, observedNs, steps);

  if ((d.host.mesh !== undefined || d.host.hostPortLinks.length > 0) && !o.host.forwarding) steps.push({ op: 'sysctl', where: HOST, settings: ['net.ipv4.ip_forward=1'] });
  if (d.host.nft !== undefined && o.host.nftHash !== d.host.nft.hash) steps.push({ op: 'nft', where: HOST, script: d.host.nft.script });
  return mergeSteps(steps);
}

/** Containers' namespaces go before networks' (their veths die with them either way). */
function rank(names: NodeNames, ns: string): number {
  return names.isContainerNs(ns) ? 0 : names.isNetworkNs(ns) ? 1 : 2;
}

/** Lines that take `have` to `want` for a device's IPv4 addresses. */
function addrLines(dev: string, have: readonly string[], want: readonly string[]): string[] {
  return [...have.filter((a) => !want.includes(a)).map((a) => `addr del ${a} dev ${dev}`), ...want.filter((a) => !have.includes(a)).map((a) => `addr add ${a} dev ${dev}`)];
}

function planNetwork(net: DesiredNetwork, d: DesiredState, o: ObservedState, observedNs: (ns: string) => ObservedNs, steps: Step[]): void {
  const { ns, mtu } = net;
  const ob = observedNs(ns);
  const dels: string[] = [];
  const pre: string[] = [];
  const host: string[] = [];
  const hostSysctl: string[] = [];
  const post: string[] = [];
  const fdb: string[] = [];
  const containerDels = new Map<string, string[]>();
  const containerCfg = new Map<string, string[]>();
  const push = (m: Map<string, string[]>, k: string, ...lines: string[]): void => {
    m.set(k, [...(m.get(k) ?? []), ...lines]);
  };

  const fresh = !o.namespaces.has(ns);
  const sysctl = [...(ob.forwarding ? [] : ['net.ipv4.ip_forward=1']), ...(fresh || ob.bridgeNetfilter ? ['net.bridge.bridge-nf-call-iptables=0'] : [])];
  if (sysctl.length > 0) steps.push({ op: 'sysctl', where: ns, settings: sysctl });

  const br = ob.links.get(BRIDGE);
  const brNew = br === undefined || br.kind !== 'bridge';
  if (brNew) {
    if (br !== undefined) pre.push(`link del ${BRIDGE}`);
    pre.push(`link add ${BRIDGE} type bridge`);
  }
  if (brNew || br.mtu !== mtu || (net.bridgeMac !== '' && br.mac !== net.bridgeMac) || !br.up) {
    pre.push(`link set ${BRIDGE}${net.bridgeMac !== '' ? ` address ${net.bridgeMac}` : ''} mtu ${mtu} up`);
  }
  post.push(...addrLines(BRIDGE, brNew ? [] : br.addrs, net.bridgeAddrs));

  // The vxlan device is made from the host's namespace, which keeps its UDP socket there, and lands in the network's.
  const vx = ob.links.get(VXLAN);
  const v = net.vxlan;
  const vxNew = vx?.vxlan === undefined || vx.vxlan.vni !== v.vni || vx.vxlan.port !== v.port || vx.vxlan.local !== v.local;
  if (vxNew) {
    if (vx !== undefined) pre.push(`link del ${VXLAN}`);
    host.push(`link add ${VXLAN} netns ${ns} mtu ${mtu} type vxlan id ${v.vni} dstport ${v.port} local ${v.local} nolearning proxy`);
  }
  if (vxNew || brNew || vx.mtu !== mtu || vx.master !== BRIDGE || !vx.up) post.push(`link set ${VXLAN} mtu ${mtu} master ${BRIDGE} up`);

  const haveNeigh = vxNew ? new Map<string, string>() : ob.neigh;
  for (const ip of haveNeigh.keys()) if (!net.neigh.has(ip)) post.push(`neigh del ${ip} dev ${VXLAN}`);
  for (const [ip, mac] of net.neigh) if (haveNeigh.get(ip) !== mac) post.push(`neigh replace ${ip} lladdr ${mac} dev ${VXLAN} nud permanent`);
  const haveFdb = vxNew ? new Map<string, string>() : ob.fdb;
  for (const [mac, dst] of haveFdb) if (net.fdb.get(mac) !== dst) fdb.push(`fdb del ${mac} dev ${VXLAN} dst ${dst} self`);
  for (const [mac, dst] of net.fdb) if (haveFdb.get(mac) !== dst) fdb.push(`fdb replace ${mac} dev ${VXLAN} dst ${dst} self permanent`);

  const wantVeths = new Set(net.veths.map((x) => x.name));
  for (const l of ob.links.values()) if (l.name.startsWith(VETH_PREFIX) && !wantVeths.has(l.name)) dels.push(`link del ${l.name}`);
  for (const x of net.veths) {
    const nl = ob.links.get(x.name);
    const cl = observedNs(x.containerNs).links.get(x.ifName);
    if (nl === undefined || nl.kind !== 'veth' || cl === undefined) {
      if (nl !== undefined) dels.push(`link del ${x.name}`);
      if (cl !== undefined) push(containerDels, x.containerNs, `link del ${x.ifName}`);
      post.push(`link add ${x.name} mtu ${mtu} type veth peer name ${x.ifName} mtu ${mtu} address ${x.mac} netns ${x.containerNs}`, `link set ${x.name} master ${BRIDGE} up`);
      push(containerCfg, x.containerNs, `addr add ${x.address} dev ${x.ifName}`, `link set ${x.ifName} up`);
      continue;
    }
    if (brNew || nl.master !== BRIDGE || !nl.up || nl.mtu !== mtu) post.push(`link set ${x.name} mtu ${mtu} master ${BRIDGE} up`);
    const fix = addrLines(x.ifName, cl.addrs, [x.address]);
    if (!cl.up || cl.mtu !== mtu || cl.mac !== x.mac) fix.push(`link set ${x.ifName} address ${x.mac} mtu ${mtu} up`);
    if (fix.length > 0) push(containerCfg, x.containerNs, ...fix);
  }

  const lists = { dels, host, hostSysctl, post };
  const mesh = d.host.mesh;
  planHostLink(net.mesh !== undefined && mesh !== undefined && mesh.peerNs === ns ? mesh : undefined, MESH_NS_SIDE, ob, o, lists);
  planHostLink(net.hostPorts !== undefined ? d.host.hostPortLinks.find((l) => l.peerNs === ns) : undefined, HOST_PORT_NS_SIDE, ob, o, lists);

  if (dels.length > 0) steps.push({ op: 'ip', where: ns, lines: dels, tolerant: true });
  if (pre.length > 0) steps.push({ op: 'ip', where: ns, lines: pre });
  for (const [cns, lines] of containerDels) steps.push({ op: 'ip', where: cns, lines, tolerant: true });
  if (host.length > 0) steps.push({ op: 'ip', where: HOST, lines: host });
  if (hostSysctl.length > 0) steps.push({ op: 'sysctl', where: HOST, settings: hostSysctl });
  if (post.length > 0) steps.push({ op: 'ip', where: ns, lines: post });
  if (fdb.length > 0) steps.push({ op: 'bridge', where: ns, lines: fdb });
  for (const [cns, lines] of containerCfg) steps.push({ op: 'ip', where: cns, lines });
  if (ob.nftHash !== net.nft.hash) steps.push({ op: 'nft', where: ns, script: net.nft.script });
}

/** A veth from the host into a network's namespace (`nsSide` is its name there), or its removal when `want` is undefined. */
function planHostLink(
  want: { ifName: string; peerNs: string; hostSide: string; nsSide: string } | undefined,
  nsSide: string,
  ob: ObservedNs,
  o: ObservedState,
  lists: { dels: string[]; host: string[]; hostSysctl: string[]; post: string[] },
): void {
  const { dels, host, hostSysctl, post } = lists;
  if (want === undefined) {
    if (ob.links.has(nsSide)) dels.push(`link del ${nsSide}`);
    return;
  }
  const gw = ob.links.get(nsSide);
  const hs = o.host.links.get(want.ifName);
  if (gw === undefined || hs === undefined) {
    if (gw !== undefined) dels.push(`link del ${nsSide}`);
    if (hs !== undefined) host.push(`link del ${want.ifName}`);
    host.push(`link add ${want.ifName} type veth peer name ${nsSide} netns ${want.peerNs}`, `addr add ${want.hostSide} dev ${want.ifName}`, `link set ${want.ifName} up`);
    hostSysctl.push(`net.ipv4.conf.${want.ifName}.route_localnet=1`);
    post.push(`addr add ${want.nsSide} dev ${nsSide}`, `link set ${nsSide} up`);
    return;
  }
  const hfix = addrLines(want.ifName, hs.addrs, [want.hostSide]);
  if (!hs.up) hfix.push(`link set ${want.ifName} up`);
  host.push(...hfix);
  post.push(...addrLines(nsSide, gw.addrs, [want.nsSide]));
  if (!gw.up) post.push(`link set ${nsSide} up`);
}
