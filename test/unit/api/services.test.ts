import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { NOT_IN_SWARM_MESSAGE } from '../../../manager/api/backend.js';
import type { ServiceSpec } from '../../../shared/model/index.js';
import { FakeBackend, makeNode, makeService, makeTask } from './fake-backend.js';
import { harness, messageOf, postJson, type Harness } from './helpers.js';

const web: ServiceSpec = {
  Name: 'web',
  Labels: { tier: 'front' },
  TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } },
  Mode: { Replicated: { Replicas: 3 } },
};

async function cluster(): Promise<Harness> {
  const backend = new FakeBackend();
  await backend.init({});
  backend.nodes.push(makeNode({ id: 'node2', hostname: 'wrk-1' }));
  backend.services = [
    makeService('aaa111', web),
    makeService('aab222', { Name: 'db', TaskTemplate: { ContainerSpec: { Image: 'postgres:16' } }, Mode: { Global: {} } }),
    makeService('bbb333', {
      Name: 'batch',
      Labels: { tier: 'back' },
      TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
      Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 10 } },
    }),
  ];
  backend.tasks = [
    makeTask({ id: 't1', serviceId: 'aaa111', slot: 1, nodeId: 'node-self' }),
    makeTask({ id: 't2', serviceId: 'aaa111', slot: 2, nodeId: 'node2', state: 'preparing' }),
    makeTask({ id: 't3', serviceId: 'aab222', nodeId: 'node2' }),
    makeTask({ id: 't4', serviceId: 'bbb333', slot: 1, nodeId: 'node2', state: 'complete', desired: 'complete' }),
  ];
  return harness({ backend });
}

function ids(res: LightMyRequestResponse): string[] {
  return (res.json() as Array<{ ID: string }>).map((s) => s.ID);
}

function list(h: Harness, filters: unknown, extra = ''): Promise<LightMyRequestResponse> {
  return h.server.inject({ method: 'GET', url: `/v1.47/services?filters=${encodeURIComponent(JSON.stringify(filters))}${extra}` });
}

test('POST /services/create: 201 with ID and Warnings; the spec reaches the backend', async () => {
  const h = await cluster();
  const spec = { Name: 'api', TaskTemplate: { ContainerSpec: { Image: 'nginx:2', Env: ['A=1'] } }, Mode: { Replicated: { Replicas: 2 } } };
  const res = await postJson(h.server, '/v1.47/services/create', spec);
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(res.json(), { ID: 'svc004', Warnings: [] });
  assert.deepEqual(h.backend.callsTo('createService')[0]?.args, [spec]);
});

test('POST /services/create: the docker CLI body (zero values, nulls, unknown fields) is accepted and trimmed', async () => {
  const h = await cluster();
  const body = {
    Name: 'cli',
    Labels: {},
    TaskTemplate: {
      ContainerSpec: {
        Image: 'nginx:1',
        Labels: null,
        Privileges: { NoNewPrivileges: false },
        Secrets: null,
        Isolation: '',
        DNSConfig: {},
      },
      Resources: { Limits: {}, Reservations: {} },
      Placement: {},
      RestartPolicy: { Condition: '' },
      ForceUpdate: 0,
    },
    Mode: { Replicated: {} },
    UpdateConfig: { Parallelism: 1, FailureAction: '', Order: '', MaxFailureRatio: 0 },
    EndpointSpec: { Mode: 'vip' },
  };
  const res = await postJson(h.server, '/services/create', body);
  assert.equal(res.statusCode, 201, res.body);
  const got = h.backend.callsTo('createService')[0]?.args[0] as ServiceSpec;
  assert.deepEqual(got.TaskTemplate.ContainerSpec, { Image: 'nginx:1', Isolation: '', DNSConfig: {} });
  assert.equal(got.UpdateConfig?.Order, '');
});

test('POST /services/create: wrong types and enum values are 400s naming the field, before the backend', async () => {
  const h = await cluster();
  const cases: Array<[unknown, string]> = [
    [{ Name: 5 }, 'invalid JSON body: Name must be a string'],
    [{ TaskTemplate: { ContainerSpec: { Image: ['x'] } } }, 'invalid JSON body: TaskTemplate.ContainerSpec.Image must be a string'],
    [{ Mode: { Replicated: { Replicas: -1 } } }, 'invalid JSON body: Mode.Replicated.Replicas must be >= 0'],
    [{ Mode: { Replicated: { Replicas: 1.5 } } }, 'invalid JSON body: Mode.Replicated.Replicas must be an integer'],
    [{ TaskTemplate: { RestartPolicy: { Condition: 'sometimes' } } }, 'invalid JSON body: TaskTemplate.RestartPolicy.Condition must be one of none, on-failure, any'],
    [{ UpdateConfig: { Order: 'random' } }, 'invalid JSON body: UpdateConfig.Order must be one of stop-first, start-first'],
    [{ EndpointSpec: { Ports: [{ TargetPort: -1 }] } }, 'invalid JSON body: EndpointSpec.Ports[0].TargetPort must be >= 0'],
    [{ Labels: { a: 1 } }, 'invalid JSON body: Labels.a must be a string'],
  ];
  for (const [body, message] of cases) {
    const res = await postJson(h.server, '/services/create', body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.equal(messageOf(res), message);
  }
  assert.equal(h.backend.callsTo('createService').length, 0);
});

test('POST /services/create: a name in use is the backend 409; outside a swarm 503', async () => {
  const h = await cluster();
  const res = await postJson(h.server, '/services/create', web);
  assert.equal(res.statusCode, 409);
  assert.match(messageOf(res), /^name conflicts with an existing object: service web already exists/);
  const none = harness();
  const out = await postJson(none.server, '/services/create', web);
  assert.equal(out.statusCode, 503);
  assert.equal(messageOf(out), NOT_IN_SWARM_MESSAGE);
});

test('GET /services: every service; filters id, name (prefixes), label, mode', async () => {
  const h = await cluster();
  const all = await h.server.inject({ method: 'GET', url: '/services' });
  assert.equal(all.statusCode, 200);
  assert.deepEqual(ids(all), ['aaa111', 'aab222', 'bbb333']);
  assert.deepEqual(ids(await list(h, { id: ['aa'] })), ['aaa111', 'aab222']);
  assert.deepEqual(ids(await list(h, { name: ['d'] })), ['aab222']);
  assert.deepEqual(ids(await list(h, { name: { we: true } })), ['aaa111']);
  assert.deepEqual(ids(await list(h, { label: ['tier'] })), ['aaa111', 'bbb333']);
  assert.deepEqual(ids(await list(h, { label: ['tier=back'] })), ['bbb333']);
  assert.deepEqual(ids(await list(h, { mode: ['global'] })), ['aab222']);
  assert.deepEqual(ids(await list(h, { mode: ['replicated-job', 'replicated'] })), ['aaa111', 'bbb333']);
  assert.deepEqual(ids(await list(h, { runtime: ['container'] })).length, 3);
});

test('GET /services: bad filters are 400s, before the backend is asked', async () => {
  const h = await cluster();
  h.backend.calls.length = 0;
  const unknown = await list(h, { colour: ['blue'] });
  assert.equal(unknown.statusCode, 400);
  assert.equal(messageOf(unknown), "invalid filter 'colour'");
  const mode = await list(h, { mode: ['sometimes'] });
  assert.equal(mode.statusCode, 400);
  assert.equal(messageOf(mode), "Invalid mode filter: 'sometimes'");
  assert.equal(h.backend.callsTo('listServices').length, 0);
});

test('GET /services?status=true: ServiceStatus per service (1.41 and later only)', async () => {
  const h = await cluster();
  const res = await h.server.inject({ method: 'GET', url: '/v1.47/services?status=true' });
  assert.equal(res.statusCode, 200);
  const byId = new Map((res.json() as Array<{ ID: string; ServiceStatus?: unknown }>).map((s) => [s.ID, s.ServiceStatus]));
  assert.deepEqual(byId.get('aaa111'), { RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 0 });
  assert.deepEqual(byId.get('aab222'), { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 });
  assert.deepEqual(byId.get('bbb333'), { RunningTasks: 0, DesiredTasks: 2, CompletedTasks: 1 });
  const old = await h.server.inject({ method: 'GET', url: '/v1.40/services?status=true' });
  assert.equal((old.json() as Array<{ ServiceStatus?: unknown }>)[0]?.ServiceStatus, undefined);
  assert.deepEqual(h.backend.callsTo('listServices').map((c) => c.args[0]), [{ status: true }, { status: false }]);
  const bad = await h.server.inject({ method: 'GET', url: '/services?status=maybe' });
  assert.equal(bad.statusCode, 400);
  assert.equal(messageOf(bad), 'invalid value for status: maybe');
});

test('GET /services/{id}: by ID, name or prefix; insertDefaults fills swarmkit defaults; 404 otherwise', async () => {
  const h = await cluster();
  for (const ref of ['aaa111', 'web', 'aaa']) {
    const res = await h.server.inject({ method: 'GET', url: `/services/${ref}` });
    assert.equal(res.statusCode, 200, ref);
    assert.equal(res.json().ID, 'aaa111');
    assert.equal(res.json().Spec.UpdateConfig, undefined);
  }
  const withDefaults = (await h.server.inject({ method: 'GET', url: '/services/web?insertDefaults=true' })).json();
  assert.deepEqual(withDefaults.Spec.UpdateConfig, { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' });
  assert.deepEqual(withDefaults.Spec.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 5e9, MaxAttempts: 0 });
  assert.equal(withDefaults.Spec.TaskTemplate.ContainerSpec.StopGracePeriod, 10e9);
  const ambiguous = await h.server.inject({ method: 'GET', url: '/services/aa' });
  assert.equal(ambiguous.statusCode, 400);
  assert.match(messageOf(ambiguous), /^service aa is ambiguous \(2 matches found\)/);
  const missing = await h.server.inject({ method: 'GET', url: '/services/nope' });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { message: 'service nope not found' });
});

test('POST /services/{id}/update: version and rollback reach the backend; the answer is ServiceUpdateResponse', async () => {
  const h = await cluster();
  const next = { ...web, Mode: { Replicated: { Replicas: 5 } } };
  const res = await postJson(h.server, '/v1.47/services/web/update?version=30', next);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { Warnings: [] });
  assert.deepEqual(h.backend.callsTo('updateService')[0]?.args, ['web', 30, next, { rollback: false, registryAuth: undefined, registryAuthFrom: 'spec', queryRegistry: false }]);
  const back = await h.server.inject({
    method: 'POST',
    url: '/services/aaa111/update?version=31&rollback=previous&registryAuthFrom=previous-spec',
    headers: { 'content-type': 'application/json', 'x-registry-auth': 'eyJ1c2VybmFtZSI6ImEifQ' },
    payload: JSON.stringify(next),
  });
  assert.equal(back.statusCode, 200, back.body);
  assert.deepEqual(h.backend.callsTo('updateService')[1]?.args.at(-1), { rollback: true, registryAuth: 'eyJ1c2VybmFtZSI6ImEifQ', registryAuthFrom: 'previous-spec', queryRegistry: false });
  const bad = await postJson(h.server, '/services/aaa111/update?version=31&registryAuthFrom=nope', next);
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /invalid registryAuthFrom nope/);
  assert.equal((await h.server.inject({ method: 'GET', url: '/services/web' })).json().Spec.Mode.Replicated.Replicas, 3);
});

test('POST /services/{id}/update: stale version 409; bad version and rollback 400', async () => {
  const h = await cluster();
  const stale = await postJson(h.server, '/services/web/update?version=3', web);
  assert.equal(stale.statusCode, 409);
  const cases: Array<[string, string]> = [
    ['/services/web/update', `invalid service version '': strconv.ParseUint: parsing "": invalid syntax`],
    ['/services/web/update?version=x', `invalid service version 'x': strconv.ParseUint: parsing "x": invalid syntax`],
    ['/services/web/update?version=30&rollback=next', 'unrecognized rollback option next (use rollback=previous)'],
  ];
  for (const [url, message] of cases) {
    const res = await postJson(h.server, url, web);
    assert.equal(res.statusCode, 400, url);
    assert.equal(messageOf(res), message);
  }
  const none = await postJson(h.server, '/services/web/update?version=30&rollback=none', web);
  assert.equal(none.statusCode, 200);
});

test('DELETE /services/{id}: 200 with an empty body, then 404', async () => {
  const h = await cluster();
  const res = await h.server.inject({ method: 'DELETE', url: '/v1.47/services/web' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '');
  const again = await h.server.inject({ method: 'DELETE', url: '/services/web' });
  assert.equal(again.statusCode, 404);
  assert.equal(messageOf(again), 'service web not found');
});
