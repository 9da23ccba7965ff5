// docker's node table, `inspect --pretty`, update merging and the task table, as pure functions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNodeIds, formatNodePretty, formatNodeTable, managerStatus, mergeNodeUpdate, nodeRow, sortNodes, validateLabel } from '../../../cli/format/node.js';
import { displayImage, formatTaskTable, taskRows, type TaskLike } from '../../../cli/format/tasks.js';
import { makeNode } from './fake-daemon.js';

const leader = makeNode('aaaaaaaaaaaaaaaaaaaaaaaa1', 'node-1', {
  Spec: { Role: 'manager', Availability: 'active' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' },
});
const worker = makeNode('bbbbbbbbbbbbbbbbbbbbbbbb2', 'node-10', {
  Spec: { Role: 'worker', Availability: 'drain' },
  Status: { State: 'down', Addr: '10.0.0.3' },
});
const follower = makeNode('cccccccccccccccccccccccc3', 'node-2', {
  Spec: { Role: 'manager', Availability: 'active' },
  ManagerStatus: { Reachability: 'unreachable', Addr: '10.0.0.2:2377' },
});

test('node ls table: docker columns, self marked with *, natural hostname order', () => {
  const out = formatNodeTable([worker, follower, leader], leader.ID);
  assert.equal(
    out,
    [
      'ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION',
      'aaaaaaaaaaaaaaaaaaaaaaaa1 *   node-1     Ready     Active         Leader           0.1.0',
      'cccccccccccccccccccccccc3     node-2     Ready     Active         Unreachable      0.1.0',
      'bbbbbbbbbbbbbbbbbbbbbbbb2     node-10    Down      Drain                           0.1.0',
      '',
    ].join('\n'),
  );
  // The header alone when there are no nodes, as docker prints it.
  assert.equal(formatNodeTable([], ''), 'ID        HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n');
});

test('node rows: manager status and hostname ties broken by ID', () => {
  assert.equal(managerStatus(leader), 'Leader');
  assert.equal(managerStatus(follower), 'Unreachable');
  assert.equal(managerStatus(worker), '');
  assert.deepEqual(nodeRow(worker, 'other'), ['bbbbbbbbbbbbbbbbbbbbbbbb2  ', 'node-10', 'Down', 'Drain', '', '0.1.0']);
  const twinA = makeNode('b-id', 'same');
  const twinB = makeNode('a-id', 'same');
  assert.deepEqual(sortNodes([twinA, twinB]).map((n) => n.ID), ['a-id', 'b-id']);
  assert.equal(formatNodeIds([worker, leader]), `${leader.ID}\n${worker.ID}\n`);
});

test('node inspect --pretty follows docker\'s template', () => {
  const node = makeNode('aaaaaaaaaaaaaaaaaaaaaaaa1', 'node-1', {
    Spec: { Role: 'manager', Availability: 'active', Name: 'edge', Labels: { zone: 'eu', ssd: '' } },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' },
  });
  node.Description.Engine.Plugins = [
    { Type: 'Network', Name: 'overlay' },
    { Type: 'Network', Name: 'bridge' },
    { Type: 'Log', Name: 'json-file' },
  ];
  assert.equal(
    formatNodePretty(node),
    [
      'ID:\t\t\taaaaaaaaaaaaaaaaaaaaaaaa1',
      'Name:\t\t\tedge',
      'Labels:',
      ' - ssd',
      ' - zone=eu',
      'Hostname:              \tnode-1',
      'Joined at:             \t2026-11-22 10:00:00.123456789 +0000 UTC',
      'Status:',
      ' State:\t\t\tReady',
      ' Availability:         \tActive',
      ' Address:\t\t10.0.0.1',
      'Manager Status:',
      ' Address:\t\t10.0.0.1:2377',
      ' Raft Status:\t\tReachable',
      ' Leader:\t\tYes',
      'Platform:',
      ' Operating System:\tlinux',
      ' Architecture:\t\tx86_64',
      'Resources:',
      ' CPUs:\t\t\t4',
      ' Memory:\t\t8GiB',
      'Plugins:',
      ' Log:\t\tjson-file',
      ' Network:\t\toverlay, bridge',
      'Engine Version:\t\t0.1.0',
      '',
    ].join('\n'),
  );
  const plainWorker = formatNodePretty(worker);
  assert.doesNotMatch(plainWorker, /Manager Status|Labels|Name:|Plugins/);
  assert.match(plainWorker, /^ State:\t\t\tDown$/m);
});

test('mergeNodeUpdate changes only what was asked, like docker', () => {
  const spec = { Role: 'worker' as const, Availability: 'active' as const, Labels: { keep: '1', drop: '2' } };
  const next = mergeNodeUpdate(spec, { availability: 'drain', labelAdd: ['zone=eu', 'flag', 'eq=a=b'], labelRm: ['drop'] });
  assert.deepEqual(next, { Role: 'worker', Availability: 'drain', Labels: { keep: '1', zone: 'eu', flag: '', eq: 'a=b' } });
  assert.deepEqual(spec.Labels, { keep: '1', drop: '2' }, 'the input is not modified');
  // docker always sends a Labels object, even when the node had none.
  assert.deepEqual(mergeNodeUpdate({ Role: 'manager', Availability: 'pause' }, { role: 'worker' }), { Role: 'worker', Availability: 'pause', Labels: {} });
  assert.throws(() => mergeNodeUpdate(spec, { labelRm: ['nope'] }), { message: "key nope doesn't exist in node's labels" });
  // "__proto__" is just a label name.
  assert.deepEqual(Object.keys(mergeNodeUpdate(spec, { labelAdd: ['__proto__=x'] }).Labels ?? {}), ['keep', 'drop', '__proto__']);
  assert.equal(validateLabel('a=b'), 'a=b');
  assert.throws(() => validateLabel('=b'), { message: "invalid label '=b': empty name" });
});

test('task table: names, truncation, states and the indented history of a slot', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  const base = (id: string, slot: number, createdAt: string, state: string, desired: string, err = ''): TaskLike => ({
    ID: id,
    ServiceID: 'svc1',
    NodeID: 'node1',
    Slot: slot,
    CreatedAt: createdAt,
    DesiredState: desired,
    Spec: { ContainerSpec: { Image: 'docker.io/library/nginx:1.27@sha256:abcd' } },
    Status: { Timestamp: '2026-11-22T11:55:00Z', State: state, Err: err },
  });
  const tasks = [
    base('old0000000000000000000001', 1, '2026-11-22T10:00:00Z', 'failed', 'shutdown', 'task: non-zero exit (1): the process failed badly'),
    base('new0000000000000000000001', 1, '2026-11-22T11:00:00Z', 'running', 'running'),
  ];
  const opts = { serviceNames: new Map([['svc1', 'web']]), nodeNames: new Map([['node1', 'node-1']]), trunc: true, now };
  assert.deepEqual(taskRows(tasks, opts), [
    ['new000000000', 'web.1', 'nginx:1.27', 'node-1', 'Running', 'Running 5 minutes ago', '', ''],
    ['old000000000', ' \\_ web.1', 'nginx:1.27', 'node-1', 'Shutdown', 'Failed 5 minutes ago', '"task: non-zero exit (1): the …"', ''],
  ]);
  const noResolve = taskRows([{ ID: 'g1', ServiceID: 'svc2', NodeID: 'n9', Status: { PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 }] } } }], {
    ...opts,
    trunc: false,
  });
  assert.deepEqual(noResolve[0], ['g1', 'svc2.n9', '', 'n9', '', '', '', '*:8080->80/tcp']);
  assert.equal(formatTaskTable([], opts), 'ID        NAME      IMAGE     NODE      DESIRED STATE   CURRENT STATE   ERROR     PORTS\n');
});

test('displayImage drops the digest of tagged images and docker.io prefixes', () => {
  assert.equal(displayImage('docker.io/library/nginx:1.27@sha256:ab', true), 'nginx:1.27');
  assert.equal(displayImage('docker.io/me/app:2', true), 'me/app:2');
  assert.equal(displayImage('127.0.0.1:5000/web:2@sha256:ab', true), '127.0.0.1:5000/web:2');
  assert.equal(displayImage('nginx@sha256:ab', true), 'nginx@sha256:ab');
  assert.equal(displayImage('docker.io/library/nginx:1@sha256:ab', false), 'docker.io/library/nginx:1@sha256:ab');
});
