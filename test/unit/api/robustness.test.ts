// Bad input and failing backends: every answer is Docker's ErrorResponse with a sensible
// status, and the server keeps serving afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ConflictError, ShoalError } from '../../../shared/errors.js';
import { API_VERSION } from '../../../shared/version.js';
import { harness, messageOf, postJson } from './helpers.js';

async function stillServing(server: FastifyInstance): Promise<void> {
  const res = await server.inject({ method: 'GET', url: '/_ping' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, 'OK');
}

function rawPost(server: FastifyInstance, url: string, payload: string, contentType = 'application/json'): Promise<LightMyRequestResponse> {
  return server.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });
}

test('unknown routes and methods: 404 page not found, as JSON', async () => {
  const { server } = harness();
  for (const [method, url] of [
    ['GET', '/containers/json'],
    ['GET', '/v1.47/nope'],
    ['PUT', '/nodes'],
    ['GET', '/info/'],
  ] as const) {
    const res = await server.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { message: 'page not found' });
  }
  await stillServing(server);
});

test('URLs the router cannot parse still get Docker headers and an ErrorResponse', async () => {
  const { server } = harness();
  const bad = await server.inject({ method: 'GET', url: '/nodes/%zz' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.headers['content-type'], 'application/json');
  assert.equal(bad.headers['api-version'], API_VERSION);
  assert.equal(messageOf(bad), "invalid URL: '/nodes/%zz' is not a valid url component");
  const long = await server.inject({ method: 'GET', url: `/nodes/${'a'.repeat(2000)}` });
  assert.equal(long.statusCode, 414);
  assert.match(messageOf(long), /^URL too long/);
  await stillServing(server);
});

test('malformed JSON: 400 invalid JSON', async () => {
  const { server } = harness();
  for (const payload of ['{"JoinToken": ', '{oops}', '{"a":1} trailing', '\u0000']) {
    const res = await rawPost(server, '/swarm/join', payload);
    assert.equal(res.statusCode, 400, payload);
    assert.match(messageOf(res), /^invalid JSON: /);
  }
  await stillServing(server);
});

test('a body that is not JSON: 400 with dockerd wording; an empty one is fine', async () => {
  const { server } = harness();
  const res = await rawPost(server, '/swarm/join', 'JoinToken=x', 'application/x-www-form-urlencoded');
  assert.equal(res.statusCode, 400);
  assert.equal(messageOf(res), "unsupported Content-Type header (application/x-www-form-urlencoded): must be 'application/json'");
  const bad = await rawPost(server, '/swarm/join', '{}', 'not a media type');
  assert.equal(bad.statusCode, 400);
  const empty = await rawPost(server, '/swarm/init', '', 'text/plain');
  assert.equal(empty.statusCode, 200, empty.body);
  const charset = await rawPost(server, '/swarm/join', JSON.stringify({ JoinToken: 't', RemoteAddrs: ['a:1'] }), 'application/json; charset=utf-8');
  assert.equal(charset.statusCode, 200, charset.body);
  await stillServing(server);
});

test('oversized bodies: 413 with the limit in the message', async () => {
  const { server } = harness({ bodyLimit: 1024 });
  const big = JSON.stringify({ JoinToken: 'x'.repeat(4096), RemoteAddrs: ['a:1'] });
  const res = await rawPost(server, '/swarm/join', big);
  assert.equal(res.statusCode, 413);
  assert.equal(messageOf(res), 'request body is too large: the limit is 1024 bytes');
  await stillServing(server);
});

test('the default limit is 1 MiB', async () => {
  const { server, backend } = harness();
  const payload = JSON.stringify({ JoinToken: 'x'.repeat(1024 * 1024), RemoteAddrs: ['a:1'] });
  const res = await rawPost(server, '/swarm/join', payload);
  assert.equal(res.statusCode, 413);
  assert.equal(backend.calls.length, 0);
  await stillServing(server);
});

test('deeply nested garbage: 4xx, never a crash', async () => {
  const { server, backend } = harness();
  // Deep enough to overflow a recursive walk, small enough to stay under the 1 MiB limit.
  const depth = 150_000;
  const arrays = '['.repeat(depth) + ']'.repeat(depth);
  const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  for (const payload of [
    arrays,
    `{"JoinToken":"t","RemoteAddrs":["a:1"],"Extra":${objects}}`,
    `{"Role":"worker","Availability":"active","Labels":{"x":${objects}}}`,
  ]) {
    const res = await rawPost(server, '/nodes/n1/update?version=1', payload);
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode}: ${res.body.slice(0, 200)}`);
    assert.equal(typeof messageOf(res), 'string');
  }
  // Moderately deep documents parse; the unknown field is stripped before the backend sees it.
  const shallow = '{"a":'.repeat(50) + '1' + '}'.repeat(50);
  const ok = await rawPost(server, '/swarm/join', `{"JoinToken":"t","RemoteAddrs":["a:1"],"Extra":${shallow}}`);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(backend.callsTo('join')[0]?.args[0], { JoinToken: 't', RemoteAddrs: ['a:1'] });
  await stillServing(server);
});

test('prototype pollution attempts are refused', async () => {
  const { server } = harness();
  const proto = await rawPost(server, '/swarm/join', '{"JoinToken":"t","RemoteAddrs":["a:1"],"__proto__":{"admin":true}}');
  assert.equal(proto.statusCode, 400);
  assert.match(messageOf(proto), /__proto__/);
  const ctor = await rawPost(server, '/swarm/join', '{"JoinToken":"t","RemoteAddrs":["a:1"],"constructor":{"prototype":{"x":1}}}');
  assert.equal(ctor.statusCode, 400);
  assert.equal(({} as Record<string, unknown>)['admin'], undefined);
});

test('wrong JSON types anywhere are 400s naming the field', async () => {
  const { server } = harness();
  const cases: Array<[string, unknown, string]> = [
    ['/swarm/join', { JoinToken: 5, RemoteAddrs: ['a'] }, 'invalid JSON body: JoinToken must be a string'],
    ['/swarm/join', { JoinToken: 't', RemoteAddrs: 'a:1' }, 'invalid JSON body: RemoteAddrs must be an array'],
    ['/swarm/join', 'just a string', 'invalid JSON body: the body must be an object'],
    ['/swarm/init', { Spec: { Dispatcher: { HeartbeatPeriod: 1.5 } } }, 'invalid JSON body: Spec.Dispatcher.HeartbeatPeriod must be an integer'],
    ['/swarm/init', { Spec: { CAConfig: { ExternalCAs: [{ Protocol: 'acme' }] } } }, 'invalid JSON body: Spec.CAConfig.ExternalCAs[0].Protocol must be one of cfssl'],
    ['/swarm/init', { DataPathPort: 5e9 }, 'invalid JSON body: DataPathPort must be <= 4294967295'],
    ['/swarm/init', { Spec: { Labels: ['a=b'] } }, 'invalid JSON body: Spec.Labels must be an object'],
  ];
  for (const [url, body, message] of cases) {
    const res = await postJson(server, url, body);
    assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(body)}: ${res.body}`);
    assert.equal(messageOf(res), message);
  }
  await stillServing(server);
});

test('backend ShoalErrors keep their status and message', async () => {
  const { server, backend, logs } = harness();
  backend.failNext = new ConflictError('name conflicts with an existing object');
  const res = await server.inject({ method: 'GET', url: '/nodes' });
  assert.equal(res.statusCode, 409);
  assert.deepEqual(res.json(), { message: 'name conflicts with an existing object' });
  backend.failNext = new ShoalError('wal_write', 'could not write the log', 500);
  const internal = await server.inject({ method: 'GET', url: '/swarm' });
  assert.equal(internal.statusCode, 500);
  assert.deepEqual(internal.json(), { message: 'could not write the log' });
  assert.equal(logs.filter((l) => l['level'] === 50).length, 1, 'only the 500 is logged as an error');
});

test('an unexpected backend Error is a 500 JSON reply, logged, and the server carries on', async () => {
  const { server, backend, logs } = harness();
  backend.failNext = new TypeError("Cannot read properties of undefined (reading 'Spec')");
  const res = await server.inject({ method: 'GET', url: '/v1.44/swarm' });
  assert.equal(res.statusCode, 500);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(res.json(), { message: "Cannot read properties of undefined (reading 'Spec')" });
  const logged = logs.find((l) => l['level'] === 50);
  assert.ok(logged, 'logged at error level');
  assert.match(JSON.stringify(logged), /TypeError/);

  backend.failNext = 'a bare string';
  const bare = await server.inject({ method: 'POST', url: '/swarm/leave' });
  assert.equal(bare.statusCode, 500);
  assert.equal(messageOf(bare), 'a bare string');
  await stillServing(server);
});
