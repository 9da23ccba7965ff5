// `shoal service ...` against a fake daemon: the requests sent and the text printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, Task } from '../../../shared/model/index.js';
import { FakeDaemon, makeNode, shoal, type Route } from './fake-daemon.js';

const node = makeNode('nodeaaaaaaaaaaaaaaaaaaaaa', 'worker-1');

function service(over: Partial<Service> = {}): Service {
  return {
    ID: 'svc1aaaaaaaaaaaaaaaaaaaaa',
    Version: { Index: 7 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    // A 1 ms monitor period keeps the progress tests fast.
    Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } }, Mode: { Replicated: { Replicas: 2 } }, UpdateConfig: { Monitor: 1e6 } },
    ...over,
  };
}

function task(slot: number, over: Partial<Task> = {}): Task {
  const now = new Date().toISOString();
  return {
    ID: `task${slot}aaaaaaaaaaaaaaaaaaaa`,
    Version: { Index: 9 },
    CreatedAt: now,
    UpdatedAt: now,
    ServiceID: 'svc1aaaaaaaaaaaaaaaaaaaaa',
    Slot: slot,
    NodeID: node.ID,
    Spec: { ContainerSpec: { Image: 'nginx:1' } },
    Status: { Timestamp: now, State: 'running', Message: 'started' },
    DesiredState: 'running',
    ...over,
  };
}

const DIGEST1 = `sha256:${'1'.repeat(64)}`;
const DIGEST2 = `sha256:${'2'.repeat(64)}`;

async function startDaemon(t: { after(fn: () => Promise<void>): void }, routes: Record<string, Route> = {}): Promise<FakeDaemon> {
  const svc = service();
  const daemon = await FakeDaemon.start({
    'POST /services/create': { status: 201, body: { ID: svc.ID, Warnings: [] } },
    [`GET /services/${svc.ID}`]: { body: svc },
    'GET /services/web': { body: svc },
    'GET /services/nope': { status: 404, body: { message: 'service nope not found' } },
    [`POST /services/${svc.ID}/update`]: { body: { Warnings: [] } },
    'GET /tasks': { body: [task(1), task(2)] },
    'GET /nodes': { body: [node] },
    [`GET /nodes/${node.ID}`]: { body: node },
    // What the registry says the tags name: the CLI pins the spec to it, as docker does.
    'GET /distribution/nginx:1/json': { body: { Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: DIGEST1, size: 100 }, Platforms: [] } },
    'GET /distribution/nginx:2/json': { body: { Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: DIGEST2, size: 100 }, Platforms: [] } },
    ...routes,
  });
  t.after(() => daemon.stop());
  return daemon;
}

test('service create -d: the spec built from flags, the ID printed', async (t) => {
  const daemon = await startDaemon(t);
  const res = await shoal(
    daemon.host,
    'service', 'create', '-d', '--name', 'web', '--replicas', '3', '-e', 'A=1', '--constraint', 'node.role==worker',
    '--update-parallelism', '2', '--reserve-memory', '64m', 'nginx:1', 'nginx', '-g', 'daemon off;',
  );
  assert.equal(res.stderr, '');
  assert.equal(res.code, 0);
  assert.equal(res.stdout, 'svc1aaaaaaaaaaaaaaaaaaaaa\n');
  assert.deepEqual(daemon.calls, ['GET /distribution/nginx:1/json', 'POST /services/create']);
  assert.deepEqual(daemon.requests[1]?.body, {
    Name: 'web',
    TaskTemplate: {
      // Options after IMAGE belong to the command, as in docker; the image pinned to the registry's digest.
      ContainerSpec: { Image: `nginx:1@${DIGEST1}`, Args: ['nginx', '-g', 'daemon off;'], Env: ['A=1'] },
      Placement: { Constraints: ['node.role==worker'] },
      Resources: { Reservations: { NanoCPUs: 0, MemoryBytes: 64 * 1024 * 1024 } },
    },
    Mode: { Replicated: { Replicas: 3 } },
    UpdateConfig: { Parallelism: 2, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' },
  });
});

test('service create: flag mistakes are refused before anything is sent', async (t) => {
  const daemon = await startDaemon(t);
  const res = await shoal(daemon.host, 'service', 'create', '--mode', 'global', '--replicas', '2', 'nginx');
  assert.equal(res.code, 1);
  assert.equal(res.stderr, 'replicas can only be used with replicated or replicated-job mode\n');
  const bad = await shoal(daemon.host, 'service', 'create', '--reserve-cpu', 'lots', 'nginx');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /option '--reserve-cpu <cpus>' argument 'lots' is invalid/);
  assert.deepEqual(daemon.calls, []);
});

test('service create without -d: progress until the service converged', async (t) => {
  const daemon = await startDaemon(t);
  const res = await shoal(daemon.host, 'service', 'create', '--name', 'web', '--replicas', '2', 'nginx:1');
  assert.equal(res.stderr, '');
  assert.equal(res.code, 0);
  assert.equal(
    res.stdout,
    [
      'svc1aaaaaaaaaaaaaaaaaaaaa',
      'overall progress: 0 out of 2 tasks',
      '1/2:  ',
      '2/2:  ',
      'overall progress: 2 out of 2 tasks',
      'verify: Waiting 1 seconds to verify that tasks are stable...',
      'verify: Service svc1aaaaaaaaaaaaaaaaaaaaa converged',
      '',
    ].join('\n'),
  );
  const taskQuery = daemon.requests.find((r) => r.path === '/tasks')?.query['filters'] ?? '';
  assert.deepEqual(JSON.parse(taskQuery), { service: ['svc1aaaaaaaaaaaaaaaaaaaaa'], '_up-to-date': ['true'] });
  const quiet = await shoal(daemon.host, 'service', 'create', '-q', 'nginx:1');
  assert.equal(quiet.stdout, 'svc1aaaaaaaaaaaaaaaaaaaaa\n');
});

test('service update: flags change the spec read at its version; a paused update exits 1 with docker\'s message', async (t) => {
  const paused = service({ UpdateStatus: { State: 'paused', Message: 'update paused due to failure or early termination of task task1' } });
  let polls = 0;
  const daemon = await startDaemon(t, {
    // The update reads the service, then the progress polls it by the same name, as docker does.
    'GET /services/web': () => ({ body: polls++ < 2 ? service({ UpdateStatus: { State: 'updating', Message: 'update in progress' } }) : paused }),
  });
  const res = await shoal(daemon.host, 'service', 'update', '--image', 'nginx:2', '--env-add', 'X=1', '--force', 'web');
  const update = daemon.requests.find((r) => r.method === 'POST');
  assert.deepEqual(update?.query, { version: '7' });
  assert.deepEqual(update?.body, {
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: `nginx:2@${DIGEST2}`, Env: ['X=1'] }, ForceUpdate: 1 },
    Mode: { Replicated: { Replicas: 2 } },
    UpdateConfig: { Monitor: 1e6 },
  });
  assert.equal(res.code, 1);
  assert.match(res.stdout, /^web\noverall progress: 0 out of 2 tasks\n/);
  assert.equal(res.stderr, 'service update paused: update paused due to failure or early termination of task task1\n');
});

test('service update --rollback: alone only; service rollback sends rollback=previous', async (t) => {
  const daemon = await startDaemon(t);
  const mixed = await shoal(daemon.host, 'service', 'update', '--rollback', '--replicas', '3', 'web');
  assert.equal(mixed.code, 1);
  assert.equal(mixed.stderr, 'other flags may not be combined with --rollback\n');
  const res = await shoal(daemon.host, 'service', 'rollback', '-d', 'web');
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'web\n');
  const post = daemon.requests.find((r) => r.method === 'POST');
  assert.deepEqual(post?.query, { version: '7', rollback: 'previous' });
  assert.deepEqual(post?.body, service().Spec);
  const viaUpdate = await shoal(daemon.host, 'service', 'update', '--rollback', '-d', 'web');
  assert.equal(viaUpdate.code, 0, viaUpdate.stderr);
});

test('service scale: each SERVICE=N as an update of Replicas; bad specifiers and errors listed', async (t) => {
  const daemon = await startDaemon(t);
  const bad = await shoal(daemon.host, 'service', 'scale', 'web');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Invalid scale specifier 'web'\./);
  const res = await shoal(daemon.host, 'service', 'scale', '-d', 'web=5', 'api=x', 'nope=1');
  assert.equal(res.code, 1);
  assert.equal(res.stdout, 'web scaled to 5\n');
  assert.equal(
    res.stderr,
    'api: invalid replicas value x: strconv.ParseUint: parsing "x": invalid syntax\nnope: Error response from daemon: service nope not found\n',
  );
  const post = daemon.requests.find((r) => r.method === 'POST');
  assert.deepEqual((post?.body as Service['Spec']).Mode, { Replicated: { Replicas: 5 } });
});

test('service rm: each name printed, failures after', async (t) => {
  const daemon = await startDaemon(t, {
    'DELETE /services/web': { status: 200 },
    'DELETE /services/nope': { status: 404, body: { message: 'service nope not found' } },
  });
  const res = await shoal(daemon.host, 'service', 'rm', 'web', 'nope');
  assert.equal(res.code, 1);
  assert.equal(res.stdout, 'web\n');
  assert.equal(res.stderr, 'Error response from daemon: service nope not found\n');
});

test('service ls: asks for status unless -q; filters pass through', async (t) => {
  const listed = service({ ServiceStatus: { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 } });
  const daemon = await startDaemon(t, { 'GET /services': { body: [listed] } });
  const res = await shoal(daemon.host, 'service', 'ls', '-f', 'name=we');
  assert.equal(
    res.stdout,
    'ID             NAME      MODE         REPLICAS   IMAGE     PORTS\nsvc1aaaaaaaa   web       replicated   1/2        nginx:1   \n',
  );
  assert.deepEqual(daemon.requests[0]?.query, { filters: '{"name":["we"]}', status: 'true' });
  const quiet = await shoal(daemon.host, 'service', 'ls', '-q');
  assert.equal(quiet.stdout, 'svc1aaaaaaaa\n');
  assert.deepEqual(daemon.requests[1]?.query, {});
});

test('service ps: services found by ID, name or prefix; tasks with names resolved; unknown ones reported', async (t) => {
  const svc = service();
  const daemon = await startDaemon(t, {
    'GET /services': (req) => {
      const f = JSON.parse(req.query['filters'] ?? '{}') as { id?: string[]; name?: string[] };
      const hit = (f.name ?? []).includes('web') || (f.id ?? []).some((p) => svc.ID.startsWith(p));
      return { body: hit ? [svc] : [] };
    },
    'GET /tasks': { body: [task(1), task(1, { ID: 'old1aaaaaaaaaaaaaaaaaaaa', DesiredState: 'shutdown', CreatedAt: '2020-01-01T00:00:00Z' })] },
  });
  const res = await shoal(daemon.host, 'service', 'ps', 'web', 'nope');
  assert.equal(res.code, 1);
  assert.equal(res.stderr, 'no such service: nope\n');
  const lines = res.stdout.split('\n');
  assert.match(lines[0] ?? '', /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS$/);
  assert.match(lines[1] ?? '', /^task1aaaaaaa +web\.1 +nginx:1 +worker-1 +Running +Running /);
  assert.match(lines[2] ?? '', /^old1aaaaaaaa +\\_ web\.1 +nginx:1 +worker-1 +Shutdown +Running /);
  const taskReq = daemon.requests.find((r) => r.path === '/tasks');
  assert.deepEqual(JSON.parse(taskReq?.query['filters'] ?? ''), { service: [svc.ID] });
  const quiet = await shoal(daemon.host, 'service', 'ps', '-q', 'svc1');
  assert.equal(quiet.stdout, 'task1aaaaaaaaaaaaaaaaaaaa\nold1aaaaaaaaaaaaaaaaaaaa\n');
  const none = await shoal(daemon.host, 'service', 'ps', 'nope');
  assert.equal(none.code, 1);
  assert.equal(none.stdout, '');
});

test('service inspect: JSON with defaults inserted, errors after what was found; --pretty', async (t) => {
  const daemon = await startDaemon(t);
  const res = await shoal(daemon.host, 'service', 'inspect', 'web', 'nope');
  assert.equal(res.code, 1);
  assert.equal(res.stdout, `${JSON.stringify([service()], null, 4)}\n`);
  assert.equal(res.stderr, 'Error: no such service: nope\n');
  assert.deepEqual(daemon.requests[0]?.query, { insertDefaults: 'true' });
  const pretty = await shoal(daemon.host, 'service', 'inspect', '--pretty', 'web');
  assert.match(pretty.stdout, /^\nID:\t\tsvc1aaaaaaaaaaaaaaaaaaaaa\nName:\t\tweb\nService Mode:\tReplicated\n Replicas:\t2\n/);
});
