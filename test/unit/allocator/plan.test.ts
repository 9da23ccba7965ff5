import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALLOCATION_ERROR_PREFIX, type AllocationPlan, type AllocatorInput, type Cursors, planAllocations } from '../../../manager/allocator/index.js';
import { awaitsNetworks } from '../../../manager/scheduler/task-facts.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import { ingress, network, node, service, task } from './fixtures.js';

/** The store after the plan's writes (versions bumped as the store would). */
function applied(input: AllocatorInput, plan: AllocationPlan): AllocatorInput {
  const merge = <T extends { ID: string; Version: { Index: number } }>(list: readonly T[], updates: readonly T[]): T[] =>
    list.map((o) => {
      const u = updates.find((x) => x.ID === o.ID);
      return u ? { ...u, Version: { Index: u.Version.Index + 1 } } : o;
    });
  return {
    ...input,
    networks: merge(input.networks, plan.networks),
    services: merge(input.services, plan.services),
    tasks: merge(input.tasks, plan.tasks),
  };
}

/** Rounds until nothing more is written (as the loop runs them). */
function settle(input: AllocatorInput, cursors: Cursors = new Map()): { state: AllocatorInput; cursors: Cursors; plan: AllocationPlan } {
  let state = input;
  for (let i = 0; i < 10; i++) {
    const plan = planAllocations(state, cursors);
    cursors = plan.cursors;
    if (plan.networks.length + plan.services.length + plan.tasks.length === 0) return { state, cursors, plan };
    state = applied(state, plan);
  }
  throw new Error('the allocator did not settle in 10 rounds');
}

function addresses(t: TaskRecord | undefined): string[] {
  return (t?.NetworksAttachments ?? []).map((a) => a.Addresses[0]!);
}

test('networks get VXLAN ids from 4096 and /24s from 10.0.0.0/8, the ingress network first; user subnets, gateways and MTU are honoured', () => {
  const input: AllocatorInput = {
    networks: [
      network('a-user', 'front', {}, 2),
      network('b-fixed', 'fixed', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.254' }], Options: {} } }, 3),
      network('c-mtu', 'jumbo', { Options: { 'com.docker.network.driver.mtu': '8950' } }, 4),
      ingress('z-ingress'),
    ],
    services: [],
    tasks: [],
    nodes: [],
  };
  const plan = planAllocations(input);
  const byName = new Map(plan.networks.map((n) => [n.Spec.Name, n.Internal.Allocation!]));
  assert.deepEqual(byName.get('ingress'), { VNI: 4096, Subnet: '10.0.0.0/24', Gateway: '10.0.0.1', MTU: 1450, NodeAddresses: {} });
  // The user's 10.0.1.0/24 is reserved before pool picks, so "front" skips it.
  assert.deepEqual(byName.get('front'), { VNI: 4097, Subnet: '10.0.2.0/24', Gateway: '10.0.2.1', MTU: 1450, NodeAddresses: {} });
  assert.deepEqual(byName.get('fixed'), { VNI: 4098, Subnet: '10.0.1.0/24', Gateway: '10.0.1.254', MTU: 1450, NodeAddresses: {} });
  assert.equal(byName.get('jumbo')?.MTU, 8950);
  assert.equal(byName.get('jumbo')?.Subnet, '10.0.3.0/24');
  assert.deepEqual(plan.problems, []);
  // Already allocated networks are left alone.
  assert.deepEqual(planAllocations(applied(input, plan)).networks, []);
});

test('a network whose subnet overlaps an allocated one, or whose VXLAN id is taken, is reported and left unallocated', () => {
  const first = planAllocations({ networks: [network('n1', 'one')], services: [], tasks: [], nodes: [] });
  const allocated = first.networks[0]!;
  const plan = planAllocations({
    networks: [
      allocated,
      network('n2', 'two', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.0.0/16' }], Options: {} } }),
      network('n3', 'three', { Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4096' } }),
    ],
    services: [],
    tasks: [],
    nodes: [],
  });
  assert.deepEqual(plan.networks, []);
  assert.deepEqual(
    plan.problems.map((p) => p.id),
    ['n2', 'n3'],
  );
  assert.match(plan.problems[0]!.message, /overlaps/);
  assert.match(plan.problems[1]!.message, /VXLAN id 4096/);
});

test('the cluster address pool and subnet size are used when set', () => {
  const plan = planAllocations({ networks: [network('n1', 'one')], services: [], tasks: [], nodes: [], addressPool: ['172.20.0.0/16'], subnetSize: 26 });
  assert.equal(plan.networks[0]!.Internal.Allocation!.Subnet, '172.20.0.0/26');
});

test('a vip service gets a VIP on each network, ingress first; its tasks get unique addresses on the same networks', () => {
  const svc = service('web', { networks: ['front'], ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' }] });
  const input: AllocatorInput = {
    networks: [ingress('ing'), network('net1', 'front', {}, 2)],
    services: [svc],
    tasks: [task('t1', svc), task('t2', svc), task('t3', svc)],
    nodes: [],
  };
  const { state } = settle(input);
  const web = state.services[0]!;
  assert.deepEqual(web.Endpoint?.VirtualIPs, [
    { NetworkID: 'ing', Addr: '10.0.0.2/24' },
    { NetworkID: 'net1', Addr: '10.0.1.2/24' },
  ]);
  assert.deepEqual(web.Endpoint?.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
  const t1 = state.tasks.find((t) => t.ID === 't1')!;
  assert.deepEqual(t1.NetworksAttachments, [
    {
      Network: { ID: 'ing', Spec: { Name: 'ingress' }, DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4096' } } },
      Addresses: ['10.0.0.3/24'],
    },
    {
      Network: { ID: 'net1', Spec: { Name: 'front' }, DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } } },
      Addresses: ['10.0.1.3/24'],
    },
  ]);
  const all = state.tasks.flatMap(addresses);
  assert.equal(new Set(all).size, 6, 'every task address is unique');
  assert.ok(!all.includes('10.0.1.2/24') && !all.includes('10.0.0.2/24'), 'no task takes a VIP');
});

test('dnsrr services get no VIP; tasks without networks or ingress ports are left alone', () => {
  const rr = service('rr', { networks: ['n'], mode: 'dnsrr' });
  const plain = service('plain');
  const { state } = settle({ networks: [network('n', 'n')], services: [rr, plain], tasks: [task('t1', rr), task('t2', plain)], nodes: [] });
  assert.equal(state.services[0]!.Endpoint?.VirtualIPs, undefined);
  assert.equal(state.services[1]!.Endpoint, undefined, 'no write for a service with neither networks nor ports');
  assert.deepEqual(addresses(state.tasks[0]), ['10.0.0.2/24']);
  assert.equal(state.tasks[1]!.NetworksAttachments, undefined);
});

test('running out of addresses is an error on the task that did not fit; the others keep theirs', () => {
  // A /29 holds .1-.6; .1 is the gateway, the VIP takes one: four tasks fit.
  const small = network('n', 'small', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/29' }], Options: {} } });
  const svc = service('s', { networks: ['n'] });
  const tasks = ['t1', 't2', 't3', 't4', 't5'].map((id) => task(id, svc));
  const { state, plan } = settle({ networks: [small], services: [svc], tasks, nodes: [] });
  assert.deepEqual(
    state.tasks.slice(0, 4).map((t) => addresses(t)[0]),
    ['10.9.0.3/29', '10.9.0.4/29', '10.9.0.5/29', '10.9.0.6/29'],
  );
  const t5 = state.tasks[4]!;
  assert.equal(t5.NetworksAttachments, undefined);
  assert.match(t5.Status.Err ?? '', new RegExp(`^${ALLOCATION_ERROR_PREFIX}no IP address left on network small \\(10\\.9\\.0\\.0/29`));
  assert.deepEqual(plan.problems.map((p) => [p.kind, p.id]), [['task', 't5']]);
  assert.ok(awaitsNetworks(t5, () => svc), 'the scheduler keeps waiting for it');
  // One task ends: its address goes back, and the waiting task gets it (the only one left), its error cleared.
  const freed = { ...state, tasks: state.tasks.map((t) => (t.ID === 't2' ? { ...t, Status: { ...t.Status, State: 'failed' as const } } : t)) };
  const after = settle(freed).state;
  assert.deepEqual(addresses(after.tasks[4]), ['10.9.0.4/29']);
  assert.equal(after.tasks[4]!.Status.Err, undefined);
});

test('a released address is not handed out again at once: the search goes on from the last one given', () => {
  const svc = service('s', { networks: ['n'] });
  let { state, cursors } = settle({ networks: [network('n', 'n')], services: [svc], tasks: [task('t1', svc), task('t2', svc)], nodes: [] });
  assert.deepEqual(state.tasks.map((t) => addresses(t)[0]), ['10.0.0.3/24', '10.0.0.4/24']);
  // t2 is deleted (reaped); a new task comes.
  state = { ...state, tasks: [state.tasks[0]!, task('t3', svc)] };
  ({ state, cursors } = settle(state, cursors));
  assert.deepEqual(addresses(state.tasks[1]), ['10.0.0.5/24']);
  // A new leader (no cursors) starts after the highest address in use: still no clash.
  state = { ...state, tasks: [...state.tasks, task('t4', svc)] };
  ({ state } = settle(state));
  assert.deepEqual(addresses(state.tasks[2]), ['10.0.0.6/24']);
});

test('two allocators over the same store plan the same; allocations survive a restart unchanged', () => {
  const svc = service('s', { networks: ['n'], ports: [{ TargetPort: 80, PublishMode: 'ingress' }] });
  const input: AllocatorInput = {
    networks: [ingress('ing'), network('n', 'n')],
    services: [svc],
    tasks: [task('t1', svc, { node: 'w1', state: 'assigned' }), task('t2', svc)],
    nodes: [node('w1'), node('w2')],
  };
  const a = planAllocations(input);
  const b = planAllocations(structuredClone(input));
  assert.deepEqual(a, b);
  const { state } = settle(input);
  // A fresh allocator on the settled store (a new leader, a restored snapshot) changes nothing.
  const again = planAllocations(structuredClone(state));
  assert.deepEqual([again.networks, again.services, again.tasks, again.problems], [[], [], [], []]);
});

test('published ports: ingress ports without a number come from 30000 up and stay across rounds; host ports are kept as given; a taken port is refused', () => {
  const a = service('a', { ports: [{ TargetPort: 80, PublishMode: 'ingress' }, { TargetPort: 81, PublishedPort: 30001, PublishMode: 'ingress' }] });
  const b = service('b', { ports: [{ TargetPort: 80, PublishMode: 'ingress' }, { TargetPort: 9000, PublishedPort: 9000, PublishMode: 'host', Protocol: 'udp' }] });
  const { state } = settle({ networks: [ingress('ing')], services: [a, b], tasks: [], nodes: [] });
  const pa = state.services[0]!.Endpoint!.Ports!;
  const pb = state.services[1]!.Endpoint!.Ports!;
  assert.deepEqual(pa.map((p) => p.PublishedPort), [30000, 30001]);
  assert.deepEqual(pb, [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30002, PublishMode: 'ingress' },
    { Protocol: 'udp', TargetPort: 9000, PublishedPort: 9000, PublishMode: 'host' },
  ]);
  // A spec change elsewhere keeps a's dynamic port.
  const a2 = { ...state.services[0]!, Spec: { ...state.services[0]!.Spec, Labels: { x: 'y' } } };
  const again = settle({ ...state, services: [a2, state.services[1]!] }).state;
  assert.equal(again.services[0]!.Endpoint!.Ports![0]!.PublishedPort, 30000);
  // c asks for 30002, which b got from the range: refused, b keeps it.
  const c = service('c', { ports: [{ TargetPort: 1, PublishedPort: 30002, PublishMode: 'ingress' }] });
  const plan = planAllocations({ ...again, services: [...again.services, c] });
  assert.deepEqual(plan.problems.map((p) => p.id), ['c']);
  assert.match(plan.problems[0]!.message, /port '30002' is already in use by service b/);
});

test('removing a service frees its VIPs and ports for the next one', () => {
  const a = service('a', { networks: ['n'], ports: [{ TargetPort: 80, PublishMode: 'ingress' }] });
  const { state } = settle({ networks: [ingress('ing'), network('n', 'n')], services: [a], tasks: [], nodes: [] });
  const b = service('b', { networks: ['n'], ports: [{ TargetPort: 80, PublishMode: 'ingress' }] });
  const after = settle({ ...state, services: [b] }).state;
  assert.equal(after.services[0]!.Endpoint!.Ports![0]!.PublishedPort, 30000);
  // The cursor-less search starts after the highest address in use, so the freed VIPs are the first free ones here.
  assert.deepEqual(after.services[0]!.Endpoint!.VirtualIPs!.map((v) => v.Addr), ['10.0.0.2/24', '10.0.1.2/24']);
});

test('nodes get an address on each network where they run tasks, on ingress everywhere once a port is published, and lose it when no longer needed', () => {
  const svc = service('s', { networks: ['n'] });
  const input: AllocatorInput = {
    networks: [ingress('ing'), network('n', 'n')],
    services: [svc],
    tasks: [task('t1', svc)],
    nodes: [node('w1'), node('w2')],
  };
  let { state } = settle(input);
  const ing = (s: AllocatorInput) => s.networks.find((n) => n.ID === 'ing')!.Internal.Allocation!.NodeAddresses;
  const net = (s: AllocatorInput) => s.networks.find((n) => n.ID === 'n')!.Internal.Allocation!.NodeAddresses;
  assert.deepEqual(net(state), {}, 'no node runs a task yet');
  assert.deepEqual(ing(state), {}, 'no port is published');
  // The scheduler places t1 on w2.
  state = { ...state, tasks: state.tasks.map((t) => ({ ...t, NodeID: 'w2', Status: { ...t.Status, State: 'assigned' as const } })) };
  ({ state } = settle(state));
  assert.deepEqual(Object.keys(net(state)), ['w2']);
  const taskAddrs = state.tasks.flatMap(addresses);
  assert.ok(!taskAddrs.includes(net(state)['w2']!), 'node and task addresses differ');
  // A service publishes a port: every node joins ingress.
  const pub = service('p', { ports: [{ TargetPort: 80, PublishMode: 'ingress' }] });
  ({ state } = settle({ ...state, services: [...state.services, pub] }));
  assert.deepEqual(Object.keys(ing(state)), ['w1', 'w2']);
  // w1 leaves the swarm, t1 completes: their addresses go.
  state = {
    ...state,
    nodes: [node('w2')],
    tasks: state.tasks.map((t) => ({ ...t, Status: { ...t.Status, State: 'complete' as const } })),
  };
  ({ state } = settle(state));
  assert.deepEqual(Object.keys(ing(state)), ['w2']);
  assert.deepEqual(net(state), {});
});

test('a service publishing ingress ports without an ingress network is reported; its tasks wait with the reason', () => {
  const svc = service('s', { ports: [{ TargetPort: 80, PublishMode: 'ingress' }] });
  const { state, plan } = settle({ networks: [], services: [svc], tasks: [task('t1', svc)], nodes: [] });
  assert.match(plan.problems[0]!.message, /no ingress network/);
  assert.match(state.tasks[0]!.Status.Err ?? '', /no ingress network/);
});

test('the scheduler waits only for tasks that join networks and have no addresses yet', () => {
  const onNet = service('a', { networks: ['n'] });
  const published = service('b', { ports: [{ TargetPort: 80 }] });
  const hostOnly = service('c', { ports: [{ TargetPort: 80, PublishedPort: 80, PublishMode: 'host' }] });
  const lookup = (id: string) => [onNet, published, hostOnly].find((s) => s.ID === id);
  assert.equal(awaitsNetworks(task('t1', onNet), lookup), true);
  assert.equal(awaitsNetworks(task('t2', published), lookup), true);
  assert.equal(awaitsNetworks(task('t3', hostOnly), lookup), false);
  const attached = task('t4', onNet, { attachments: [{ Network: { ID: 'n', Spec: { Name: 'n' } }, Addresses: ['10.0.0.3/24'] }] });
  assert.equal(awaitsNetworks(attached, lookup), false);
});
