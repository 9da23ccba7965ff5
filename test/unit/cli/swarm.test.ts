// `shoal swarm ...` against a fake daemon: the requests sent and the text printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Swarm } from '../../../shared/model/index.js';
import { FakeDaemon, makeNode, shoal, type Route } from './fake-daemon.js';

const NODE_ID = 'n0d3aaaaaaaaaaaaaaaaaaaa1';
const self = makeNode(NODE_ID, 'node-1', {
  Spec: { Role: 'manager', Availability: 'active' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' },
});

function swarmObject(worker = 'SWMTKN-1-fp-worker', manager = 'SWMTKN-1-fp-manager'): Swarm {
  return {
    ID: 'cluster',
    Version: { Index: 12 },
    CreatedAt: '2026-11-22T10:00:00Z',
    UpdatedAt: '2026-11-22T10:00:00Z',
    Spec: { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 5 }, Raft: { SnapshotInterval: 10000 }, Dispatcher: { HeartbeatPeriod: 5e9 } },
    TLSInfo: {},
    RootRotationInProgress: false,
    DataPathPort: 4789,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    JoinTokens: { Worker: worker, Manager: manager },
  };
}

const info = (controlAvailable: boolean) => ({
  body: { ServerVersion: '0.1.0', Swarm: { NodeID: NODE_ID, LocalNodeState: 'active', ControlAvailable: controlAvailable, NodeAddr: '10.0.0.1' } },
});

async function startDaemon(t: { after(fn: () => Promise<void>): void }, routes: Record<string, Route> = {}): Promise<FakeDaemon> {
  const daemon = await FakeDaemon.start({
    'GET /swarm': { body: swarmObject() },
    [`GET /nodes/${NODE_ID}`]: { body: self },
    'GET /info': info(true),
    ...routes,
  });
  t.after(() => daemon.stop());
  return daemon;
}

test('swarm init posts the flags given and prints docker\'s welcome with the worker join command', async (t) => {
  const daemon = await startDaemon(t, { 'POST /swarm/init': { body: NODE_ID } });
  const res = await shoal(daemon.host, 'swarm', 'init', '--advertise-addr', '10.0.0.1', '--task-history-limit', '3', '--dispatcher-heartbeat', '1m30s', '--default-addr-pool', '10.10.0.0/16', '--default-addr-pool', '10.20.0.0/16');
  assert.equal(res.stderr, '');
  assert.equal(res.code, 0);
  assert.deepEqual(daemon.calls, ['POST /swarm/init', `GET /nodes/${NODE_ID}`, 'GET /swarm']);
  assert.deepEqual(daemon.requests[0]?.body, {
    AdvertiseAddr: '10.0.0.1',
    DefaultAddrPool: ['10.10.0.0/16', '10.20.0.0/16'],
    Spec: { Orchestration: { TaskHistoryRetentionLimit: 3 }, Dispatcher: { HeartbeatPeriod: 90e9 } },
  });
  assert.equal(daemon.requests[0]?.apiVersion, '1.56');
  assert.equal(
    res.stdout,
    `Swarm initialized: current node (${NODE_ID}) is now a manager.\n\n` +
      'To add a worker to this swarm, run the following command:\n\n' +
      '    shoal swarm join --token SWMTKN-1-fp-worker 10.0.0.1:2377\n\n' +
      "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n",
  );
});

test('swarm init: the daemon\'s refusal is printed like docker and exits 1', async (t) => {
  const daemon = await startDaemon(t, {
    'POST /swarm/init': { status: 503, body: { message: 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.' } },
  });
  const res = await shoal(daemon.host, 'swarm', 'init');
  assert.equal(res.code, 1);
  assert.equal(res.stdout, '');
  assert.equal(res.stderr, 'Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.\n');
  assert.deepEqual(daemon.requests[0]?.body, {});

  // docker's hint when the daemon cannot pick an address by itself.
  daemon.setRoute('POST /swarm/init', { status: 400, body: { message: 'could not choose an IP address to advertise since this system has multiple addresses' } });
  const ambiguous = await shoal(daemon.host, 'swarm', 'init');
  assert.equal(
    ambiguous.stderr,
    'Error response from daemon: could not choose an IP address to advertise since this system has multiple addresses - specify one with --advertise-addr\n',
  );

  const bad = await shoal(daemon.host, 'swarm', 'init', '--dispatcher-heartbeat', '5d');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /time: unknown unit "d" in duration "5d"/);
  assert.equal(daemon.requests.length, 2, 'nothing sent for a bad flag');
});

test('swarm join posts the token and remote, then says which role the node got', async (t) => {
  const daemon = await startDaemon(t, { 'POST /swarm/join': { status: 200 }, 'GET /info': info(false) });
  const res = await shoal(daemon.host, 'swarm', 'join', '--token', 'SWMTKN-1-fp-worker', '--advertise-addr', '10.0.0.2', '--availability', 'drain', '10.0.0.1:2377');
  assert.equal(res.stderr, '');
  assert.equal(res.stdout, 'This node joined a swarm as a worker.\n');
  assert.deepEqual(daemon.calls, ['POST /swarm/join', 'GET /info']);
  assert.deepEqual(daemon.requests[0]?.body, { JoinToken: 'SWMTKN-1-fp-worker', RemoteAddrs: ['10.0.0.1:2377'], AdvertiseAddr: '10.0.0.2', Availability: 'drain' });

  daemon.setRoute('GET /info', info(true));
  const manager = await shoal(daemon.host, 'swarm', 'join', '--token', 'SWMTKN-1-fp-manager', 'm1:2377');
  assert.equal(manager.stdout, 'This node joined a swarm as a manager.\n');

  const noToken = await shoal(daemon.host, 'swarm', 'join', 'm1:2377');
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /required option '--token <token>' not specified/);
});

test('swarm join-token prints the join command, the bare token with -q, and rotates', async (t) => {
  let tokens = swarmObject();
  const daemon = await startDaemon(t, {
    'GET /swarm': () => ({ body: tokens }),
    'POST /swarm/update': (req) => {
      if (req.query['rotateWorkerToken'] === 'true') tokens = swarmObject('SWMTKN-1-fp-worker2');
      return { status: 200 };
    },
  });

  const manager = await shoal(daemon.host, 'swarm', 'join-token', 'manager');
  assert.equal(manager.stdout, 'To add a manager to this swarm, run the following command:\n\n    shoal swarm join --token SWMTKN-1-fp-manager 10.0.0.1:2377\n\n');
  assert.deepEqual(daemon.calls, ['GET /swarm', 'GET /info', `GET /nodes/${NODE_ID}`, 'GET /swarm']);

  const quiet = await shoal(daemon.host, 'swarm', 'join-token', '-q', 'worker');
  assert.equal(quiet.stdout, 'SWMTKN-1-fp-worker\n');

  daemon.requests.length = 0;
  const rotated = await shoal(daemon.host, 'swarm', 'join-token', '--rotate', 'worker');
  assert.equal(rotated.stderr, '');
  assert.equal(
    rotated.stdout,
    'Successfully rotated worker join token.\n\n' +
      'To add a worker to this swarm, run the following command:\n\n    shoal swarm join --token SWMTKN-1-fp-worker2 10.0.0.1:2377\n\n',
  );
  const update = daemon.requests.find((r) => r.path === '/swarm/update');
  assert.deepEqual(update?.query, { version: '12', rotateWorkerToken: 'true', rotateManagerToken: 'false', rotateManagerUnlockKey: 'false' });
  assert.deepEqual(update?.body, swarmObject().Spec);

  const unknown = await shoal(daemon.host, 'swarm', 'join-token', 'boss');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'unknown role boss\n');
});

test('swarm leave [-f]', async (t) => {
  const daemon = await startDaemon(t, { 'POST /swarm/leave': { status: 200 } });
  assert.equal((await shoal(daemon.host, 'swarm', 'leave')).stdout, 'Node left the swarm.\n');
  assert.equal((await shoal(daemon.host, 'swarm', 'leave', '--force')).stdout, 'Node left the swarm.\n');
  assert.deepEqual(
    daemon.requests.map((r) => r.query),
    [{}, { force: 'true' }],
  );

  daemon.setRoute('POST /swarm/leave', {
    status: 503,
    body: { message: 'You are attempting to leave the swarm on a node that is participating as a manager. Use `--force` to ignore this message.' },
  });
  const refused = await shoal(daemon.host, 'swarm', 'leave');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^Error response from daemon: You are attempting to leave the swarm/);
});

test('swarm update merges the flags into the current spec at its version', async (t) => {
  const daemon = await startDaemon(t, { 'POST /swarm/update': { status: 200 } });
  const res = await shoal(daemon.host, 'swarm', 'update', '--snapshot-interval', '500', '--dispatcher-heartbeat', '10s');
  assert.equal(res.stderr, '');
  assert.equal(res.stdout, 'Swarm updated.\n');
  assert.deepEqual(daemon.calls, ['GET /swarm', 'POST /swarm/update']);
  assert.deepEqual(daemon.requests[1]?.query, { version: '12', rotateWorkerToken: 'false', rotateManagerToken: 'false', rotateManagerUnlockKey: 'false' });
  assert.deepEqual(daemon.requests[1]?.body, { ...swarmObject().Spec, Raft: { SnapshotInterval: 500 }, Dispatcher: { HeartbeatPeriod: 10e9 } });

  // Nothing to change: the usage, as docker shows it, and no request.
  const none = await shoal(daemon.host, 'swarm', 'update');
  assert.equal(none.code, 0);
  assert.match(none.stdout, /Usage: shoal swarm update/);
  assert.equal(daemon.requests.length, 2);
});

test('swarm inspect prints GET /swarm', async (t) => {
  const daemon = await startDaemon(t);
  const pretty = await shoal(daemon.host, 'swarm', 'inspect');
  assert.equal(pretty.stdout, `${JSON.stringify([swarmObject()], null, 4)}\n`);
  const json = await shoal(daemon.host, 'swarm', 'inspect', '--format', 'json');
  assert.equal(json.stdout, `${JSON.stringify(swarmObject())}\n`);
});
