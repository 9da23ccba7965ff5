// `shoal node ...` against a fake daemon: the requests sent and the text printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDaemon, makeNode, shoal, type Route } from './fake-daemon.js';

const leader = makeNode('aaaaaaaaaaaaaaaaaaaaaaaa1', 'node-1', {
  Spec: { Role: 'manager', Availability: 'active', Labels: { old: 'x' } },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' },
});
const worker = makeNode('bbbbbbbbbbbbbbbbbbbbbbbb2', 'node-2', { Version: { Index: 9 } });

async function startDaemon(t: { after(fn: () => Promise<void>): void }, routes: Record<string, Route> = {}): Promise<FakeDaemon> {
  const daemon = await FakeDaemon.start({
    'GET /nodes': { body: [worker, leader] },
    'GET /info': { body: { Swarm: { NodeID: leader.ID, LocalNodeState: 'active', ControlAvailable: true } } },
    [`GET /nodes/${leader.ID}`]: { body: leader },
    'GET /nodes/node-1': { body: leader },
    'GET /nodes/node-2': { body: worker },
    'GET /nodes/nope': { status: 404, body: { message: 'node nope not found' } },
    ...routes,
  });
  t.after(() => daemon.stop());
  return daemon;
}

test('node ls prints docker\'s table with this node starred; -q, -f and --format json', async (t) => {
  const daemon = await startDaemon(t);
  const table = await shoal(daemon.host, 'node', 'ls');
  assert.equal(table.stderr, '');
  assert.equal(
    table.stdout,
    'ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n' +
      'aaaaaaaaaaaaaaaaaaaaaaaa1 *   node-1     Ready     Active         Leader           0.1.0\n' +
      'bbbbbbbbbbbbbbbbbbbbbbbb2     node-2     Ready     Active                          0.1.0\n',
  );
  assert.deepEqual(daemon.calls, ['GET /nodes', 'GET /info']);
  assert.deepEqual(daemon.requests[0]?.query, {});

  daemon.requests.length = 0;
  const quiet = await shoal(daemon.host, 'node', 'ls', '-q', '-f', 'role=manager', '--filter', 'name=node-1');
  assert.equal(quiet.stdout, `${leader.ID}\n${worker.ID}\n`);
  assert.deepEqual(daemon.calls, ['GET /nodes'], 'no /info call for IDs only');
  assert.deepEqual(JSON.parse(daemon.requests[0]?.query['filters'] ?? ''), { role: ['manager'], name: ['node-1'] });

  const json = await shoal(daemon.host, 'node', 'list', '--format', 'json');
  assert.deepEqual(JSON.parse(json.stdout), [worker, leader]);

  const badFilter = await shoal(daemon.host, 'node', 'ls', '-f', 'role');
  assert.equal(badFilter.code, 1);
  assert.equal(badFilter.stderr, 'bad format of filter (expected name=value): "role"\n');
});

test('node ls with no nodes prints only the header and does not ask /info', async (t) => {
  const daemon = await startDaemon(t, { 'GET /nodes': { body: [] } });
  const res = await shoal(daemon.host, 'node', 'ls');
  assert.equal(res.stdout, 'ID        HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n');
  assert.deepEqual(daemon.calls, ['GET /nodes']);
});

test('node inspect: JSON array, "self", --pretty, and errors after what was found', async (t) => {
  const daemon = await startDaemon(t);
  const one = await shoal(daemon.host, 'node', 'inspect', 'self');
  assert.equal(one.stdout, `${JSON.stringify([leader], null, 4)}\n`);
  assert.deepEqual(daemon.calls, ['GET /info', `GET /nodes/${leader.ID}`]);

  const partial = await shoal(daemon.host, 'node', 'inspect', 'node-2', 'nope');
  assert.equal(partial.code, 1);
  assert.equal(partial.stdout, `${JSON.stringify([worker], null, 4)}\n`);
  assert.equal(partial.stderr, 'Error response from daemon: node nope not found\n');

  const none = await shoal(daemon.host, 'node', 'inspect', 'nope');
  assert.equal(none.stdout, '[]\n');

  const json = await shoal(daemon.host, 'node', 'inspect', '--format', 'json', 'node-1', 'node-2');
  assert.equal(json.stdout, `${JSON.stringify([leader, worker])}\n`);

  const pretty = await shoal(daemon.host, 'node', 'inspect', '--pretty', 'node-1');
  assert.match(pretty.stdout, /^ID:\t\t\taaaaaaaaaaaaaaaaaaaaaaaa1\nLabels:\n - old=x\nHostname: {14}\tnode-1\n/);
  assert.match(pretty.stdout, /^ Leader:\t\tYes$/m);
});

test('node update reads the node, changes its spec and writes it back at the version read', async (t) => {
  const daemon = await startDaemon(t, { [`POST /nodes/${leader.ID}/update`]: { status: 200 } });
  const res = await shoal(daemon.host, 'node', 'update', '--availability', 'drain', '--label-add', 'zone=eu', '--label-add', 'ssd', '--label-rm', 'old', 'node-1');
  assert.equal(res.stderr, '');
  assert.equal(res.stdout, 'node-1\n');
  assert.deepEqual(daemon.calls, ['GET /nodes/node-1', `POST /nodes/${leader.ID}/update`]);
  assert.deepEqual(daemon.requests[1]?.query, { version: '7' });
  assert.deepEqual(daemon.requests[1]?.body, { Role: 'manager', Availability: 'drain', Labels: { zone: 'eu', ssd: '' } });

  const missingLabel = await shoal(daemon.host, 'node', 'update', '--label-rm', 'nothere', 'node-1');
  assert.equal(missingLabel.code, 1);
  assert.equal(missingLabel.stderr, "key nothere doesn't exist in node's labels\n");
  assert.equal(daemon.requests.filter((r) => r.method === 'POST').length, 1, 'nothing written');

  const badRole = await shoal(daemon.host, 'node', 'update', '--role', 'boss', 'node-1');
  assert.equal(badRole.code, 1);
  assert.match(badRole.stderr, /Allowed choices are worker, manager/);

  daemon.setRoute(`POST /nodes/${leader.ID}/update`, { status: 409, body: { message: 'update out of sequence' } });
  const conflict = await shoal(daemon.host, 'node', 'update', '--role', 'worker', 'node-1');
  assert.equal(conflict.code, 1);
  assert.equal(conflict.stderr, 'Error response from daemon: update out of sequence\n');
});

test('node promote and demote change the role and say so like docker', async (t) => {
  const written: Array<{ path: string; body: unknown }> = [];
  const record: Route = (req) => {
    written.push({ path: req.path, body: req.body });
    return { status: 200 };
  };
  const daemon = await startDaemon(t, { [`POST /nodes/${worker.ID}/update`]: record, [`POST /nodes/${leader.ID}/update`]: record });

  const promote = await shoal(daemon.host, 'node', 'promote', 'node-2', 'node-1');
  assert.equal(promote.stdout, `Node node-2 promoted to a manager in the swarm.\nNode ${leader.ID} is already a manager.\n`);
  assert.deepEqual(written, [{ path: `/nodes/${worker.ID}/update`, body: { ...worker.Spec, Role: 'manager' } }]);
  assert.deepEqual(daemon.requests.find((r) => r.method === 'POST')?.query, { version: '9' });

  written.length = 0;
  const demote = await shoal(daemon.host, 'node', 'demote', 'node-1', 'node-2');
  assert.equal(demote.stdout, `Manager node-1 demoted in the swarm.\nNode ${worker.ID} is already a worker.\n`);
  assert.deepEqual(written, [{ path: `/nodes/${leader.ID}/update`, body: { ...leader.Spec, Role: 'worker' } }]);
});

test('node rm removes each node, reporting every failure at the end', async (t) => {
  const daemon = await startDaemon(t, {
    'DELETE /nodes/node-2': { status: 200 },
    'DELETE /nodes/node-1': {
      status: 400,
      body: { message: 'rpc error: node node-1 is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal' },
    },
  });
  const res = await shoal(daemon.host, 'node', 'rm', 'node-1', 'node-2', 'nope');
  assert.equal(res.code, 1);
  assert.equal(res.stdout, 'node-2\n');
  assert.equal(
    res.stderr,
    'Error response from daemon: rpc error: node node-1 is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal\n' +
      'Error response from daemon: page not found\n',
  );
  assert.deepEqual(daemon.calls, ['DELETE /nodes/node-1', 'DELETE /nodes/node-2', 'DELETE /nodes/nope']);

  daemon.requests.length = 0;
  const forced = await shoal(daemon.host, 'node', 'remove', '--force', 'node-2');
  assert.equal(forced.stdout, 'node-2\n');
  assert.deepEqual(daemon.requests[0]?.query, { force: 'true' });
});

test('node ps: GET /tasks per node; the header alone when there are none, rows when there are', async (t) => {
  const daemon = await startDaemon(t, { 'GET /tasks': { body: [] } });
  const empty = await shoal(daemon.host, 'node', 'ps');
  assert.equal(empty.stderr, '');
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, 'ID        NAME      IMAGE     NODE      DESIRED STATE   CURRENT STATE   ERROR     PORTS\n');
  assert.deepEqual(daemon.calls, ['GET /info', `GET /nodes/${leader.ID}`, 'GET /tasks']);
  assert.deepEqual(JSON.parse(daemon.requests[2]?.query['filters'] ?? ''), { node: [leader.ID] });

  const now = new Date().toISOString();
  daemon.setRoute('GET /tasks', {
    body: [
      {
        ID: 'task000000000000000000001',
        ServiceID: 'svc1',
        NodeID: worker.ID,
        Slot: 2,
        CreatedAt: now,
        DesiredState: 'running',
        Spec: { ContainerSpec: { Image: 'nginx:1.27' } },
        Status: { Timestamp: now, State: 'running' },
      },
    ],
  });
  daemon.setRoute('GET /services/svc1', { body: { ID: 'svc1', Spec: { Name: 'web' } } });
  daemon.setRoute(`GET /nodes/${worker.ID}`, { body: worker });
  daemon.requests.length = 0;
  const rows = await shoal(daemon.host, 'node', 'ps', '-f', 'desired-state=running', 'node-2');
  assert.equal(rows.stderr, '');
  assert.deepEqual(JSON.parse(daemon.requests[1]?.query['filters'] ?? ''), { 'desired-state': ['running'], node: [worker.ID] });
  const lines = rows.stdout.split('\n');
  assert.match(lines[0] ?? '', /^ID {13}NAME {6}IMAGE {8}NODE {6}DESIRED STATE   CURRENT STATE {20}ERROR     PORTS$/);
  assert.match(lines[1] ?? '', /^task00000000 {3}web\.2 {5}nginx:1\.27 {3}node-2 {4}Running {9}Running less than a second ago {13}$/);

  const missing = await shoal(daemon.host, 'node', 'ps', 'nope');
  assert.equal(missing.code, 1);
  // docker prints no table when every node failed and nothing was found.
  assert.equal(missing.stdout, '');
  assert.equal(missing.stderr, 'Error response from daemon: node nope not found\n');
});

test('a worker daemon\'s refusal reads like docker\'s', async (t) => {
  const message =
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
  const daemon = await startDaemon(t, { 'GET /nodes': { status: 503, body: { message } } });
  const res = await shoal(daemon.host, 'node', 'ls');
  assert.equal(res.code, 1);
  assert.equal(res.stdout, '');
  assert.equal(res.stderr, `Error response from daemon: ${message}\n`);
});
