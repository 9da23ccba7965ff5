import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, MIN_API_VERSION, VERSION } from '../../../shared/version.js';
import { harness } from './helpers.js';

test('GET /_ping: OK, the negotiation headers and no caching', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/_ping' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, 'OK');
  assert.equal(res.headers['api-version'], API_VERSION);
  assert.equal(res.headers['docker-experimental'], 'false');
  assert.equal(res.headers['ostype'], 'linux');
  assert.equal(res.headers['swarm'], 'inactive');
  assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
  assert.equal(res.headers['pragma'], 'no-cache');
  assert.match(String(res.headers['content-type']), /^text\/plain/);
});

test('HEAD /_ping: same headers, empty body', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'HEAD', url: '/_ping' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '');
  assert.equal(res.headers['api-version'], API_VERSION);
  assert.equal(res.headers['swarm'], 'inactive');
  assert.equal(res.headers['content-length'], '0');
});

test('/_ping Swarm header follows the node: active/manager, active/worker', async () => {
  const { server, backend } = harness();
  await backend.init({});
  assert.equal((await server.inject({ method: 'HEAD', url: '/v1.41/_ping' })).headers['swarm'], 'active/manager');
  backend.localRole = 'worker';
  assert.equal((await server.inject({ method: 'GET', url: '/_ping' })).headers['swarm'], 'active/worker');
});

test('/_ping still answers when the backend fails, saying Swarm: error', async () => {
  const { server, backend, logs } = harness();
  backend.failNext = new Error('store closed');
  const res = await server.inject({ method: 'GET', url: '/_ping' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['swarm'], 'error');
  assert.ok(logs.some((l) => l['level'] === 50));
});

test('HEAD is answered only on /_ping, like dockerd', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'HEAD', url: '/info' });
  assert.equal(res.statusCode, 404);
});

test('GET /version: SystemVersion with an Engine component', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/version' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  const v = res.json();
  assert.equal(v.Platform.Name, 'shoal');
  assert.equal(v.Version, VERSION);
  assert.equal(v.ApiVersion, API_VERSION);
  assert.equal(v.MinAPIVersion, MIN_API_VERSION);
  assert.equal(v.Os, 'linux');
  assert.equal(v.KernelVersion, '6.1.0-test');
  assert.equal(v.GitCommit, 'abc1234');
  assert.equal(v.BuildTime, '2024-05-01T10:00:00Z');
  assert.equal(v.GoVersion, process.version);
  assert.equal(typeof v.Arch, 'string');
  assert.notEqual(v.Arch, 'x64', 'Arch uses Go names (amd64)');
  assert.equal(v.Components.length, 1);
  assert.equal(v.Components[0].Name, 'Engine');
  assert.equal(v.Components[0].Version, VERSION);
  for (const value of Object.values(v.Components[0].Details)) assert.equal(typeof value, 'string');
});

test('GET /info: every field docker info prints, from the backend and the host', async () => {
  const { server } = harness();
  const res = await server.inject({ method: 'GET', url: '/v1.47/info' });
  assert.equal(res.statusCode, 200);
  const info = res.json();
  assert.equal(info.ID, '12D3KooWFakePeer');
  assert.equal(info.Name, 'host-1');
  assert.equal(info.ServerVersion, VERSION);
  assert.equal(info.OperatingSystem, 'Debian GNU/Linux 13 (trixie)');
  assert.equal(info.OSVersion, '13');
  assert.equal(info.OSType, 'linux');
  assert.equal(info.Architecture, 'x86_64');
  assert.equal(info.KernelVersion, '6.1.0-test');
  assert.equal(info.NCPU, 4);
  assert.equal(info.MemTotal, 8 * 1024 ** 3);
  assert.equal(info.DockerRootDir, '/var/lib/shoal');
  assert.deepEqual(info.Labels, ['zone=eu']);
  assert.equal(info.CgroupVersion, '2');
  assert.equal(info.Debug, false);
  assert.equal(info.Containers, 0);
  assert.equal(info.Images, 0);
  assert.ok(Array.isArray(info.Plugins.Volume) && Array.isArray(info.Plugins.Network) && Array.isArray(info.Plugins.Log));
  assert.deepEqual(Object.keys(info.Runtimes), ['runc']);
  assert.equal(info.DefaultRuntime, 'runc');
  assert.equal(info.IndexServerAddress, 'https://index.docker.io/v1/');
  assert.ok(!Number.isNaN(Date.parse(info.SystemTime)));
  assert.deepEqual(info.Swarm, { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
  for (const key of ['Driver', 'LoggingDriver', 'CgroupDriver', 'HttpProxy', 'HttpsProxy', 'NoProxy', 'InitBinary', 'Isolation']) {
    assert.equal(typeof info[key], 'string', key);
  }
  for (const key of ['ContainerdCommit', 'RuncCommit', 'InitCommit']) assert.equal(info[key].ID, '', key);
  assert.deepEqual(info.Warnings, []);
});

test('GET /info: the Swarm section comes from the backend, cluster included for managers', async () => {
  const { server, backend } = harness();
  await backend.init({});
  const info = (await server.inject({ method: 'GET', url: '/info' })).json();
  assert.equal(info.Swarm.LocalNodeState, 'active');
  assert.equal(info.Swarm.ControlAvailable, true);
  assert.equal(info.Swarm.Cluster.ID, 'swarm-1');
  assert.equal(info.Swarm.Cluster.JoinTokens, undefined);
  assert.equal(info.Swarm.Nodes, 1);
});

test('GET /info: a backend failure is a 500 with its message', async () => {
  const { server, backend } = harness();
  backend.failNext = new Error('raft store unavailable');
  const res = await server.inject({ method: 'GET', url: '/info' });
  assert.equal(res.statusCode, 500);
  assert.deepEqual(res.json(), { message: 'raft store unavailable' });
});
