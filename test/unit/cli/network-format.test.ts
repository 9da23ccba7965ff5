import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildNetworkCreate, formatNetworkIds, formatNetworkTable } from '../../../cli/format/network.js';
import { buildCreateSpec, buildUpdateSpec, FlagError, parsePublish } from '../../../cli/format/service-spec.js';
import type { Network, ServiceSpec } from '../../../shared/model/index.js';

function net(id: string, name: string): Network {
  return {
    Name: name,
    Id: id,
    Created: '2024-05-01T10:00:00Z',
    Scope: 'swarm',
    Driver: 'overlay',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

test('network ls prints docker\'s table, sorted by name, IDs cut to 12 unless --no-trunc', () => {
  const list = [net('zzzzzzzzzzzzzzzzzzzzzzzzz', 'web'), net('abcdefghijklmnopqrstuvwxy', 'ingress')];
  assert.equal(
    formatNetworkTable(list),
    'NETWORK ID     NAME      DRIVER    SCOPE\nabcdefghijkl   ingress   overlay   swarm\nzzzzzzzzzzzz   web       overlay   swarm\n',
  );
  assert.equal(formatNetworkIds(list, false), 'abcdefghijklmnopqrstuvwxy\nzzzzzzzzzzzzzzzzzzzzzzzzz\n');
});

test('network create flags become docker\'s request', () => {
  assert.deepEqual(
    buildNetworkCreate('n1', { driver: 'overlay', attachable: true, subnet: ['10.10.0.0/24'], gateway: ['10.10.0.254'], label: ['a=b'], opt: ['com.docker.network.driver.mtu=1400'] }),
    {
      Name: 'n1',
      Driver: 'overlay',
      Attachable: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.10.0.0/24', Gateway: '10.10.0.254' }], Options: {} },
      Options: { 'com.docker.network.driver.mtu': '1400' },
      Labels: { a: 'b' },
    },
  );
  assert.throws(() => buildNetworkCreate('n', { gateway: ['10.0.0.1'] }), /needs a --subnet/);
});

test('--publish reads docker\'s short and long forms', () => {
  assert.deepEqual(parsePublish('8080:80'), { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' });
  assert.deepEqual(parsePublish('53:53/udp'), { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' });
  assert.deepEqual(parsePublish('80'), { Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' });
  assert.deepEqual(parsePublish('published=8080,target=80,mode=host'), { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' });
  assert.throws(() => parsePublish('mode=host'), /missing mandatory field "target"/);
  assert.throws(() => parsePublish('1.2.3.4:80:80'), /hostip is not supported/);
  assert.throws(() => parsePublish('80-81:80-81'), /port ranges are not supported/);
  assert.throws(() => parsePublish('70000:80'), /invalid port "70000"/);
  assert.throws(() => parsePublish('target=80,mode=bridge'), /invalid publish mode value \(bridge\)/);
});

test('service create: --network, -p and --endpoint-mode fill TaskTemplate.Networks and EndpointSpec', () => {
  const spec = buildCreateSpec('nginx', [], { network: ['n1', 'n2'], publish: [parsePublish('8080:80')], endpointMode: 'vip' });
  assert.deepEqual(spec.TaskTemplate.Networks, [{ Target: 'n1' }, { Target: 'n2' }]);
  assert.deepEqual(spec.EndpointSpec, { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] });
  assert.equal(buildCreateSpec('nginx', [], {}).EndpointSpec, undefined);
});

test('service update: --network-add/--network-rm and --publish-add/--publish-rm change only what they name', () => {
  const current: ServiceSpec = {
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: 'nginx' }, Networks: [{ Target: 'id-a' }, { Target: 'id-b' }] },
    EndpointSpec: { Mode: 'vip', Ports: [parsePublish('8080:80'), parsePublish('9090:90')] },
  };
  const next = buildUpdateSpec(current, {
    networkRm: [{ ref: 'a', id: 'id-a' }],
    networkAdd: ['c'],
    publishRm: [parsePublish('80')],
    publishAdd: [parsePublish('9090:91'), parsePublish('7070:70/udp')],
  });
  assert.deepEqual(next.TaskTemplate.Networks, [{ Target: 'id-b' }, { Target: 'c' }]);
  assert.deepEqual(next.EndpointSpec?.Ports, [parsePublish('9090:91'), parsePublish('7070:70/udp')]);
  assert.throws(() => buildUpdateSpec(current, { networkRm: [{ ref: 'zzz' }] }), (e: unknown) => e instanceof FlagError && /not attached to network zzz/.test(e.message));
  assert.throws(() => buildUpdateSpec(current, { networkAdd: ['id-b'] }), /already attached to network id-b/);
  // Leaving every network drops the field.
  const none = buildUpdateSpec(current, { networkRm: [{ ref: 'id-a' }, { ref: 'id-b' }] });
  assert.equal(none.TaskTemplate.Networks, undefined);
  assert.deepEqual(buildUpdateSpec(current, { endpointMode: 'dnsrr' }).EndpointSpec?.Mode, 'dnsrr');
});
