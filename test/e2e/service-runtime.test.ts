// Services on real containers: shoal daemons with the default `oci` executor
// (runc), images built from busybox-static and pushed to Debian's
// docker-registry on loopback (one open, one with htpasswd auth). The issue's
// acceptance, in order: 5 replicas with their own PID namespace, hostname and
// memory limit, logs, an image update; an unhealthy task replaced; a
// start-first update to an image that never gets healthy rolled back; kill -9
// of the daemon with containers running on, re-attached after the restart;
// the auth registry with and without credentials; two workers sharing 10
// replicas.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Service, ServiceSpec, Swarm, Task } from '../../shared/model/index.js';
import { DaemonCluster, eventually, MAIN, type DaemonProcess } from '../fixtures/daemons.js';
import { buildTestImage, type BuiltImage } from '../fixtures/images.js';
import { startRegistry, type RegistryFixture } from '../fixtures/registry.js';
import { runcContainers } from '../fixtures/runtime.js';
import { requireRoot, requireRunc } from './helpers/root.js';

const MiB = 1024 * 1024;
const SECOND = 1e9;
const AUTH = { username: 'shoal', password: 'sesame' };
// Prints what the test checks, then ticks; `exec` keeps the shell out of the way of signals.
const REPORT = 'echo "pid=$$ host=$(hostname)"; while true; do echo tick; sleep 1; done';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function shoal(d: DaemonProcess, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_')) base[k] = v;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, '-H', d.hostArg, ...args], { env: { ...base, SHOAL_LOG_LEVEL: 'warn', ...env }, timeout: 60_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`shoal ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

const running = (ts: readonly Task[]): Task[] => ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');

describe('services on real containers (runc, a loopback registry)', { timeout: 600_000 }, () => {
  let c: DaemonCluster;
  let m1: DaemonProcess;
  let open: RegistryFixture;
  let locked: RegistryFixture;
  const img: Record<string, BuiltImage> = {};

  const tasksOf = (service: string): Promise<Task[]> =>
    m1.ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  const create = async (spec: ServiceSpec): Promise<string> => (await m1.ok<{ ID: string }>('POST', '/services/create', spec)).ID;
  const inspect = (id: string): Promise<Service> => m1.ok<Service>('GET', `/services/${id}`);
  const update = async (id: string, change: (s: ServiceSpec) => ServiceSpec): Promise<void> => {
    const svc = await inspect(id);
    await m1.ok('POST', `/services/${id}/update?version=${svc.Version.Index}`, change(svc.Spec));
  };
  /** What a client does before create (GET /distribution on the manager): the reference pinned to the registry's digest. */
  const pin = async (ref: string): Promise<string> => {
    const d = await m1.ok<{ Descriptor: { digest: string } }>('GET', `/distribution/${ref}/json`);
    return `${ref}@${d.Descriptor.digest}`;
  };
  const remove = async (id: string): Promise<void> => {
    await m1.ok('DELETE', `/services/${id}`);
    await eventually(async () => (await runcContainers(m1.dataRoot)).length === 0 || undefined, `the containers of ${id} gone`, 60_000, 100);
  };
  const convergedRunning = (service: string, n: number, what: string, keep: (t: Task) => boolean = () => true): Promise<Task[]> =>
    eventually(async () => {
      const r = running(await tasksOf(service)).filter(keep);
      return r.length === n ? r : undefined;
    }, what, 90_000, 100);

  before(async () => {
    requireRoot('test/e2e/service-runtime.test.ts');
    await requireRunc();
    open = await startRegistry();
    locked = await startRegistry({ auth: AUTH });
    const base = { registry: open.host, tags: ['1'] };
    img['app1'] = await buildTestImage({ ...base, repository: 'e2e/app', variant: 'app', cmd: ['sh', '-c', REPORT] });
    img['app2'] = await buildTestImage({
      ...base,
      repository: 'e2e/app',
      tags: ['2'],
      variant: 'app',
      cmd: ['sh', '-c', REPORT],
      extraLayers: [[{ path: 'app/version', type: 'file', content: '2\n' }]],
    });
    img['healthy'] = await buildTestImage({ ...base, repository: 'e2e/healthy', variant: 'healthy' });
    img['unhealthy'] = await buildTestImage({ ...base, repository: 'e2e/unhealthy', variant: 'unhealthy' });
    img['private'] = await buildTestImage({ registry: locked.host, tags: ['1'], repository: 'e2e/private', variant: 'app', auth: AUTH });

    c = await DaemonCluster.create('shoal-e2e-rt-');
    m1 = await c.add('m1');
    await m1.ok('POST', '/swarm/init', { ListenAddr: m1.addr, AdvertiseAddr: m1.addr });
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs(80)}\n`);
    await c?.destroy();
    await open?.stop();
    await locked?.stop();
  });

  it('runs 5 replicas as isolated containers with a memory limit, shows their logs, and updates them to a new image', async () => {
    const created = await shoal(m1, [
      'service', 'create', '--detach', '--name', 'web', '--replicas', '5', '--limit-memory', '64m',
      '--update-parallelism', '2', '--update-delay', '0s', '--update-order', 'stop-first', '--update-monitor', '1s', '--update-failure-action', 'pause',
      img['app1']!.ref,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, '', 'no warning: the registry was reachable');
    const id = created.stdout.trim();
    // The CLI asked the manager (GET /distribution) for the digest the tag names and pinned the spec to it.
    assert.equal((await inspect(id)).Spec.TaskTemplate.ContainerSpec?.Image, img['app1']!.pinned);
    const tasks = await convergedRunning(id, 5, '5 running containers');

    const hostPidNs = await readlink('/proc/self/ns/pid');
    const pidNamespaces = new Set<string>();
    for (const t of tasks) {
      const cid = t.Status.ContainerStatus?.ContainerID;
      const pid = t.Status.ContainerStatus?.PID;
      assert.ok(cid !== undefined && /^[0-9a-f]{64}$/.test(cid), `task ${t.ID} reports its container ID`);
      assert.ok(pid !== undefined && pid > 1, `task ${t.ID} reports its container's PID`);
      pidNamespaces.add(await readlink(`/proc/${pid}/ns/pid`));
      const limit = await readFile(`/sys/fs/cgroup/memory/shoal/${cid}/memory.limit_in_bytes`, 'utf8');
      assert.equal(Number(limit), 64 * MiB, `the memory limit in ${cid}'s cgroup`);
    }
    assert.equal(pidNamespaces.size, 5, 'one PID namespace per container');
    assert.ok(!pidNamespaces.has(hostPidNs), 'none of them the host PID namespace');

    // Each container says it is PID 1, with its own hostname (its container ID's first 12 characters).
    const logs = await eventually(async () => {
      const r = await shoal(m1, ['service', 'logs', 'web']);
      return (r.stdout.match(/pid=1 host=/g) ?? []).length >= 5 ? r.stdout : undefined;
    }, 'every replica in `shoal service logs`', 30_000, 250);
    for (const t of tasks) {
      const host = t.Status.ContainerStatus!.ContainerID!.slice(0, 12);
      assert.match(logs, new RegExp(`^web\\.${t.Slot}\\.${t.ID.slice(0, 12)}@\\S+\\s+\\| pid=1 host=${host}$`, 'm'), `replica ${t.Slot}'s line`);
    }

    const updated = await shoal(m1, ['service', 'update', '--detach', '--image', img['app2']!.ref, 'web']);
    assert.equal(updated.code, 0, updated.stderr);
    const onV2 = (t: Task): boolean => t.Spec.ContainerSpec?.Image === img['app2']!.pinned;
    await convergedRunning(id, 5, '5 replicas on the new image', onV2);
    await eventually(async () => (await inspect(id)).UpdateStatus?.State === 'completed' || undefined, 'the update completed', 60_000, 100);
    const all = await tasksOf(id);
    assert.equal(running(all).length, 5, 'never more than the 5 replicas running');
    assert.equal(all.filter((t) => !onV2(t)).length, 5, 'the 5 old tasks were replaced, not restarted');
    await remove(id);
  });

  it('replaces a task whose healthcheck fails', async () => {
    const id = await create({
      Name: 'sick',
      TaskTemplate: { ContainerSpec: { Image: img['unhealthy']!.ref }, RestartPolicy: { Condition: 'any', Delay: 0 } },
      Mode: { Replicated: { Replicas: 1 } },
    });
    const failed = await eventually(async () => {
      const ts = await tasksOf(id);
      const f = ts.find((t) => t.Status.State === 'failed');
      return f !== undefined && ts.length >= 2 ? f : undefined;
    }, 'an unhealthy task failed and a replacement made', 60_000, 200);
    assert.equal(failed.Status.Err, 'unhealthy container');
    await remove(id);
  });

  it('rolls back a start-first update to an image whose healthcheck never passes', async () => {
    const id = await create({
      Name: 'careful',
      TaskTemplate: { ContainerSpec: { Image: await pin(img['healthy']!.ref) } },
      Mode: { Replicated: { Replicas: 2 } },
      UpdateConfig: { Parallelism: 1, Delay: 0, Order: 'start-first', FailureAction: 'rollback', Monitor: 5 * SECOND, MaxFailureRatio: 0 },
      RollbackConfig: { Parallelism: 1, Delay: 0, Order: 'start-first', FailureAction: 'pause', Monitor: SECOND },
    });
    await convergedRunning(id, 2, '2 healthy replicas');
    const bad = await pin(img['unhealthy']!.ref);
    await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: bad } } }));
    const svc = await eventually(async () => {
      const s = await inspect(id);
      return s.UpdateStatus?.State === 'rollback_completed' ? s : undefined;
    }, 'the update rolled back', 120_000, 200);
    assert.equal(svc.Spec.TaskTemplate.ContainerSpec?.Image, img['healthy']!.pinned);
    await convergedRunning(id, 2, '2 replicas on the healthy image again', (t) => t.Spec.ContainerSpec?.Image === img['healthy']!.pinned);
    await remove(id);
  });

  it('keeps containers running through kill -9 of the daemon and re-attaches to them after the restart', async () => {
    const id = await create({ Name: 'steady', TaskTemplate: { ContainerSpec: { Image: img['app1']!.ref } }, Mode: { Replicated: { Replicas: 3 } } });
    const before = await convergedRunning(id, 3, '3 running replicas');
    const containersBefore = (await runcContainers(m1.dataRoot)).filter((x) => x.status === 'running');
    assert.equal(containersBefore.length, 3);

    await m1.kill9();
    const whileDown = (await runcContainers(m1.dataRoot)).filter((x) => x.status === 'running');
    assert.deepEqual(
      whileDown.map((x) => [x.id, x.pid]).sort(),
      containersBefore.map((x) => [x.id, x.pid]).sort(),
      'the containers run on without their daemon',
    );

    await m1.start();
    const after = await convergedRunning(id, 3, '3 running replicas after the restart');
    assert.deepEqual(after.map((t) => t.ID).sort(), before.map((t) => t.ID).sort(), 'the same tasks, not replacements');
    // Give the agent time to have restarted anything it wrongly would, then compare.
    await eventually(async () => (await m1.ok<{ Swarm: { LocalNodeState: string } }>('GET', '/info')).Swarm.LocalNodeState === 'active' || undefined, 'the node active again');
    const containersAfter = (await runcContainers(m1.dataRoot)).filter((x) => x.status === 'running');
    assert.deepEqual(
      containersAfter.map((x) => [x.id, x.pid]).sort(),
      containersBefore.map((x) => [x.id, x.pid]).sort(),
      'no container was restarted: same IDs, same PIDs',
    );
    const tasksNow = await tasksOf(id);
    assert.equal(tasksNow.length, 3, 'no task was replaced');
    await remove(id);
  });

  it('pulls from a registry with auth only with credentials (--with-registry-auth), with a clear error without', async () => {
    const without = await create({ Name: 'private-anon', TaskTemplate: { ContainerSpec: { Image: img['private']!.ref } }, Mode: { Replicated: { Replicas: 1 } } });
    const rejected = await eventually(async () => (await tasksOf(without)).find((t) => t.Status.State === 'rejected'), 'the pull refused', 60_000, 200);
    assert.match(rejected.Status.Err ?? '', /pull access denied|no basic auth credentials|unauthorized/);
    assert.match(rejected.Status.Err ?? '', new RegExp(img['private']!.repository.replace('/', '\\/')));
    await remove(without);

    const config = await mkdtemp(join(tmpdir(), 'shoal-docker-config-'));
    const auth = Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64');
    await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [locked.host]: { auth } } }));
    const r = await shoal(m1, ['service', 'create', '--detach', '--with-registry-auth', '--name', 'private', img['private']!.ref], { DOCKER_CONFIG: config });
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim().split('\n').at(-1)!;
    await convergedRunning(id, 1, 'the private image running');
    const svc = await inspect(id);
    assert.equal(JSON.stringify(svc).includes(auth) || JSON.stringify(svc).includes('sesame'), false, 'credentials never shown by the API');
    await remove(id);
    await rm(config, { recursive: true, force: true });
  });

  it('two workers each run their share of a 10-replica service', async () => {
    const tokens = (await m1.ok<Swarm>('GET', '/swarm')).JoinTokens;
    const workers: DaemonProcess[] = [];
    for (const name of ['w1', 'w2']) {
      const d = await c.add(name);
      await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Worker });
      workers.push(d);
    }
    const self = await m1.ok<{ Swarm: { NodeID: string } }>('GET', '/info');
    const node = await m1.ok<{ Version: { Index: number }; Spec: Record<string, unknown> }>('GET', `/nodes/${self.Swarm.NodeID}`);
    await m1.ok('POST', `/nodes/${self.Swarm.NodeID}/update?version=${node.Version.Index}`, { ...node.Spec, Availability: 'drain' });
    const id = await create({ Name: 'shared', TaskTemplate: { ContainerSpec: { Image: img['app1']!.ref } }, Mode: { Replicated: { Replicas: 10 } } });
    const tasks = await convergedRunning(id, 10, '10 running replicas on the two workers');
    const perNode = new Map<string, number>();
    for (const t of tasks) perNode.set(t.NodeID!, (perNode.get(t.NodeID!) ?? 0) + 1);
    assert.deepEqual([...perNode.values()], [5, 5], 'five each');
    for (const w of workers) {
      const onIt = (await runcContainers(w.dataRoot)).filter((x) => x.status === 'running');
      assert.equal(onIt.length, 5, `${w.name} runs five containers of its own`);
    }
    await m1.ok('DELETE', `/services/${id}`);
    for (const w of workers) await eventually(async () => (await runcContainers(w.dataRoot)).length === 0 || undefined, `${w.name}'s containers gone`, 60_000, 100);
  });
});
