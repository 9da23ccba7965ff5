// The overlay data plane's pure core: names, desired state, nftables
// scripts, parsing what exists, and the plan that gets from one to the other.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { macForIp, type NetworksMessage, type OverlayNetworkState } from '../../../shared/protocol/network-state.js';
import { desiredState, type ContainerAttachment, type DesiredState, type PlannerConfig } from '../../../worker/network/desired.js';
import { linkAddresses, meshAddresses } from '../../../worker/network/ipv4.js';
import { BRIDGE, HOST_PORT_NS_SIDE, MESH_NS_SIDE, nodeNames, VXLAN } from '../../../worker/network/naming.js';
import { networkTable } from '../../../worker/network/nft-rules.js';
import { emptyNs, parseFdb, parseLinks, parseNeigh, parseNftHash, parseProbe, type ObservedLink, type ObservedNs, type ObservedState } from '../../../worker/network/observed.js';
import { plan } from '../../../worker/network/planner.js';
import { HOST, mergeSteps, type Step } from '../../../worker/network/steps.js';

const names = nodeNames('/var/lib/shoal');
const cfg: PlannerConfig = { names, underlayIp: '192.168.1.1', meshSubnet: '172.31.255.0/30' };

function front(over: Partial<OverlayNetworkState> = {}): OverlayNetworkState {
  return {
    id: 'frontaaaaaaaaaaaaaaaaaaaa',
    name: 'front',
    vni: 4097,
    subnet: '10.0.1.0/24',
    gateway: '10.0.1.1',
    mtu: 1450,
    internal: false,
    ingress: false,
    nodeAddress: '10.0.1.250/24',
    peers: [
      { ip: '10.0.1.251', mac: macForIp('10.0.1.251'), underlay: '192.168.1.2', nodeId: 'n2' },
      { ip: '10.0.1.4', mac: macForIp('10.0.1.4'), underlay: '192.168.1.2', nodeId: 'n2', taskId: 't4' },
    ],
    services: [{ id: 's1', name: 'web', endpointMode: 'vip', vip: '10.0.1.2', backends: [{ taskId: 't3', slot: 1, ip: '10.0.1.3' }, { taskId: 't4', slot: 2, ip: '10.0.1.4' }], ports: [] }],
    ...over,
  };
}

function ingress(): OverlayNetworkState {
  return {
    ...front(),
    id: 'ingressiiiiiiiiiiiiiiiiii',
    name: 'ingress',
    vni: 4096,
    subnet: '10.0.0.0/24',
    ingress: true,
    nodeAddress: '10.0.0.250/24',
    peers: [],
    services: [{ id: 's1', name: 'web', endpointMode: 'vip', vip: '10.0.0.2', backends: [{ taskId: 't3', slot: 1, ip: '10.0.0.3' }], ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' }] }],
  };
}

const web: ContainerAttachment = { containerId: 'c3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', taskId: 't3', networks: [{ networkId: 'frontaaaaaaaaaaaaaaaaaaaa', address: '10.0.1.3/24' }, { networkId: 'ingressiiiiiiiiiiiiiiiiii', address: '10.0.0.3/24' }] };

function msg(...networks: OverlayNetworkState[]): NetworksMessage {
  return { type: 'networks', dataPathPort: 4789, networks };
}

function link(name: string, over: Partial<ObservedLink> = {}): ObservedLink {
  return { name, kind: undefined, up: true, mtu: 1450, mac: '', master: undefined, addrs: [], ...over };
}

/** What the kernel holds once a plan for `d` has run: a plan against it must be empty. */
function observedFrom(d: DesiredState): ObservedState {
  const netns = new Map<string, ObservedNs>();
  const host = emptyNs();
  host.forwarding = true;
  for (const ns of d.containerNs) netns.set(ns, { ...emptyNs(), links: new Map([['lo', link('lo', { mtu: 65536 })]]) });
  for (const n of d.networks) {
    const o = emptyNs();
    o.forwarding = true;
    o.links.set(BRIDGE, link(BRIDGE, { kind: 'bridge', mac: n.bridgeMac, addrs: n.bridgeAddrs }));
    o.links.set(VXLAN, link(VXLAN, { kind: 'vxlan', master: BRIDGE, vxlan: { ...n.vxlan } }));
    for (const v of n.veths) {
      o.links.set(v.name, link(v.name, { kind: 'veth', master: BRIDGE }));
      netns.get(v.containerNs)!.links.set(v.ifName, link(v.ifName, { kind: 'veth', mac: v.mac, addrs: [v.address] }));
    }
    o.neigh = new Map(n.neigh);
    o.fdb = new Map(n.fdb);
    o.nftHash = n.nft.hash;
    if (n.mesh !== undefined) o.links.set(MESH_NS_SIDE, link(MESH_NS_SIDE, { kind: 'veth', mtu: 1500, addrs: [n.mesh.nsSide] }));
    if (n.hostPorts !== undefined) o.links.set(HOST_PORT_NS_SIDE, link(HOST_PORT_NS_SIDE, { kind: 'veth', mtu: 1500, addrs: [n.hostPorts.nsSide] }));
    netns.set(n.ns, o);
  }
  if (d.host.mesh !== undefined) host.links.set(d.host.mesh.ifName, link(d.host.mesh.ifName, { kind: 'veth', mtu: 1500, addrs: [d.host.mesh.hostSide] }));
  for (const l of d.host.hostPortLinks) host.links.set(l.ifName, link(l.ifName, { kind: 'veth', mtu: 1500, addrs: [l.hostSide] }));
  host.nftHash = d.host.nft?.hash;
  return { namespaces: new Set(netns.keys()), host, netns };
}

const lines = (steps: Step[], op: Step['op'], where: string): string[] => steps.flatMap((s) => (s.op === op && 'where' in s && s.where === where && 'lines' in s ? s.lines : []));

describe('names', () => {
  test('differ per data root, stay within 15 characters, and are stable', () => {
    const other = nodeNames('/var/lib/shoal2');
    assert.notEqual(names.prefix, other.prefix);
    assert.equal(nodeNames('/var/lib/shoal').networkNs('x'), names.networkNs('x'));
    for (const n of [names.vethName('c'.repeat(64)), names.meshHostSide, names.containerIfName(9)]) assert.ok(n.length <= 15, n);
    assert.ok(names.isNetworkNs(names.networkNs('abc')) && !names.isContainerNs(names.networkNs('abc')));
    assert.ok(names.containerNs('ab/../c').startsWith(names.nsPrefix) && /^[\w-]+$/.test(names.containerNs('ab/../c')));
  });

  test('the mesh /30 gives the host the first address and the ingress namespace the second', () => {
    assert.deepEqual(meshAddresses('172.31.255.0/30'), { hostSide: '172.31.255.1/30', nsSide: '172.31.255.2/30' });
    assert.throws(() => meshAddresses('172.31.255.0/31'), /too small/);
  });
});

describe('desired state', () => {
  test('bridge carries the node address and VIPs; only remote endpoints get neighbour and FDB entries', () => {
    const own = { ip: '10.0.1.9', mac: macForIp('10.0.1.9'), underlay: '192.168.1.1', nodeId: 'me', taskId: 't9' };
    const d = desiredState(msg(front({ peers: [...front().peers, own] })), [web], cfg);
    const n = d.networks[0]!;
    assert.deepEqual(n.bridgeAddrs, ['10.0.1.2/32', '10.0.1.250/24']);
    assert.equal(n.bridgeMac, '02:42:0a:00:01:fa');
    assert.deepEqual([...n.neigh.keys()].sort(), ['10.0.1.251', '10.0.1.4']);
    assert.equal(n.fdb.get(macForIp('10.0.1.4')), '192.168.1.2');
    assert.deepEqual(n.veths, [{ name: names.vethName(web.containerId), containerNs: names.containerNs(web.containerId), ifName: 'eth0', address: '10.0.1.3/24', mac: '02:42:0a:00:01:03', mtu: 1450 }]);
    assert.equal(d.host.mesh, undefined);
    assert.deepEqual(d.containerNs, [names.containerNs(web.containerId)]);
  });

  test('the ingress network brings the mesh veth and the host table; its container interface is the second', () => {
    const d = desiredState(msg(front(), ingress()), [web], cfg);
    assert.equal(d.networks[1]!.veths[0]!.ifName, 'eth1');
    assert.deepEqual(d.host.mesh, { ifName: names.meshHostSide, peerNs: names.networkNs(ingress().id), hostSide: '172.31.255.1/30', nsSide: '172.31.255.2/30' });
    assert.match(d.host.nft!.script, /fib daddr type local tcp dport 8080 dnat to 172\.31\.255\.2/);
    assert.match(d.host.nft!.script, new RegExp(`oifname "${names.meshHostSide}" snat to 172\\.31\\.255\\.1`));
  });
});

/** front() with a host-mode port on web (t3 is local, t4 remote) and one on a service whose only task is remote. */
function frontWithHostPorts(): OverlayNetworkState {
  const base = front();
  return {
    ...base,
    services: [
      { ...base.services[0]!, ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8081, publishMode: 'host' }] },
      { id: 's2', name: 'far', endpointMode: 'dnsrr', backends: [{ taskId: 't4', slot: 1, ip: '10.0.1.4' }], ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8082, publishMode: 'host' }] },
    ],
  };
}

describe('host-mode published ports', () => {
  test('go to this node\'s tasks only, over a veth into the network that serves them', () => {
    const d = desiredState(msg(frontWithHostPorts()), [web], cfg);
    const netA = names.networkNs(front().id);
    // VNI 4097 names slot 1 of the default 172.31.254.0/24.
    assert.deepEqual(d.host.hostPortLinks, [{ ifName: names.hostPortHostSide(front().id), peerNs: netA, hostSide: '172.31.254.5/30', nsSide: '172.31.254.6/30' }]);
    assert.deepEqual(d.networks[0]!.hostPorts, { nsSide: '172.31.254.6/30' });
    assert.match(d.networks[0]!.nft.script, /iifname "hp0" tcp dport 8081 dnat to 10\.0\.1\.3:80/);
    assert.doesNotMatch(d.networks[0]!.nft.script, /10\.0\.1\.4:80|dport 8082/, 'a task on another node takes no host-mode traffic here');
    assert.match(d.host.nft!.script, /fib daddr type local tcp dport 8081 dnat to 172\.31\.254\.6/);
    assert.doesNotMatch(d.host.nft!.script, /dport 8082/);
    assert.match(d.host.nft!.script, new RegExp(`oifname "${names.hostPortHostSide(front().id)}" snat to 172\\.31\\.254\\.5`));
    assert.equal(d.host.mesh, undefined);
    assert.ok(names.hostPortHostSide(front().id).length <= 15 && names.isHostPortLink(names.hostPortHostSide(front().id)));
  });

  test('several local tasks are picked at random; a service on ingress and an overlay is served from the overlay', () => {
    const two: ContainerAttachment = { containerId: 'c4bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', taskId: 't4', networks: [{ networkId: front().id, address: '10.0.1.4/24' }] };
    const ing = { ...ingress(), services: [{ ...ingress().services[0]!, ports: [...ingress().services[0]!.ports, { protocol: 'tcp' as const, targetPort: 80, publishedPort: 8081, publishMode: 'host' as const }] }] };
    const d = desiredState(msg(ing, frontWithHostPorts()), [web, two], cfg);
    const [ingNet, frontNet] = d.networks;
    assert.match(frontNet!.nft.script, /iifname "hp0" tcp dport 8081 dnat to numgen random mod 2 map \{ 0 : 10\.0\.1\.3, 1 : 10\.0\.1\.4 \}:80/);
    assert.match(frontNet!.nft.script, /iifname "hp0" tcp dport 8082 dnat to 10\.0\.1\.4:80/);
    assert.doesNotMatch(ingNet!.nft.script, /hp0/);
    assert.equal(ingNet!.hostPorts, undefined);
    // The mesh's rules come first in the host table.
    const script = d.host.nft!.script;
    assert.ok(script.indexOf('dport 8080 dnat to 172.31.255.2') < script.indexOf('dport 8081 dnat to 172.31.254.6'));
    assert.deepEqual(plan(d, observedFrom(d), names), []);
  });

  test('the /30s follow the VNI and skip a taken slot', () => {
    assert.deepEqual(linkAddresses('172.31.254.0/24', 63), { hostSide: '172.31.254.253/30', nsSide: '172.31.254.254/30' });
    assert.equal(linkAddresses('172.31.254.0/24', 64), undefined);
    const other: OverlayNetworkState = {
      ...front(),
      id: 'otherooooooooooooooooooooo',
      name: 'other',
      vni: 4097 + 64,
      subnet: '10.0.9.0/24',
      nodeAddress: '10.0.9.250/24',
      services: [{ id: 's9', name: 'db', endpointMode: 'dnsrr', backends: [{ taskId: 't3', slot: 1, ip: '10.0.9.3' }], ports: [{ protocol: 'tcp', targetPort: 5432, publishedPort: 5432, publishMode: 'host' }] }],
    };
    const both = desiredState(msg(frontWithHostPorts(), other), [{ ...web, networks: [...web.networks, { networkId: other.id, address: '10.0.9.3/24' }] }], cfg);
    assert.deepEqual(both.host.hostPortLinks.map((l) => [l.peerNs, l.hostSide]), [
      [names.networkNs(front().id), '172.31.254.5/30'],
      [names.networkNs(other.id), '172.31.254.9/30'],
    ]);
  });

  test('the veth is made from the host with its addresses, and goes when the last local task does', () => {
    const d = desiredState(msg(frontWithHostPorts()), [web], cfg);
    const netA = names.networkNs(front().id);
    const ifName = names.hostPortHostSide(front().id);
    const steps = plan(d, { namespaces: new Set(), host: emptyNs(), netns: new Map() }, names);
    assert.ok(lines(steps, 'ip', HOST).includes(`link add ${ifName} type veth peer name hp0 netns ${netA}`));
    assert.ok(lines(steps, 'ip', HOST).includes(`addr add 172.31.254.5/30 dev ${ifName}`));
    assert.ok(lines(steps, 'ip', netA).includes('addr add 172.31.254.6/30 dev hp0'));
    assert.ok(steps.some((s) => s.op === 'sysctl' && s.where === HOST && s.settings.includes(`net.ipv4.conf.${ifName}.route_localnet=1`)));
    assert.ok(steps.some((s) => s.op === 'sysctl' && s.where === HOST && s.settings.includes('net.ipv4.ip_forward=1')));
    assert.deepEqual(plan(d, observedFrom(d), names), []);
    const gone = plan(desiredState(msg(frontWithHostPorts()), [], cfg), observedFrom(d), names);
    assert.ok(lines(gone, 'ip', HOST).includes(`link del ${ifName}`));
    assert.ok(lines(gone, 'ip', netA).includes('link del hp0'));
    assert.ok(gone.some((s) => s.op === 'nft' && s.where === HOST && s.script === `delete table ip ${names.hostTable}\n`));
  });
});

describe('nftables rules', () => {
  test('a VIP picks one of its backends at random; published ports go to the target port; DNATed traffic leaves as the node', () => {
    const t = networkTable('shoal', { ...ingress(), services: [{ ...ingress().services[0]!, backends: [{ taskId: 'a', slot: 1, ip: '10.0.0.3' }, { taskId: 'b', slot: 2, ip: '10.0.0.4' }] }] });
    assert.match(t.script, /ip daddr 10\.0\.0\.2 dnat to numgen random mod 2 map \{ 0 : 10\.0\.0\.3, 1 : 10\.0\.0\.4 \}/);
    assert.match(t.script, /iifname "gw0" tcp dport 8080 dnat to numgen random mod 2 map \{ 0 : 10\.0\.0\.3, 1 : 10\.0\.0\.4 \}:80/);
    assert.match(t.script, /ct status dnat oifname "br0" snat to 10\.0\.0\.250/);
    assert.match(t.script, /^table ip shoal\ndelete table ip shoal\n/);
    assert.equal(parseNftHash(t.script), t.hash);
  });

  test('the same backends in another order give the same table; none at all give no rule', () => {
    const a = networkTable('shoal', front());
    const b = networkTable('shoal', front({ services: [{ ...front().services[0]!, backends: [...front().services[0]!.backends].reverse() }] }));
    assert.equal(a.hash, b.hash);
    const none = networkTable('shoal', front({ services: [{ ...front().services[0]!, backends: [] }] }));
    assert.doesNotMatch(none.script, /dnat to/);
  });
});

describe('plan', () => {
  test('from nothing: namespaces first, vxlan made from the host, then ports, entries and rules', () => {
    const d = desiredState(msg(front(), ingress()), [web], cfg);
    const steps = plan(d, { namespaces: new Set(), host: emptyNs(), netns: new Map() }, names);
    const ops = steps.map((s) => `${s.op}:${'where' in s ? s.where : s.ns}`);
    const netA = names.networkNs(front().id);
    const cns = names.containerNs(web.containerId);
    assert.ok(ops.indexOf(`netns-add:${netA}`) < ops.indexOf(`ip:${netA}`));
    assert.ok(ops.indexOf(`netns-add:${cns}`) < ops.findIndex((o) => o === `ip:${netA}`));
    assert.ok(lines(steps, 'ip', HOST).includes(`link add vxlan0 netns ${netA} mtu 1450 type vxlan id 4097 dstport 4789 local 192.168.1.1 nolearning proxy`));
    const inNet = lines(steps, 'ip', netA);
    assert.ok(inNet.indexOf('link add br0 type bridge') < inNet.indexOf('link set vxlan0 mtu 1450 master br0 up'));
    assert.ok(inNet.includes(`link add ${names.vethName(web.containerId)} mtu 1450 type veth peer name eth0 mtu 1450 address 02:42:0a:00:01:03 netns ${cns}`));
    assert.ok(inNet.includes('neigh replace 10.0.1.4 lladdr 02:42:0a:00:01:04 dev vxlan0 nud permanent'));
    assert.ok(lines(steps, 'bridge', netA).includes('fdb replace 02:42:0a:00:01:04 dev vxlan0 dst 192.168.1.2 self permanent'));
    assert.ok(lines(steps, 'ip', cns).includes('addr add 10.0.1.3/24 dev eth0'));
    assert.ok(lines(steps, 'ip', HOST).includes(`link add ${names.meshHostSide} type veth peer name gw0 netns ${names.networkNs(ingress().id)}`));
    assert.ok(steps.some((s) => s.op === 'sysctl' && s.where === netA && s.settings.includes('net.ipv4.ip_forward=1')));
    assert.ok(steps.some((s) => s.op === 'nft' && s.where === netA));
    assert.ok(steps.some((s) => s.op === 'nft' && s.where === HOST));
    assert.equal(steps.at(-1)!.op, 'nft');
  });

  test('nothing to do when everything is already there (a restarted agent adopts it)', () => {
    const d = desiredState(msg(front(), ingress()), [web], cfg);
    assert.deepEqual(plan(d, observedFrom(d), names), []);
  });

  test('a peer that went loses its entries; one that moved gets its new underlay', () => {
    const before = desiredState(msg(front()), [web], cfg);
    const moved = front().peers.map((p) => (p.ip === '10.0.1.4' ? { ...p, underlay: '192.168.1.3' } : p)).filter((p) => p.ip !== '10.0.1.251');
    const steps = plan(desiredState(msg(front({ peers: moved })), [web], cfg), observedFrom(before), names);
    const netA = names.networkNs(front().id);
    assert.deepEqual(lines(steps, 'ip', netA), ['neigh del 10.0.1.251 dev vxlan0']);
    assert.deepEqual(lines(steps, 'bridge', netA), [
      'fdb del 02:42:0a:00:01:fb dev vxlan0 dst 192.168.1.2 self',
      'fdb del 02:42:0a:00:01:04 dev vxlan0 dst 192.168.1.2 self',
      'fdb replace 02:42:0a:00:01:04 dev vxlan0 dst 192.168.1.3 self permanent',
    ]);
  });

  test('a new backend changes only the rules; a new service VIP is added to the bridge', () => {
    const before = desiredState(msg(front()), [web], cfg);
    const svc2 = { id: 's2', name: 'api', endpointMode: 'vip' as const, vip: '10.0.1.20', backends: [{ taskId: 't5', slot: 1, ip: '10.0.1.5' }], ports: [] };
    const steps = plan(desiredState(msg(front({ services: [...front().services, svc2] })), [web], cfg), observedFrom(before), names);
    const netA = names.networkNs(front().id);
    assert.deepEqual(lines(steps, 'ip', netA), ['addr add 10.0.1.20/32 dev br0']);
    assert.deepEqual(steps.map((s) => s.op), ['ip', 'nft']);
  });

  test('a removed network and a detached container: their devices go first, then their namespaces', () => {
    const before = desiredState(msg(front(), ingress()), [web], cfg);
    const steps = plan(desiredState(msg(ingress()), [], cfg), observedFrom(before), names);
    const cns = names.containerNs(web.containerId);
    const netA = names.networkNs(front().id);
    const ops = steps.map((s) => `${s.op}:${'where' in s ? s.where : s.ns}`);
    assert.deepEqual(ops.slice(0, 4), [`ip:${cns}`, `netns-del:${cns}`, `ip:${netA}`, `netns-del:${netA}`]);
    const first = steps[2]!;
    assert.ok(first.op === 'ip' && first.tolerant === true && first.lines.includes('link del vxlan0'));
    // The ingress network keeps going; only its stale veth goes.
    assert.deepEqual(lines(steps, 'ip', names.networkNs(ingress().id)), [`link del ${names.vethName(web.containerId)}`]);
  });

  test('a vxlan device with the wrong VNI is replaced and its entries written again', () => {
    const d = desiredState(msg(front()), [web], cfg);
    const o = observedFrom(d);
    const netA = names.networkNs(front().id);
    o.netns.get(netA)!.links.set(VXLAN, link(VXLAN, { kind: 'vxlan', master: BRIDGE, vxlan: { vni: 9, port: 4789, local: '192.168.1.1' } }));
    const steps = plan(d, o, names);
    assert.ok(lines(steps, 'ip', netA).includes('link del vxlan0'));
    assert.ok(lines(steps, 'ip', HOST).some((l) => l.startsWith('link add vxlan0') && l.includes('id 4097')));
    assert.equal(lines(steps, 'bridge', netA).length, 2);
  });

  test('br_netfilter loaded after the fact is switched off in the namespace', () => {
    const d = desiredState(msg(front()), [], cfg);
    const o = observedFrom(d);
    o.netns.get(names.networkNs(front().id))!.bridgeNetfilter = true;
    assert.deepEqual(plan(d, o, names), [{ op: 'sysctl', where: names.networkNs(front().id), settings: ['net.bridge.bridge-nf-call-iptables=0'] }]);
  });

  test('neighbouring batches for one namespace merge; tolerant ones stay apart', () => {
    const merged = mergeSteps([
      { op: 'ip', where: 'a', lines: ['1'] },
      { op: 'ip', where: 'a', lines: ['2'] },
      { op: 'ip', where: 'a', lines: ['3'], tolerant: true },
      { op: 'ip', where: 'b', lines: ['4'] },
    ]);
    assert.deepEqual(merged, [
      { op: 'ip', where: 'a', lines: ['1', '2'] },
      { op: 'ip', where: 'a', lines: ['3'], tolerant: true },
      { op: 'ip', where: 'b', lines: ['4'] },
    ]);
  });
});

describe('reading back', () => {
  const links = JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    {
      ifindex: 2,
      ifname: 'vxlan0',
      flags: ['BROADCAST', 'MULTICAST', 'UP'],
      mtu: 1450,
      master: 'br0',
      address: '3A:E9:41:15:16:E1',
      linkinfo: { info_kind: 'vxlan', info_data: { id: 42, local: '1.2.3.4', port: 4789, learning: false, proxy: true } },
      addr_info: [{ family: 'inet6', local: 'fe80::1', prefixlen: 64 }],
    },
  ]);

  test('links: kind, state, master, IPv4 addresses and the vxlan settings', () => {
    const l = parseLinks(links);
    assert.deepEqual(l.get('vxlan0'), { name: 'vxlan0', kind: 'vxlan', up: true, mtu: 1450, mac: '3a:e9:41:15:16:e1', master: 'br0', addrs: [], vxlan: { vni: 42, port: 4789, local: '1.2.3.4' } });
    assert.deepEqual(l.get('lo')?.addrs, ['127.0.0.1/8']);
    assert.equal(parseLinks('Cannot find device').size, 0);
  });

  test('neighbours (permanent only) and FDB entries with a remote', () => {
    assert.deepEqual([...parseNeigh('[{"dst":"10.0.0.9","lladdr":"02:42:0a:00:00:09","state":["PERMANENT"]},{"dst":"10.0.0.8","lladdr":"02:42:0a:00:00:08","state":["STALE"]}]')], [['10.0.0.9', '02:42:0a:00:00:09']]);
    assert.deepEqual([...parseFdb('[{"mac":"02:42:0a:00:00:09","dst":"1.2.3.5","flags":["self"],"state":"permanent"},{"mac":"3a:e9:41:15:16:e1","master":"br0","state":"permanent"}]')], [['02:42:0a:00:00:09', '1.2.3.5']]);
  });

  test('a probe splits into the host and each namespace', () => {
    const text = ['@@links -', links, '@@nft -', '', '@@forward -', '1', '@@links shoal-x-n-a', links, '@@nft shoal-x-n-a', 'table ip shoal {', '\tcomment "shoal:abc123"', '@@forward shoal-x-n-a', '0', '@@brnf shoal-x-n-a', '1'].join('\n');
    const o = parseProbe(text, ['shoal-x-n-a']);
    assert.equal(o.host.forwarding, true);
    assert.equal(o.host.nftHash, undefined);
    const n = o.netns.get('shoal-x-n-a')!;
    assert.equal(n.nftHash, 'abc123');
    assert.equal(n.forwarding, false);
    assert.equal(n.bridgeNetfilter, true);
    assert.equal(n.links.get('vxlan0')?.vxlan?.vni, 42);
  });
});
