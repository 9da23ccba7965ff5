// ServiceControl against a real MemoryStore behind a perfect Raft: what create,
// update, rollback and remove write for the control loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceControl } from '../../../manager/control.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { ManualClock } from '../../../shared/clock.js';
import type { ServiceRecord, ServiceSpec, TaskRecord, TaskState } from '../../../shared/model/index.js';
import { FakeProposer, nodeDraft } from '../store/fixtures.js';

const T0 = Date.parse('2024-05-01T12:00:00Z');

interface Rig {
  memory: MemoryStore;
  store: ReplicatedStore;
  control: ServiceControl;
  clock: ManualClock;
  proposer: FakeProposer;
}

function rig(): Rig {
  const memory = new MemoryStore();
  const proposer = new FakeProposer([memory]);
  const clock = new ManualClock(T0);
  const store = new ReplicatedStore(memory, proposer, clock);
  let n = 0;
  const control = new ServiceControl(store, clock, () => `svc${++n}`, () => 0);
  return { memory, store, control, clock, proposer };
}

const web: ServiceSpec = { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } }, Mode: { Replicated: { Replicas: 3 } } };

function record(r: Rig, id: string): ServiceRecord {
  const s = r.memory.get('services', id);
  assert.ok(s, `service ${id} stored`);
  return s;
}

async function addTasks(r: Rig, serviceId: string, count: number, over: { desired?: TaskState; version?: number; node?: string; image?: string } = {}): Promise<void> {
  await r.store.update((t) => {
    for (let i = 1; i <= count; i++) {
      const task: Omit<TaskRecord, 'Version' | 'CreatedAt' | 'UpdatedAt'> = {
        ID: `${serviceId}-t${i}`,
        ServiceID: serviceId,
        Slot: i,
        ...(over.node !== undefined ? { NodeID: over.node } : {}),
        Spec: { ContainerSpec: { Image: over.image ?? 'nginx:1' } },
        Status: { Timestamp: '2024-05-01T12:00:00.000000000Z', State: 'running', Message: 'started' },
        DesiredState: over.desired ?? 'running',
        Internal: { SpecVersion: over.version ?? 1 },
      };
      t.tasks.create(task);
    }
  });
}

test('create: SpecVersion 1, no PreviousSpec, the mode completed; a taken name is a 409', async () => {
  const r = rig();
  const res = await r.control.createService({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } }, Mode: { Replicated: {} } });
  assert.deepEqual(res, { ID: 'svc1', Warnings: [] });
  const s = record(r, 'svc1');
  assert.equal(s.Internal.SpecVersion, 1);
  assert.equal(s.PreviousSpec, undefined);
  assert.equal(s.UpdateStatus, undefined);
  assert.deepEqual(s.Spec.Mode, { Replicated: { Replicas: 1 } });
  await assert.rejects(r.control.createService(web), (err: Error & { status?: number }) => {
    assert.equal(err.status, 409);
    assert.match(err.message, /^name conflicts with an existing object: service web already exists \(ID svc1\)/);
    return true;
  });
});

test('create: no name gets a generated one; invalid specs are 400s with Docker wording', async () => {
  const r = rig();
  const { ID } = await r.control.createService({ TaskTemplate: { ContainerSpec: { Image: 'redis' } } });
  assert.equal(record(r, ID).Spec.Name, 'admiring_agnesi');
  const cases: Array<[ServiceSpec, RegExp]> = [
    [{ Name: 'x', TaskTemplate: {} }, /^TaskTemplate\.ContainerSpec is required/],
    [{ Name: 'x', TaskTemplate: { ContainerSpec: { Image: '' } } }, /^ContainerSpec: image reference must be provided/],
    [{ Name: 'x', TaskTemplate: { ContainerSpec: { Image: 'Nginx' } } }, /is not a valid repository\/tag: repository name must be lowercase/],
    [{ Name: 'bad.name', TaskTemplate: { ContainerSpec: { Image: 'nginx' } } }, /^name must be valid as a DNS name component/],
    [{ Name: 'a'.repeat(64), TaskTemplate: { ContainerSpec: { Image: 'nginx' } } }, /^name must be 63 characters or fewer/],
    [{ Name: 'x', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, Mode: { Global: {}, Replicated: { Replicas: 1 } } }, /exactly one mode/],
    [{ Name: 'x', TaskTemplate: { ContainerSpec: { Image: 'nginx' }, Resources: { Limits: { MemoryBytes: 1024 } } } }, /^invalid memory value 1024: Must be at least 4MiB/],
    [{ Name: 'x', TaskTemplate: { ContainerSpec: { Image: 'nginx' }, Placement: { Constraints: ['node.role=manager'] } } }, /^invalid constraint "node\.role=manager"/],
    [{ Name: 'x', TaskTemplate: { ContainerSpec: { Image: 'nginx' } }, UpdateConfig: { MaxFailureRatio: 2 } }, /update-maxfailureratio/],
  ];
  for (const [spec, message] of cases) {
    await assert.rejects(r.control.createService(spec), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400, message.source);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('create: jobs get a JobStatus and their counts; published ports may not clash', async () => {
  const r = rig();
  const { ID } = await r.control.createService({ Name: 'batch', TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { ReplicatedJob: { MaxConcurrent: 2 } } });
  const s = record(r, ID);
  assert.deepEqual(s.Spec.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } });
  assert.deepEqual(s.JobStatus, { JobIteration: { Index: 0 }, LastExecution: '2024-05-01T12:00:00.000000000Z' });
  const withPort = (name: string, port: number, mode?: 'host' | 'ingress'): ServiceSpec => ({
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: 'nginx' } },
    EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: port, ...(mode ? { PublishMode: mode } : {}) }] },
  });
  await r.control.createService(withPort('a', 8080));
  await assert.rejects(r.control.createService(withPort('b', 8080)), /port '8080' is already in use by service 'a' \(svc2\) as an ingress port/);
  await assert.rejects(r.control.createService(withPort('b', 8080, 'host')), /as an ingress port/);
  // Host-mode ports may be shared: the scheduler keeps those tasks on different nodes.
  await r.control.createService(withPort('h1', 9090, 'host'));
  await r.control.createService(withPort('h2', 9090, 'host'));
  const listed = await r.control.listServices({ status: false });
  assert.deepEqual(listed.find((x) => x.Spec.Name === 'a')?.Endpoint?.Ports?.[0], { TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' });
});

test('update: a new image bumps SpecVersion, keeps PreviousSpec and starts an update', async () => {
  const r = rig();
  await r.control.createService(web);
  const before = record(r, 'svc1');
  r.clock.advance(1000);
  await r.control.updateService('web', before.Version.Index, { ...web, TaskTemplate: { ContainerSpec: { Image: 'nginx:2' } } }, { rollback: false });
  const after = record(r, 'svc1');
  assert.equal(after.Internal.SpecVersion, 2);
  assert.deepEqual(after.PreviousSpec, before.Spec);
  assert.equal(after.Spec.TaskTemplate.ContainerSpec?.Image, 'nginx:2');
  assert.deepEqual(after.UpdateStatus, { State: 'updating', StartedAt: '2024-05-01T12:00:01.000000000Z', Message: 'update in progress' });
});

test('update: a scale (or the same spec with defaults filled in) needs no new tasks', async () => {
  const r = rig();
  await r.control.createService(web);
  let s = record(r, 'svc1');
  await r.control.updateService('svc1', s.Version.Index, { ...web, Mode: { Replicated: { Replicas: 10 } } }, { rollback: false });
  s = record(r, 'svc1');
  assert.equal(s.Internal.SpecVersion, 1);
  assert.equal(s.UpdateStatus, undefined);
  assert.deepEqual(s.PreviousSpec?.Mode, { Replicated: { Replicas: 3 } });
  // What `docker service update` sends after reading with insertDefaults.
  const shown = await r.control.inspectService('web', { insertDefaults: true });
  await r.control.updateService('web', shown.Version.Index, shown.Spec, { rollback: false });
  assert.equal(record(r, 'svc1').Internal.SpecVersion, 1);
  // --force is a change.
  const forced = { ...shown.Spec, TaskTemplate: { ...shown.Spec.TaskTemplate, ForceUpdate: 1 } };
  await r.control.updateService('web', record(r, 'svc1').Version.Index, forced, { rollback: false });
  assert.equal(record(r, 'svc1').Internal.SpecVersion, 2);
});

test('update: a paused update is cleared by any update (Docker resumes it); one in flight is kept', async () => {
  const r = rig();
  await r.control.createService(web);
  const s = record(r, 'svc1');
  await r.store.update((t) => t.services.update({ ...s, UpdateStatus: { State: 'paused', Message: 'update paused due to failure' } }));
  await r.control.updateService('web', record(r, 'svc1').Version.Index, web, { rollback: false });
  assert.equal(record(r, 'svc1').UpdateStatus, undefined);
  const u = record(r, 'svc1');
  await r.store.update((t) => t.services.update({ ...u, UpdateStatus: { State: 'updating', Message: 'update in progress' } }));
  await r.control.updateService('web', record(r, 'svc1').Version.Index, { ...web, Labels: { a: 'b' } }, { rollback: false });
  assert.equal(record(r, 'svc1').UpdateStatus?.State, 'updating');
});

test('update: stale versions are 409s; renames and mode changes are refused as Docker does', async () => {
  const r = rig();
  await r.control.createService(web);
  const v = record(r, 'svc1').Version.Index;
  await assert.rejects(r.control.updateService('web', v - 1, web, { rollback: false }), (err: Error & { status?: number }) => err.status === 409);
  await assert.rejects(r.control.updateService('web', v, { ...web, Name: 'www' }, { rollback: false }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 501);
    assert.match(err.message, /^renaming services is not supported/);
    return true;
  });
  await assert.rejects(r.control.updateService('web', v, { ...web, Mode: { Global: {} } }, { rollback: false }), /service mode change is not allowed \(replicated to global\)/);
  await assert.rejects(r.control.updateService('nope', v, web, { rollback: false }), /service nope not found/);
});

test('rollback: Spec and PreviousSpec swap, SpecVersion moves, rollback_started; none without a previous spec', async () => {
  const r = rig();
  await r.control.createService(web);
  await assert.rejects(r.control.updateService('web', record(r, 'svc1').Version.Index, web, { rollback: true }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 400);
    assert.match(err.message, /^service web does not have a previous spec/);
    return true;
  });
  await r.control.updateService('web', record(r, 'svc1').Version.Index, { ...web, TaskTemplate: { ContainerSpec: { Image: 'nginx:2' } } }, { rollback: false });
  const updated = record(r, 'svc1');
  r.clock.advance(2000);
  // The body of a rollback is ignored, whatever it says.
  await r.control.updateService('web', updated.Version.Index, { Name: 'ignored', TaskTemplate: {} }, { rollback: true });
  const back = record(r, 'svc1');
  assert.equal(back.Spec.TaskTemplate.ContainerSpec?.Image, 'nginx:1');
  assert.equal(back.PreviousSpec?.TaskTemplate.ContainerSpec?.Image, 'nginx:2');
  assert.equal(back.Internal.SpecVersion, 3);
  assert.deepEqual(back.UpdateStatus, { State: 'rollback_started', StartedAt: '2024-05-01T12:00:02.000000000Z', Message: 'manually requested rollback' });
});

test('jobs: every update is a new run (JobIteration and SpecVersion move) without an UpdateStatus', async () => {
  const r = rig();
  await r.control.createService({ Name: 'job', TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { GlobalJob: {} } });
  const s = record(r, 'svc1');
  await r.control.updateService('job', s.Version.Index, { ...s.Spec, Labels: { run: '2' } }, { rollback: false });
  const after = record(r, 'svc1');
  assert.equal(after.JobStatus?.JobIteration.Index, 1);
  assert.equal(after.Internal.SpecVersion, 2);
  assert.equal(after.UpdateStatus, undefined);
});

test('remove: the service goes and its tasks are told to, in chunks when there are many', async () => {
  const r = rig();
  await r.control.createService(web);
  await addTasks(r, 'svc1', 2500);
  await r.store.update((t) => {
    const done = r.memory.get('tasks', 'svc1-t1')!;
    t.tasks.update({ ...done, DesiredState: 'shutdown' });
  });
  const proposalsBefore = r.proposer.proposals.length;
  await r.control.removeService('web');
  assert.equal(r.memory.get('services', 'svc1'), undefined);
  const states = new Set(r.memory.find('tasks', 'service', 'svc1').map((t) => t.DesiredState));
  assert.deepEqual([...states], ['remove']);
  assert.equal(r.proposer.proposals.length - proposalsBefore, 3, 'three transactions of at most 1000 tasks');
  await assert.rejects(r.control.removeService('web'), /service web not found/);
});

test('list and inspect: ServiceStatus counts, insertDefaults, Internal never shown', async () => {
  const r = rig();
  await r.store.update((t) => {
    t.nodes.create(nodeDraft('n1'));
    t.nodes.create({ ...nodeDraft('n2'), Status: { State: 'down', Addr: '10.0.0.2' } });
  });
  await r.control.createService(web);
  await addTasks(r, 'svc1', 2, { node: 'n1' });
  await r.store.update((t) => {
    t.tasks.create({
      ID: 'on-down-node',
      ServiceID: 'svc1',
      Slot: 3,
      NodeID: 'n2',
      Spec: {},
      Status: { Timestamp: '2024-05-01T12:00:00.000000000Z', State: 'running', Message: 'started' },
      DesiredState: 'running',
      Internal: { SpecVersion: 1 },
    });
  });
  const [listed] = await r.control.listServices({ status: true });
  assert.deepEqual(listed?.ServiceStatus, { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 });
  assert.equal((listed as unknown as { Internal?: unknown }).Internal, undefined);
  const plain = await r.control.inspectService('svc', { insertDefaults: false });
  assert.equal(plain.Spec.UpdateConfig, undefined);
  assert.deepEqual(plain.Endpoint, { Spec: {} });
  const filled = await r.control.inspectService('svc', { insertDefaults: true });
  assert.equal(filled.Spec.RollbackConfig?.FailureAction, 'pause');
});

test('tasks: filters through the indexes, _up-to-date against the service spec, lookup by name', async () => {
  const r = rig();
  await r.store.update((t) => t.nodes.create(nodeDraft('n1', { hostname: 'worker-1' })));
  await r.control.createService(web);
  await addTasks(r, 'svc1', 2, { node: 'n1' });
  await r.control.createService({ ...web, Name: 'api' });
  // An older version with another spec is out of date (the same spec would not be: a rollback leaves such tasks alone).
  await addTasks(r, 'svc2', 1, { version: 0, image: 'nginx:0' });
  const ids = async (f: Record<string, string[]>): Promise<string[]> =>
    (await r.control.listTasks(new Map(Object.entries(f)))).map((t) => t.ID);
  assert.deepEqual(await ids({}), ['svc1-t1', 'svc1-t2', 'svc2-t1']);
  assert.deepEqual(await ids({ service: ['web'] }), ['svc1-t1', 'svc1-t2']);
  assert.deepEqual(await ids({ node: ['worker-1'] }), ['svc1-t1', 'svc1-t2']);
  assert.deepEqual(await ids({ service: ['api'], '_up-to-date': ['true'] }), []);
  assert.deepEqual(await ids({ name: ['api.1'] }), ['svc2-t1']);
  await assert.rejects(ids({ service: ['nope'] }), /service nope not found/);
  assert.equal((await r.control.inspectTask('web.2.svc1-t2')).ID, 'svc1-t2');
  assert.equal(((await r.control.inspectTask('svc2')) as unknown as { Internal?: unknown }).Internal, undefined);
});

test('registry credentials: kept with the spec for the workers, never shown; an update without them keeps the current ones', async () => {
  const r = rig();
  const { ID } = await r.control.createService(web, { registryAuth: 'Y3JlZHM' });
  assert.deepEqual(record(r, ID).Spec.TaskTemplate.ContainerSpec?.PullOptions, { RegistryAuth: 'Y3JlZHM' });
  const shown = await r.control.inspectService(ID, { insertDefaults: false });
  assert.equal(shown.Spec.TaskTemplate.ContainerSpec?.PullOptions, undefined, 'the API never returns credentials');
  assert.equal(JSON.stringify(await r.control.listServices({ status: false })).includes('Y3JlZHM'), false);

  // The CLI sends back the spec it read (without credentials): the stored ones stay.
  await r.control.updateService(ID, record(r, ID).Version.Index, { ...shown.Spec, Labels: { a: 'b' } }, { rollback: false });
  assert.deepEqual(record(r, ID).Spec.TaskTemplate.ContainerSpec?.PullOptions, { RegistryAuth: 'Y3JlZHM' });
  assert.equal(record(r, ID).PreviousSpec?.TaskTemplate.ContainerSpec?.PullOptions?.RegistryAuth, 'Y3JlZHM');
  // New credentials replace them; registryAuthFrom=previous-spec takes the previous spec's.
  await r.control.updateService(ID, record(r, ID).Version.Index, shown.Spec, { rollback: false, registryAuth: 'bmV3' });
  assert.equal(record(r, ID).Spec.TaskTemplate.ContainerSpec?.PullOptions?.RegistryAuth, 'bmV3');
  await r.control.updateService(ID, record(r, ID).Version.Index, shown.Spec, { rollback: false, registryAuthFrom: 'previous-spec' });
  assert.equal(record(r, ID).Spec.TaskTemplate.ContainerSpec?.PullOptions?.RegistryAuth, 'Y3JlZHM');
});

test('image pinning for clients older than API 1.30: the tag becomes tag@digest; an unreachable registry leaves it with docker\'s warning', async () => {
  const memory = new MemoryStore();
  const clock = new ManualClock(T0);
  const store = new ReplicatedStore(memory, new FakeProposer([memory]), clock);
  const asked: Array<[string, string | undefined]> = [];
  const pinner = async (image: string, auth: string | undefined): Promise<string | undefined> => {
    asked.push([image, auth]);
    return image.startsWith('127.0.0.1:5000/') ? `${image}@sha256:${'a'.repeat(64)}` : undefined;
  };
  let n = 0;
  const control = new ServiceControl(store, clock, () => `svc${++n}`, () => 0, pinner);
  const spec = (image: string, name: string): ServiceSpec => ({ Name: name, TaskTemplate: { ContainerSpec: { Image: image } }, Mode: { Replicated: { Replicas: 1 } } });

  const pinned = await control.createService(spec('127.0.0.1:5000/web:1', 'a'), { queryRegistry: true, registryAuth: 'e30' });
  assert.deepEqual(pinned.Warnings, []);
  assert.equal(memory.get('services', pinned.ID)?.Spec.TaskTemplate.ContainerSpec?.Image, `127.0.0.1:5000/web:1@sha256:${'a'.repeat(64)}`);
  assert.deepEqual(asked, [['127.0.0.1:5000/web:1', 'e30']], 'asked once, with the credentials sent');

  const unpinned = await control.createService(spec('nowhere/web:1', 'b'), { queryRegistry: true });
  assert.equal(memory.get('services', unpinned.ID)?.Spec.TaskTemplate.ContainerSpec?.Image, 'nowhere/web:1');
  assert.match(unpinned.Warnings[0] ?? '', /^image nowhere\/web:1 could not be accessed on a registry to record\nits digest\./);

  // Newer clients pin through GET /distribution themselves (or chose --no-resolve-image): left alone.
  asked.length = 0;
  const modern = await control.createService(spec('127.0.0.1:5000/web:2', 'c'));
  assert.equal(memory.get('services', modern.ID)?.Spec.TaskTemplate.ContainerSpec?.Image, '127.0.0.1:5000/web:2');
  assert.deepEqual(asked, []);
  // An image already pinned is never asked about.
  await control.createService(spec(`127.0.0.1:5000/web:3@sha256:${'b'.repeat(64)}`, 'd'), { queryRegistry: true });
  assert.deepEqual(asked, []);
});
