import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOT_IN_SWARM_MESSAGE } from '../../../manager/api/backend.js';
import { initRequestForVersion } from '../../../manager/api/routes/swarm.js';
import { harness, messageOf, postJson } from './helpers.js';

// What `docker swarm init` sends (docker CLI 26): Go zero values and nulls included.
const DOCKER_CLI_INIT = {
  ListenAddr: '0.0.0.0:2377',
  AdvertiseAddr: '',
  DataPathAddr: '',
  DataPathPort: 0,
  ForceNewCluster: false,
  Spec: {
    Labels: null,
    Orchestration: {},
    Raft: { ElectionTick: 0, HeartbeatTick: 0 },
    Dispatcher: {},
    CAConfig: { ExternalCAs: null },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  },
  AutoLockManagers: false,
  // Go's zero value: the CLI sends it when --availability is not given.
  Availability: '',
  DefaultAddrPool: null,
  SubnetSize: 0,
};

test('POST /swarm/init: 200 with the node ID as a JSON string', async () => {
  const { server, backend } = harness();
  const res = await postJson(server, '/v1.45/swarm/init', DOCKER_CLI_INIT);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.json(), 'node-self');
  const [call] = backend.callsTo('init');
  const req = call?.args[0] as Record<string, unknown>;
  assert.equal(req['ListenAddr'], '0.0.0.0:2377');
  assert.equal('Availability' in req, false, 'an empty Availability means the default');
  assert.equal('DefaultAddrPool' in req, false, 'null means absent');
  assert.deepEqual((req['Spec'] as Record<string, unknown>)['CAConfig'], {});
});

test('POST /swarm/init twice: the backend 503 passes through', async () => {
  const { server } = harness();
  assert.equal((await postJson(server, '/swarm/init', {})).statusCode, 200);
  const res = await postJson(server, '/swarm/init', {});
  assert.equal(res.statusCode, 503);
  assert.match(messageOf(res), /already part of a swarm/);
});

test('POST /swarm/init with no body at all is an empty request', async () => {
  const { server, backend } = harness();
  const res = await server.inject({ method: 'POST', url: '/swarm/init' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(backend.callsTo('init')[0]?.args[0], {});
});

test('POST /swarm/init: unknown fields are dropped, known ones type-checked', async () => {
  const { server, backend } = harness();
  const ok = await postJson(server, '/swarm/init', { ListenAddr: '0.0.0.0:2377', FutureField: { x: 1 }, Spec: { Raft: { Future: true } } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(backend.callsTo('init')[0]?.args[0], { ListenAddr: '0.0.0.0:2377', Spec: { Raft: {} } });

  const { server: s2 } = harness();
  const bad = await postJson(s2, '/swarm/init', { Spec: { Raft: { SnapshotInterval: -1 } } });
  assert.equal(bad.statusCode, 400);
  assert.equal(messageOf(bad), 'invalid JSON body: Spec.Raft.SnapshotInterval must be >= 0');
  const badType = await postJson(s2, '/swarm/init', { ForceNewCluster: 'yes' });
  assert.equal(messageOf(badType), 'invalid JSON body: ForceNewCluster must be a boolean (true or false)');
});

test('init fields newer than the client API version are ignored, as dockerd does', () => {
  const req = { ListenAddr: 'x', DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24, DataPathPort: 4789 };
  assert.deepEqual(initRequestForVersion(req, '1.38'), { ListenAddr: 'x' });
  assert.deepEqual(initRequestForVersion(req, '1.39'), { ListenAddr: 'x', DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 });
  assert.deepEqual(initRequestForVersion(req, '1.40'), req);
});

test('POST /v1.38/swarm/init drops DataPathPort and the address pool', async () => {
  const { server, backend } = harness();
  await postJson(server, '/v1.38/swarm/init', { DataPathPort: 5000, DefaultAddrPool: ['10.1.0.0/16'], SubnetSize: 26 });
  assert.deepEqual(backend.callsTo('init')[0]?.args[0], {});
});

test('POST /swarm/join passes the request through; token and managers are required', async () => {
  const { server, backend } = harness();
  const body = { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '', DataPathAddr: '', RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'SWMTKN-1-x-y', Availability: 'drain' };
  const res = await postJson(server, '/swarm/join', body);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.body, '');
  assert.deepEqual(backend.callsTo('join')[0]?.args[0], body);

  const cliDefault = await postJson(server, '/swarm/join', { ...body, Availability: '' });
  assert.equal(cliDefault.statusCode, 200, cliDefault.body);
  assert.equal('Availability' in (backend.callsTo('join')[1]?.args[0] as object), false);

  const noToken = await postJson(server, '/swarm/join', { RemoteAddrs: ['a:1'] });
  assert.equal(noToken.statusCode, 400);
  assert.equal(messageOf(noToken), 'invalid JSON body: JoinToken is required');
  const noManagers = await postJson(server, '/swarm/join', { JoinToken: 't', RemoteAddrs: [] });
  assert.equal(messageOf(noManagers), 'invalid JSON body: RemoteAddrs must have at least 1 item(s)');
  const badAddr = await postJson(server, '/swarm/join', { JoinToken: 't', RemoteAddrs: ['a:1', 7] });
  assert.equal(messageOf(badAddr), 'invalid JSON body: RemoteAddrs[1] must be a string');
  const badAvailability = await postJson(server, '/swarm/join', { JoinToken: 't', RemoteAddrs: ['a:1'], Availability: 'gone' });
  assert.equal(messageOf(badAvailability), 'invalid JSON body: Availability must be one of active, pause, drain');
  assert.equal(backend.callsTo('join').length, 2);
});

test('POST /swarm/leave: force is read like dockerd (anything but false-ish is true)', async () => {
  const { server, backend } = harness();
  // The docker CLI labels its empty body text/plain.
  const notInSwarm = await server.inject({ method: 'POST', url: '/swarm/leave', headers: { 'content-type': 'text/plain' } });
  assert.equal(notInSwarm.statusCode, 503);
  assert.equal(messageOf(notInSwarm), NOT_IN_SWARM_MESSAGE);

  await backend.init({});
  const refused = await server.inject({ method: 'POST', url: '/swarm/leave?force=false' });
  assert.equal(refused.statusCode, 503);
  const left = await server.inject({ method: 'POST', url: '/v1.41/swarm/leave?force=1' });
  assert.equal(left.statusCode, 200);
  assert.deepEqual(
    backend.callsTo('leave').map((c) => c.args[0]),
    [false, false, true],
  );
});

test('GET /swarm: the swarm with its join tokens, or 503 outside a swarm', async () => {
  const { server, backend } = harness();
  const outside = await server.inject({ method: 'GET', url: '/swarm' });
  assert.equal(outside.statusCode, 503);
  assert.equal(messageOf(outside), NOT_IN_SWARM_MESSAGE);
  await backend.init({});
  const res = await server.inject({ method: 'GET', url: '/swarm' });
  assert.equal(res.statusCode, 200);
  const swarm = res.json();
  assert.equal(swarm.ID, 'swarm-1');
  assert.equal(swarm.Version.Index, 1);
  assert.equal(swarm.JoinTokens.Worker, 'SWMTKN-1-abc-worker');
});

test('POST /swarm/update: version and rotate flags reach the backend', async () => {
  const { server, backend } = harness();
  await backend.init({});
  const spec = { Name: 'default', Labels: { a: 'b' }, Raft: { SnapshotInterval: 10000 } };
  const res = await postJson(server, '/swarm/update?version=1&rotateWorkerToken=true&rotateManagerToken=0', spec);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(backend.callsTo('updateSwarm')[0]?.args, [
    1,
    spec,
    { rotateWorkerToken: true, rotateManagerToken: false, rotateManagerUnlockKey: false },
  ]);
});

test('POST /swarm/update: a stale version is the backend 409', async () => {
  const { server, backend } = harness();
  await backend.init({});
  const res = await postJson(server, '/swarm/update?version=7', { Name: 'default' });
  assert.equal(res.statusCode, 409);
  assert.deepEqual(res.json(), { message: 'update out of sequence' });
});

test('POST /swarm/update: missing or bad version and flags get dockerd messages', async () => {
  const { server, backend } = harness();
  await backend.init({});
  const missing = await postJson(server, '/swarm/update', { Name: 'default' });
  assert.equal(missing.statusCode, 400);
  assert.equal(messageOf(missing), `invalid swarm version '': strconv.ParseUint: parsing "": invalid syntax`);
  const negative = await postJson(server, '/swarm/update?version=-1', { Name: 'default' });
  assert.equal(messageOf(negative), `invalid swarm version '-1': strconv.ParseUint: parsing "-1": invalid syntax`);
  const flag = await postJson(server, '/swarm/update?version=1&rotateManagerUnlockKey=maybe', { Name: 'default' });
  assert.equal(flag.statusCode, 400);
  assert.equal(messageOf(flag), 'invalid value for rotateManagerUnlockKey: maybe');
  const noName = await postJson(server, '/swarm/update?version=1', {});
  assert.equal(messageOf(noName), 'invalid JSON body: Name is required');
  const repeated = await postJson(server, '/swarm/update?version=1&version=2', { Name: 'default' });
  assert.equal(messageOf(repeated), 'invalid query parameter: version must be a string');
  assert.equal(backend.callsTo('updateSwarm').length, 0);
});
