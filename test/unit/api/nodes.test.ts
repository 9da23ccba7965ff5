import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import { NOT_IN_SWARM_MESSAGE } from '../../../manager/api/backend.js';
import { FakeBackend, makeNode } from './fake-backend.js';
import { harness, messageOf, postJson } from './helpers.js';

async function cluster(): Promise<ReturnType<typeof harness>> {
  const backend = new FakeBackend();
  await backend.init({});
  backend.nodes = [
    makeNode({ id: 'aaa111', hostname: 'mgr-1', role: 'manager', leader: true, labels: { zone: 'eu' } }),
    makeNode({ id: 'aab222', hostname: 'mgr-2', role: 'manager', labels: { zone: 'us' } }),
    makeNode({ id: 'bbb333', hostname: 'wrk-1', labels: { zone: 'eu', disk: 'ssd' }, engineLabels: { storage: 'ssd' } }),
  ];
  return harness({ backend });
}

function ids(body: unknown): string[] {
  return (body as Array<{ ID: string }>).map((n) => n.ID);
}

function list(h: ReturnType<typeof harness>, filters: unknown): Promise<LightMyRequestResponse> {
  return h.server.inject({ method: 'GET', url: '/v1.47/nodes', query: { filters: JSON.stringify(filters) } });
}

test('GET /nodes: every node, in Docker shape', async () => {
  const h = await cluster();
  const res = await h.server.inject({ method: 'GET', url: '/nodes' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  const nodes = res.json();
  assert.deepEqual(ids(nodes), ['aaa111', 'aab222', 'bbb333']);
  assert.equal(nodes[0].ManagerStatus.Leader, true);
  assert.equal(nodes[0].Description.Hostname, 'mgr-1');
});

test('GET /nodes outside a swarm: the backend 503', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/nodes' });
  assert.equal(res.statusCode, 503);
  assert.equal(messageOf(res), NOT_IN_SWARM_MESSAGE);
});

test('GET /nodes?filters in both of Docker JSON forms', async () => {
  const h = await cluster();
  assert.deepEqual(ids((await list(h, { role: ['manager'] })).json()), ['aaa111', 'aab222']);
  assert.deepEqual(ids((await list(h, { role: { worker: true } })).json()), ['bbb333']);
  assert.deepEqual(ids((await list(h, { id: ['aa'] })).json()), ['aaa111', 'aab222']);
  assert.deepEqual(ids((await list(h, { name: { 'wrk-': true } })).json()), ['bbb333']);
  assert.deepEqual(ids((await list(h, { 'node.label': ['zone=eu'] })).json()), ['aaa111', 'bbb333']);
  assert.deepEqual(ids((await list(h, { label: ['storage'] })).json()), ['bbb333']);
  assert.deepEqual(ids((await list(h, { role: ['manager'], 'node.label': ['zone=eu'] })).json()), ['aaa111']);
  assert.deepEqual(ids((await list(h, { membership: ['accepted'] })).json()).length, 3);
  assert.deepEqual(ids((await list(h, { membership: ['pending'] })).json()), []);
});

test('GET /nodes: unknown filter names and values are 400s, before the backend is asked', async () => {
  const h = await cluster();
  h.backend.calls.length = 0;
  const unknown = await list(h, { colour: ['blue'] });
  assert.equal(unknown.statusCode, 400);
  assert.equal(messageOf(unknown), "invalid filter 'colour'");
  const badRole = await list(h, { role: ['boss'] });
  assert.equal(badRole.statusCode, 400);
  assert.equal(messageOf(badRole), "Invalid role filter: 'boss'");
  const notJson = await h.server.inject({ method: 'GET', url: '/nodes?filters=role%3Dmanager' });
  assert.equal(notJson.statusCode, 400);
  assert.match(messageOf(notJson), /^invalid filter: /);
  assert.equal(h.backend.callsTo('listNodes').length, 0);
});

test('GET /nodes/{id}: by ID, prefix or hostname; 404 otherwise', async () => {
  const h = await cluster();
  for (const ref of ['bbb333', 'bbb', 'wrk-1']) {
    const res = await h.server.inject({ method: 'GET', url: `/nodes/${ref}` });
    assert.equal(res.statusCode, 200, ref);
    assert.equal(res.json().ID, 'bbb333');
  }
  const missing = await h.server.inject({ method: 'GET', url: '/v1.41/nodes/zzz' });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { message: 'node zzz not found' });
});

test('POST /nodes/{id}/update: the spec and version reach the backend', async () => {
  const h = await cluster();
  const spec = { Name: '', Labels: { zone: 'ap' }, Role: 'worker', Availability: 'drain' };
  const res = await postJson(h.server, '/nodes/bbb333/update?version=10', spec);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.body, '');
  assert.deepEqual(h.backend.callsTo('updateNode')[0]?.args, ['bbb333', 10, spec]);
  const node = (await h.server.inject({ method: 'GET', url: '/nodes/bbb333' })).json();
  assert.equal(node.Spec.Availability, 'drain');
  assert.equal(node.Version.Index, 11);
});

test('POST /nodes/{id}/update: a stale version is a 409 with the backend message', async () => {
  const h = await cluster();
  const res = await postJson(h.server, '/nodes/bbb333/update?version=3', { Role: 'worker', Availability: 'active' });
  assert.equal(res.statusCode, 409);
  assert.deepEqual(res.json(), { message: 'update out of sequence' });
});

test('POST /nodes/{id}/update: bad specs and versions are 400s naming the field', async () => {
  const h = await cluster();
  const cases: Array<[string, unknown, string]> = [
    ['/nodes/bbb333/update?version=10', { Role: 'boss', Availability: 'active' }, 'invalid JSON body: Role must be one of worker, manager'],
    ['/nodes/bbb333/update?version=10', { Role: 'worker' }, 'invalid JSON body: Availability is required'],
    ['/nodes/bbb333/update?version=10', { Role: 'worker', Availability: 'active', Labels: { zone: 5 } }, 'invalid JSON body: Labels.zone must be a string'],
    ['/nodes/bbb333/update?version=10', { Role: 'worker', Availability: 'active', Labels: { 'com.example/x': 5 } }, 'invalid JSON body: Labels["com.example/x"] must be a string'],
    ['/nodes/bbb333/update?version=10', { Role: 'worker', Availability: 'active', Name: 12 }, 'invalid JSON body: Name must be a string'],
    ['/nodes/bbb333/update?version=10', [1, 2], 'invalid JSON body: the body must be an object'],
    ['/nodes/bbb333/update', { Role: 'worker', Availability: 'active' }, `invalid node version '': strconv.ParseUint: parsing "": invalid syntax`],
    ['/nodes/bbb333/update?version=abc', { Role: 'worker', Availability: 'active' }, `invalid node version 'abc': strconv.ParseUint: parsing "abc": invalid syntax`],
    [
      '/nodes/bbb333/update?version=99999999999999999999',
      { Role: 'worker', Availability: 'active' },
      `invalid node version '99999999999999999999': strconv.ParseUint: parsing "99999999999999999999": value out of range`,
    ],
  ];
  for (const [url, body, message] of cases) {
    const res = await postJson(h.server, url, body);
    assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(body)}`);
    assert.equal(messageOf(res), message);
  }
  assert.equal(h.backend.callsTo('updateNode').length, 0);
});

test('DELETE /nodes/{id}: force is passed on; refusals keep their status', async () => {
  const h = await cluster();
  const refused = await h.server.inject({ method: 'DELETE', url: '/nodes/bbb333' });
  assert.equal(refused.statusCode, 409);
  assert.equal(messageOf(refused), "node bbb333 is not down and can't be removed");
  const removed = await h.server.inject({ method: 'DELETE', url: '/v1.41/nodes/bbb333?force=true' });
  assert.equal(removed.statusCode, 200);
  assert.deepEqual(
    h.backend.callsTo('removeNode').map((c) => c.args),
    [
      ['bbb333', false],
      ['bbb333', true],
    ],
  );
  assert.equal((await h.server.inject({ method: 'GET', url: '/nodes/bbb333' })).statusCode, 404);
});
