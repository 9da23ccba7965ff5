import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkApiVersion, compareApiVersions, requestApiVersion, splitVersionPrefix } from '../../../manager/api/version-prefix.js';
import { API_VERSION } from '../../../shared/version.js';
import { harness, messageOf } from './helpers.js';

test('splitVersionPrefix strips /vN.N and keeps the query string', () => {
  assert.deepEqual(splitVersionPrefix('/v1.47/nodes?filters=x'), { version: '1.47', path: '/nodes?filters=x' });
  assert.deepEqual(splitVersionPrefix('/nodes'), { version: undefined, path: '/nodes' });
  assert.deepEqual(splitVersionPrefix('/v1.47'), { version: undefined, path: '/v1.47' });
  assert.deepEqual(splitVersionPrefix('/vabc/nodes'), { version: undefined, path: '/vabc/nodes' });
  assert.deepEqual(splitVersionPrefix('/v2/_ping'), { version: '2', path: '/_ping' });
  assert.deepEqual(splitVersionPrefix('/nodes/v1.2/x'), { version: undefined, path: '/nodes/v1.2/x' });
});

test('compareApiVersions compares numerically, part by part', () => {
  assert.equal(compareApiVersions('1.9', '1.24'), -1);
  assert.equal(compareApiVersions('1.24', '1.24'), 0);
  assert.equal(compareApiVersions('1.56', '1.47'), 1);
  assert.equal(compareApiVersions('2', '1.99'), 1);
  assert.equal(compareApiVersions('1.24.0', '1.24'), 0);
});

test('checkApiVersion uses dockerd wording for both bounds', () => {
  assert.doesNotThrow(() => checkApiVersion('1.24'));
  assert.doesNotThrow(() => checkApiVersion(API_VERSION));
  assert.throws(() => checkApiVersion('1.99'), { status: 400, message: `client version 1.99 is too new. Maximum supported API version is ${API_VERSION}` });
  assert.throws(() => checkApiVersion('1.12'), {
    status: 400,
    message: 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
  });
});

test('requestApiVersion defaults to the newest version', () => {
  assert.equal(requestApiVersion('/v1.30/swarm/init'), '1.30');
  assert.equal(requestApiVersion('/swarm/init'), API_VERSION);
});

test('every route answers with and without a version prefix', async () => {
  const { server, backend } = harness();
  await backend.init({});
  for (const path of ['/_ping', '/version', '/info', '/swarm', '/nodes', '/nodes/node-self']) {
    for (const prefix of ['', '/v1.24', '/v1.47', `/v${API_VERSION}`]) {
      const res = await server.inject({ method: 'GET', url: prefix + path });
      assert.equal(res.statusCode, 200, `${prefix}${path}: ${res.body}`);
    }
  }
});

test('a version above the maximum is refused with 400, headers still set', async () => {
  const { server, backend } = harness();
  const res = await server.inject({ method: 'GET', url: '/v1.99/nodes' });
  assert.equal(res.statusCode, 400);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.headers['api-version'], API_VERSION);
  assert.equal(messageOf(res), `client version 1.99 is too new. Maximum supported API version is ${API_VERSION}`);
  assert.equal(backend.calls.length, 0, 'the backend is not asked');
});

test('a version below the minimum is refused with 400', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/v1.12/_ping' });
  assert.equal(res.statusCode, 400);
  assert.match(messageOf(res), /^client version 1\.12 is too old/);
});

test('a malformed prefix is an unknown page', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/vlatest/_ping' });
  assert.equal(res.statusCode, 404);
  assert.deepEqual(res.json(), { message: 'page not found' });
});
