// What the dispatcher tells each node of its overlay networks: the networks
// it has an address on, every endpoint on other nodes, the services with
// their VIPs and the backends that may take traffic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkStateBuilder } from '../../../manager/dispatcher/network-state.js';
import type { NetworkRecord, NodeRecord, ServiceRecord, TaskRecord, TaskState } from '../../../shared/model/index.js';
import { macForIp, parseNetworksMessage } from '../../../shared/protocol/network-state.js';

const meta = { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' };

function network(id: string, name: string, vni: number, subnet: string, nodes: Record<string, string>, ingress = false): NetworkRecord {
  return {
    ID: id,
    ...meta,
    Spec: { Name: name, Labels: {}, Driver: 'overlay', Options: {}, Internal: false, Attachable: false, Ingress: ingress, IPAM: { Driver: 'default', Config: [], Options: {} } },
    Internal: { Allocation: { VNI: vni, Subnet: subnet, Gateway: subnet.replace(/0\/24$/, '1'), MTU: 1450, NodeAddresses: nodes } },
  };
}

function node(id: string, addr: string): NodeRecord {
  return { ID: id, ...meta, Status: { State: 'ready', Addr: addr } } as unknown as NodeRecord;
}

function service(id: string, name: string, nets: string[], extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    ID: id,
    ...meta,
    Spec: { Name: name, TaskTemplate: { ContainerSpec: { Image: 'x' }, Networks: nets.map((Target) => ({ Target })) } },
    Internal: { SpecVersion: 1 },
    ...extra,
  } as ServiceRecord;
}

function task(id: string, svc: string, nodeId: string, slot: number, addrs: Array<[string, string]>, state: TaskState = 'running', health?: 'healthy' | 'unhealthy' | 'starting'): TaskRecord {
  return {
    ID: id,
    ...meta,
    ServiceID: svc,
    NodeID: nodeId,
    Slot: slot,
    Spec: { ContainerSpec: { Image: 'x' } },
    Status: { Timestamp: '', State: state, Message: '' },
    DesiredState: 'running',
    NetworksAttachments: addrs.map(([net, a]) => ({ Network: { ID: net, Spec: { Name: net } }, Addresses: [a] })),
    Internal: { SpecVersion: 1, ...(health !== undefined ? { Health: health } : {}) },
  };
}

test('each node hears of its own networks only, with every endpoint elsewhere and the services\' backends', () => {
  const b = new NetworkStateBuilder({
    networks: [
      network('n1', 'front', 4097, '10.0.1.0/24', { A: '10.0.1.250/24', B: '10.0.1.251/24', C: '10.0.1.252/24' }),
      network('n2', 'back', 4098, '10.0.2.0/24', { A: '10.0.2.250/24' }),
    ],
    services: [
      service('s1', 'web', ['n1'], { Endpoint: { VirtualIPs: [{ NetworkID: 'n1', Addr: '10.0.1.2/24' }] } }),
      service('s2', 'client', ['n1'], { Spec: { Name: 'client', TaskTemplate: { Networks: [{ Target: 'n1' }] }, EndpointSpec: { Mode: 'dnsrr' } } }),
    ],
    tasks: [
      task('t1', 's1', 'A', 1, [['n1', '10.0.1.3/24']]),
      task('t2', 's1', 'B', 2, [['n1', '10.0.1.4/24']]),
      task('t3', 's1', 'B', 3, [['n1', '10.0.1.5/24']], 'running', 'unhealthy'),
      task('t4', 's2', 'C', 1, [['n1', '10.0.1.6/24']], 'starting'),
      task('t5', 's1', 'C', 4, [['n1', '10.0.1.7/24']], 'failed'),
    ],
    nodes: [node('A', '192.168.50.1'), node('B', '192.168.50.2'), node('C', '192.168.50.3')],
    dataPathPort: 4789,
  });
  const forC = b.forNode('C');
  assert.deepEqual(forC.networks.map((n) => n.name), ['front'], 'C has no address on back');
  const front = forC.networks[0]!;
  assert.equal(front.nodeAddress, '10.0.1.252/24');
  assert.deepEqual(
    front.peers.map((p) => [p.ip, p.underlay, p.taskId ?? 'node']),
    [
      ['10.0.1.250', '192.168.50.1', 'node'],
      ['10.0.1.251', '192.168.50.2', 'node'],
      ['10.0.1.3', '192.168.50.1', 't1'],
      ['10.0.1.4', '192.168.50.2', 't2'],
      ['10.0.1.5', '192.168.50.2', 't3'],
    ],
    'every live endpoint on A and B (an unhealthy task still has its address); none of C\'s own; no ended task',
  );
  assert.equal(front.peers[0]!.mac, macForIp('10.0.1.250'));
  const web = front.services.find((s) => s.name === 'web')!;
  assert.equal(web.vip, '10.0.1.2');
  assert.deepEqual(web.backends.map((x) => x.ip), ['10.0.1.3', '10.0.1.4'], 'only running and not unhealthy tasks take traffic');
  const client = front.services.find((s) => s.name === 'client')!;
  assert.equal(client.endpointMode, 'dnsrr');
  assert.equal(client.vip, undefined);
  assert.deepEqual(client.backends, [], 'a task still starting takes no traffic');
  assert.deepEqual(b.forNode('A').networks.map((n) => n.name), ['front', 'back']);
  assert.deepEqual(b.forNode('Z').networks, [], 'a node without addresses hears of none');
  // What goes on the wire passes the receiver's checks unchanged.
  assert.deepEqual(parseNetworksMessage(JSON.parse(JSON.stringify(forC))), forC);
});

test('the ingress network carries the published ports of the services that publish them', () => {
  const b = new NetworkStateBuilder({
    networks: [network('ing', 'ingress', 4096, '10.0.0.0/24', { A: '10.0.0.250/24' }, true)],
    services: [
      service('s1', 'web', [], {
        Endpoint: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'ingress' }], VirtualIPs: [{ NetworkID: 'ing', Addr: '10.0.0.2/24' }] },
      }),
      service('s2', 'quiet', []),
    ],
    tasks: [task('t1', 's1', 'A', 1, [['ing', '10.0.0.3/24']])],
    nodes: [node('A', '192.168.50.1')],
    dataPathPort: 4790,
  });
  const msg = b.forNode('A');
  assert.equal(msg.dataPathPort, 4790);
  const ing = msg.networks[0]!;
  assert.equal(ing.ingress, true);
  assert.deepEqual(ing.services.map((s) => s.name), ['web'], 'a service that publishes nothing is not on ingress');
  assert.deepEqual(ing.services[0]!.ports, [{ protocol: 'tcp', targetPort: 80, publishedPort: 30001, publishMode: 'ingress' }]);
  assert.deepEqual(ing.services[0]!.backends.map((x) => x.ip), ['10.0.0.3']);
});

test('host-mode ports are listed on every network the service is on; ingress-mode ones only on ingress', () => {
  const ports = [
    { Protocol: 'tcp' as const, TargetPort: 80, PublishedPort: 8081, PublishMode: 'host' as const },
    { Protocol: 'udp' as const, TargetPort: 53, PublishedPort: 30053, PublishMode: 'ingress' as const },
  ];
  const b = new NetworkStateBuilder({
    networks: [
      network('ing', 'ingress', 4096, '10.0.0.0/24', { A: '10.0.0.250/24' }, true),
      network('n1', 'front', 4097, '10.0.1.0/24', { A: '10.0.1.250/24' }),
    ],
    services: [
      service('s1', 'web', ['n1'], { Endpoint: { Ports: ports, VirtualIPs: [{ NetworkID: 'ing', Addr: '10.0.0.2/24' }, { NetworkID: 'n1', Addr: '10.0.1.2/24' }] } }),
      service('s2', 'pinned', ['n1'], { Endpoint: { Ports: [ports[0]!] } }),
    ],
    tasks: [task('t1', 's1', 'A', 1, [['ing', '10.0.0.3/24'], ['n1', '10.0.1.3/24']]), task('t2', 's2', 'A', 1, [['n1', '10.0.1.4/24']])],
    nodes: [node('A', '192.168.50.1')],
    dataPathPort: 4789,
  });
  const msg = b.forNode('A');
  const [ing, front] = msg.networks;
  const host = { protocol: 'tcp', targetPort: 80, publishedPort: 8081, publishMode: 'host' };
  assert.deepEqual(front!.services.map((s) => [s.name, s.ports]), [['pinned', [host]], ['web', [host]]]);
  assert.deepEqual(ing!.services.map((s) => [s.name, s.ports]), [['web', [host, { protocol: 'udp', targetPort: 53, publishedPort: 30053, publishMode: 'ingress' }]]], 'a host-mode-only service is not on ingress');
  assert.deepEqual(parseNetworksMessage(JSON.parse(JSON.stringify(msg))), msg);
});

test('a malformed networks message is refused with what was wrong', () => {
  assert.throws(() => parseNetworksMessage({ dataPathPort: 4789, networks: [{ id: 'x' }] }), /invalid networks message: networks\[0\]\.name/);
  assert.throws(() => parseNetworksMessage({ dataPathPort: 0, networks: [] }), /dataPathPort/);
});
