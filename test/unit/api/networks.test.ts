// The /networks routes over a real NetworkControl (MemoryStore behind a
// perfect Raft), and how service create resolves network references.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocatorInput, planAllocations, planWrites } from '../../../manager/allocator/index.js';
import type { NetworkCreateResponse } from '../../../manager/api/backend.js';
import { NetworkControl, ServiceControl } from '../../../manager/control.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { ManualClock } from '../../../shared/clock.js';
import type { Network, NetworkCreateRequest, ServiceSpec } from '../../../shared/model/index.js';
import { FakeProposer } from '../store/fixtures.js';
import { FakeBackend } from './fake-backend.js';
import { harness, messageOf, postJson } from './helpers.js';

class NetworkBackend extends FakeBackend {
  constructor(readonly networks: NetworkControl) {
    super();
  }
  createNetwork(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    return this.networks.createNetwork(req);
  }
  listNetworks(): Promise<Network[]> {
    return this.networks.listNetworks();
  }
  inspectNetwork(ref: string): Promise<Network> {
    return this.networks.inspectNetwork(ref);
  }
  removeNetwork(ref: string): Promise<void> {
    return this.networks.removeNetwork(ref);
  }
}

function rig() {
  const memory = new MemoryStore();
  const clock = new ManualClock(Date.parse('2024-05-01T12:00:00Z'));
  const store = new ReplicatedStore(memory, new FakeProposer([memory]), clock);
  let n = 0;
  const networks = new NetworkControl(store, () => `net${++n}aaaaaaaaaaaaaaaaaaaaa`);
  let s = 0;
  const services = new ServiceControl(store, clock, () => `svc${++s}`, () => 0);
  const h = harness({ backend: new NetworkBackend(networks) });
  /** One allocator round, written as the loop writes it. */
  const allocate = async (): Promise<void> => {
    const plan = planAllocations(allocatorInput(memory));
    for (const chunk of planWrites(plan, 1000)) await store.update((t) => chunk.forEach((w) => w(t)));
  };
  return { memory, store, networks, services, server: h.server, allocate };
}

/** What `docker network create -d overlay --attachable n1` sends (Go's nil maps are null). */
const dockerCreate = {
  Name: 'n1',
  CheckDuplicate: true,
  Driver: 'overlay',
  Scope: '',
  EnableIPv6: null,
  IPAM: { Driver: 'default', Options: null, Config: [] },
  Internal: false,
  Attachable: true,
  Ingress: false,
  ConfigOnly: false,
  ConfigFrom: null,
  Options: null,
  Labels: { team: 'a' },
};

test('POST /networks/create answers 201 {Id, Warning}; list and inspect serve Docker\'s Network; a taken name is a 409', async () => {
  const r = rig();
  const res = await postJson(r.server, '/v1.47/networks/create', dockerCreate);
  assert.equal(res.statusCode, 201);
  assert.deepEqual(res.json(), { Id: 'net1aaaaaaaaaaaaaaaaaaaaa', Warning: '' });
  await r.allocate();
  const list = (await r.server.inject({ method: 'GET', url: '/networks' })).json() as Network[];
  assert.equal(list.length, 1);
  const n = list[0]!;
  assert.equal(n.Name, 'n1');
  assert.equal(n.Driver, 'overlay');
  assert.equal(n.Scope, 'swarm');
  assert.equal(n.Attachable, true);
  assert.equal(n.Ingress, false);
  assert.deepEqual(n.Labels, { team: 'a' });
  assert.deepEqual(n.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
  assert.equal(n.Options['com.docker.network.driver.overlay.vxlanid_list'], '4096');
  for (const ref of ['n1', 'net1aaaaaaaaaaaaaaaaaaaaa', 'net1a']) {
    const got = await r.server.inject({ method: 'GET', url: `/networks/${ref}` });
    assert.equal(got.statusCode, 200, ref);
    assert.equal((got.json() as Network).Id, 'net1aaaaaaaaaaaaaaaaaaaaa');
  }
  const missing = await r.server.inject({ method: 'GET', url: '/networks/nope' });
  assert.equal(missing.statusCode, 404);
  assert.equal(messageOf(missing), 'network nope not found');
  const dup = await postJson(r.server, '/networks/create', { Name: 'n1' });
  assert.equal(dup.statusCode, 409);
  assert.match(messageOf(dup), /^network with name n1 already exists/);
});

test('only overlay networks with one IPv4 subnet are accepted, each refusal saying what to send', async () => {
  const r = rig();
  const cases: Array<[NetworkCreateRequest | Record<string, unknown>, RegExp]> = [
    [{ Name: 'b', Driver: 'bridge' }, /network driver "bridge" is not supported.*-d overlay/],
    [{ Name: 'x', EnableIPv6: true }, /IPv6 is not supported/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.1.0.0/33' }] } }, /invalid subnet 10\.1\.0\.0\/33/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.2.0.1' }] } }, /does not contain gateway/],
    [{ Name: 'x', Ingress: true, Attachable: true }, /ingress network cannot be attachable/],
    [{ Name: 'x', Options: { 'com.docker.network.driver.mtu': 'big' } }, /com\.docker\.network\.driver\.mtu/],
    [{ Name: '' }, /network name must be provided/],
  ];
  for (const [body, want] of cases) {
    const res = await postJson(r.server, '/networks/create', body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.match(messageOf(res), want);
  }
  const a = await postJson(r.server, '/networks/create', { Name: 'a', IPAM: { Config: [{ Subnet: '10.5.0.0/16' }] } });
  assert.equal(a.statusCode, 201);
  const overlap = await postJson(r.server, '/networks/create', { Name: 'b', IPAM: { Config: [{ Subnet: '10.5.3.0/24' }] } });
  assert.equal(overlap.statusCode, 403);
  assert.match(messageOf(overlap), /Pool overlaps with other one on this address space/);
});

test('GET /networks filters by name, id, driver, label, scope and type; unknown filters are a 400', async () => {
  const r = rig();
  await postJson(r.server, '/networks/create', { Name: 'front', Labels: { tier: 'web' } });
  await postJson(r.server, '/networks/create', { Name: 'back' });
  const names = async (filters: Record<string, string[]>): Promise<string[]> => {
    const res = await r.server.inject({ method: 'GET', url: `/networks?filters=${encodeURIComponent(JSON.stringify(filters))}` });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as Network[]).map((n) => n.Name).sort();
  };
  assert.deepEqual(await names({ name: ['fro'] }), ['front']);
  assert.deepEqual(await names({ label: ['tier=web'] }), ['front']);
  assert.deepEqual(await names({ driver: ['overlay'], scope: ['swarm'] }), ['back', 'front']);
  assert.deepEqual(await names({ type: ['custom'] }), ['back', 'front']);
  assert.deepEqual(await names({ type: ['builtin'] }), []);
  assert.deepEqual(await names({ id: ['net2'] }), ['back']);
  const bad = await r.server.inject({ method: 'GET', url: `/networks?filters=${encodeURIComponent('{"color":["red"]}')}` });
  assert.equal(bad.statusCode, 400);
  assert.equal(messageOf(bad), "invalid filter 'color'");
});

test('services name networks by name or ID; unknown ones are a 404, the ingress network a 400; IDs are stored', async () => {
  const r = rig();
  await r.networks.createNetwork({ Name: 'n1' });
  await r.networks.createNetwork({ Name: 'ingress', Ingress: true });
  const spec = (target: string): ServiceSpec => ({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx' }, Networks: [{ Target: target }] } });
  await assert.rejects(r.services.createService(spec('nope')), { status: 404, message: 'network nope not found' });
  await assert.rejects(r.services.createService(spec('ingress')), { status: 400, message: /cannot be explicitly attached to the ingress network/ });
  const { ID } = await r.services.createService(spec('n1'));
  assert.deepEqual(r.memory.get('services', ID)!.Spec.TaskTemplate.Networks, [{ Target: 'net1aaaaaaaaaaaaaaaaaaaaa' }]);
  // The deprecated ServiceSpec.Networks moves into the task template.
  const old = await r.services.createService({ Name: 'old', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, Networks: [{ Target: 'n1' }] });
  const stored = r.memory.get('services', old.ID)!.Spec;
  assert.equal(stored.Networks, undefined);
  assert.deepEqual(stored.TaskTemplate.Networks, [{ Target: 'net1aaaaaaaaaaaaaaaaaaaaa' }]);
  await assert.rejects(
    r.services.createService({ Name: 'rr', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, EndpointSpec: { Mode: 'dnsrr', Ports: [{ TargetPort: 80 }] } }),
    { status: 400, message: /port published with ingress mode can't be used with dnsrr mode/ },
  );
});

test('a published port the allocator gave another service is refused at create', async () => {
  const r = rig();
  await r.networks.createNetwork({ Name: 'ingress', Ingress: true });
  await r.services.createService({ Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, EndpointSpec: { Ports: [{ TargetPort: 80 }] } });
  await r.allocate();
  await r.allocate();
  await assert.rejects(
    r.services.createService({ Name: 'b', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 30000 }] } }),
    { status: 400, message: /port '30000' is already in use by service 'a'/ },
  );
});

test('DELETE /networks/{id} is refused while a service uses the network (ingress: while one publishes ports), then answers 204', async () => {
  const r = rig();
  const { Id } = await r.networks.createNetwork({ Name: 'n1' });
  const ing = await r.networks.createNetwork({ Name: 'ingress', Ingress: true });
  const svc = await r.services.createService({
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: 'nginx' }, Networks: [{ Target: 'n1' }] },
    EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
  });
  const busy = await r.server.inject({ method: 'DELETE', url: '/networks/n1' });
  assert.equal(busy.statusCode, 400);
  assert.match(messageOf(busy), new RegExp(`^network ${Id} is in use by service ${svc.ID}`));
  const ingBusy = await r.server.inject({ method: 'DELETE', url: '/networks/ingress' });
  assert.equal(ingBusy.statusCode, 400);
  assert.match(messageOf(ingBusy), new RegExp(`^ingress network cannot be removed because service ${svc.ID} depends on it`));
  await r.services.removeService('web');
  const ok = await r.server.inject({ method: 'DELETE', url: '/networks/n1' });
  assert.equal(ok.statusCode, 204);
  assert.equal((await r.server.inject({ method: 'DELETE', url: `/networks/${ing.Id}` })).statusCode, 204);
  assert.equal(r.memory.count('networks'), 0);
  assert.equal((await r.server.inject({ method: 'DELETE', url: '/networks/n1' })).statusCode, 404);
});

test('without network support in the backend the routes answer 501', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/networks' });
  assert.equal(res.statusCode, 501);
});
