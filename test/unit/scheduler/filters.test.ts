import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainFailures, type FilterName, noSuitableNode, Pipeline, platformMatches, requirementsOf } from '../../../manager/scheduler/filters.js';
import type { NodeRecord, ServiceRecord, TaskRecord, TaskSpec } from '../../../shared/model/index.js';
import { cluster, CPU, GiB, lookup, MiB, node, service, task } from './helpers.js';

function pipelineFor(spec: TaskSpec, services: ServiceRecord[] = []): Pipeline {
  const req = requirementsOf(task('t', 's1', { spec }), lookup(services));
  assert.ok(!('error' in req));
  return new Pipeline(req);
}

function failures(spec: TaskSpec, nodes: NodeRecord[], placed: TaskRecord[] = [], services: ServiceRecord[] = []): Record<string, FilterName | undefined> {
  const state = cluster(nodes, placed, services);
  const p = pipelineFor(spec, services);
  const out: Record<string, FilterName | undefined> = {};
  for (const n of nodes) out[n.ID] = p.firstFailure(state.info(n.ID)!);
  return out;
}

test('ready filter: only ready nodes with availability active take new tasks', () => {
  const nodes = [
    node('ok'),
    node('down', { state: 'down' }),
    node('unknown', { state: 'unknown' }),
    node('drain', { availability: 'drain' }),
    node('pause', { availability: 'pause' }),
  ];
  assert.deepEqual(failures({}, nodes), { ok: undefined, down: 'ready', unknown: 'ready', drain: 'ready', pause: 'ready' });
});

test('resource filters: reservations against node resources minus what its non-terminal tasks reserve', () => {
  const spec: TaskSpec = { Resources: { Reservations: { NanoCPUs: 2 * CPU, MemoryBytes: 512 * MiB } } };
  const busy: TaskSpec = { Resources: { Reservations: { NanoCPUs: 3 * CPU, MemoryBytes: 7 * GiB } } };
  const nodes = [node('free'), node('cpu-busy', { cpus: 4 }), node('mem-busy'), node('small', { cpus: 1, memory: 256 * MiB }), node('done')];
  const placed = [
    task('a', 'other', { nodeId: 'cpu-busy', state: 'running', spec: { Resources: { Reservations: { NanoCPUs: 3 * CPU } } } }),
    task('b', 'other', { nodeId: 'mem-busy', state: 'assigned', spec: { Resources: { Reservations: { MemoryBytes: 7 * GiB } } } }),
    task('c', 'other', { nodeId: 'mem-busy', state: 'starting', spec: { Resources: { Reservations: { MemoryBytes: 600 * MiB } } } }),
    // Terminal tasks reserve nothing any more; pending ones reserve nothing yet.
    task('d', 'other', { nodeId: 'done', state: 'failed', spec: busy }),
    task('e', 'other', { nodeId: 'done', state: 'complete', spec: busy }),
    task('f', 'other', { nodeId: 'done', state: 'pending', spec: busy }),
  ];
  assert.deepEqual(failures(spec, nodes, placed), {
    free: undefined,
    'cpu-busy': 'cpu',
    'mem-busy': 'memory',
    small: 'cpu',
    done: undefined,
  });
  // Without reservations the resource filters are off.
  assert.deepEqual(failures({}, nodes, placed), { free: undefined, 'cpu-busy': undefined, 'mem-busy': undefined, small: undefined, done: undefined });
});

test('constraint filter', () => {
  const nodes = [node('eu', { labels: { zone: 'eu' } }), node('us', { labels: { zone: 'us' } }), node('none')];
  assert.deepEqual(failures({ Placement: { Constraints: ['node.labels.zone==eu'] } }, nodes), { eu: undefined, us: 'constraints', none: 'constraints' });
  assert.deepEqual(failures({ Placement: { Constraints: ['node.labels.zone!=eu'] } }, nodes), { eu: 'constraints', us: undefined, none: undefined });
});

test('platform filter: Placement.Platforms against the node platform, x86_64 = amd64 and aarch64 = arm64', () => {
  const nodes = [node('amd', { arch: 'x86_64' }), node('arm', { arch: 'aarch64' }), node('win', { os: 'windows', arch: 'x86_64' })];
  assert.deepEqual(failures({ Placement: { Platforms: [{ OS: 'linux', Architecture: 'amd64' }] } }, nodes), {
    amd: undefined,
    arm: 'platform',
    win: 'platform',
  });
  assert.deepEqual(
    failures({ Placement: { Platforms: [{ OS: 'linux', Architecture: 'arm64' }, { OS: 'windows', Architecture: '' }] } }, nodes),
    { amd: 'platform', arm: undefined, win: undefined },
  );
  assert.ok(platformMatches({ OS: '', Architecture: '' }, { OS: 'linux', Architecture: 'riscv64' }));
  assert.ok(!platformMatches({ OS: 'linux', Architecture: 'amd64' }, undefined));
});

test('host-port filter: a host-mode published port is taken on nodes running a task that publishes it', () => {
  const web = service('s1', { ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] });
  const other = service('s2', { ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] });
  const udp = service('s3', { ports: [{ Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] });
  const ingress = service('s4', { ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] });
  const nodes = [node('a'), node('b'), node('c'), node('d'), node('e')];
  const placed = [
    task('x', 's2', { nodeId: 'a', state: 'running' }),
    task('y', 's3', { nodeId: 'b', state: 'running' }),
    task('z', 's4', { nodeId: 'c', state: 'running' }),
    task('w', 's2', { nodeId: 'd', state: 'shutdown' }),
  ];
  assert.deepEqual(failures({}, nodes, placed, [web, other, udp, ingress]), {
    a: 'hostPorts',
    b: undefined,
    c: undefined,
    d: undefined,
    e: undefined,
  });
  // Published port 0 lets the engine pick one: never a clash.
  const dynamic = service('s1', { ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'host' }] });
  assert.equal(failures({}, nodes, placed, [dynamic, other])['a'], undefined);
});

test('max-replicas filter counts the service\'s tasks meant to run on the node', () => {
  const spec: TaskSpec = { Placement: { MaxReplicas: 2 } };
  const nodes = [node('full'), node('one'), node('stopping')];
  const placed = [
    task('a', 's1', { nodeId: 'full', state: 'running' }),
    task('b', 's1', { nodeId: 'full', state: 'assigned' }),
    task('c', 's1', { nodeId: 'one', state: 'running' }),
    task('d', 's2', { nodeId: 'one', state: 'running' }),
    // Being shut down: does not count.
    task('e', 's1', { nodeId: 'stopping', state: 'running', desired: 'shutdown' }),
    task('f', 's1', { nodeId: 'stopping', state: 'running', desired: 'shutdown' }),
  ];
  assert.deepEqual(failures(spec, nodes, placed), { full: 'maxReplicas', one: undefined, stopping: undefined });
});

test('each node counts under the first filter it fails; explanations list the most common first', () => {
  const spec: TaskSpec = { Resources: { Reservations: { MemoryBytes: 2 * GiB } }, Placement: { Constraints: ['node.labels.zone==eu'] } };
  const nodes = [
    node('m1', { memory: GiB, labels: { zone: 'eu' } }),
    node('m2', { memory: GiB }),
    node('m3', { memory: GiB, labels: { zone: 'eu' } }),
    node('c1', { labels: { zone: 'us' } }),
    node('c2'),
  ];
  const state = cluster(nodes);
  assert.equal(pipelineFor(spec).explain(state.nodes()), 'insufficient memory on 3 nodes; scheduling constraints not satisfied on 2 nodes');
  assert.equal(
    explainFailures(
      new Map<FilterName, number>([
        ['constraints', 1],
        ['ready', 1],
        ['maxReplicas', 4],
        ['cpu', 2],
      ]),
    ),
    'max replicas per node limit exceed; insufficient CPU on 2 nodes; 1 node not available for new tasks; scheduling constraints not satisfied on 1 node',
  );
  assert.equal(explainFailures(new Map([['platform', 1], ['hostPorts', 2]])), 'host-mode port already in use on 2 nodes; unsupported platform on 1 node');
  assert.equal(noSuitableNode(''), 'no suitable node');
  assert.equal(noSuitableNode('insufficient CPU on 1 node'), 'no suitable node (insufficient CPU on 1 node)');
});

test('a task whose constraints do not parse cannot be placed and says which one is wrong', () => {
  const req = requirementsOf(task('t', 's1', { spec: { Placement: { Constraints: ['node.role==worker', 'zone=eu'] } } }), lookup());
  assert.ok('error' in req);
  assert.equal(req.error, 'invalid placement constraint "zone=eu": constraint expected one operator from ==, !=');
});
