// `shoal demo swarm`: a real swarm on this machine. Daemon processes on
// loopback, each with its own data root, form a swarm of managers and
// workers over libp2p and run a replicated service of real runc containers
// (an image built from busybox-static, pushed to Debian's docker-registry on
// loopback), or on the simulated executor where containers cannot run; then
// the leader is killed with SIGKILL, the others elect a new one, keep the
// service running and take a scale-up, and the killed manager restarts on its
// data root and rejoins.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node, Service, Swarm, Task } from '../shared/model/index.js';
import { formatServiceTable } from './format/service.js';
import { formatNodeTable } from './format/node.js';
import { DaemonClient } from './http-client.js';
import { BUSYBOX, buildTestImage } from '../test/fixtures/images.js';
import { REGISTRY_BINARY, startRegistry, type RegistryFixture } from '../test/fixtures/registry.js';
import { cleanupRuntime, RUNC, runcContainers } from '../test/fixtures/runtime.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export interface SwarmDemoOptions {
  managers: number;
  workers: number;
  format: 'text' | 'json';
  keep: boolean;
  logLevel: string;
  executor: 'auto' | 'oci' | 'sim';
}

/** Why real containers cannot run here, or undefined when they can. */
function ociMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const [file, pkg] of [[RUNC, 'runc'], [REGISTRY_BINARY, 'docker-registry'], [BUSYBOX, 'busybox-static']] as const) {
    if (!existsSync(file)) return `${file} missing (apt-get install ${pkg})`;
  }
  return undefined;
}

function shoalCli(socket: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, '-H', `unix://${socket}`, ...args], { env: { ...process.env, SHOAL_LOG_LEVEL: 'warn' }, timeout: 30_000 }, (_err, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    );
  });
}

interface DemoDaemon {
  name: string;
  dataRoot: string;
  port: number;
  socket: string;
  client: DaemonClient;
  child: ChildProcess | undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runSwarmDemo(o: SwarmDemoOptions): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'shoal-demo-'));
  const say = (s: string): void => {
    if (o.format === 'text') process.stdout.write(`${s}\n`);
  };
  const missing = o.executor === 'sim' ? 'sim chosen' : ociMissing();
  if (missing !== undefined && o.executor === 'oci') throw new Error(`demo: real containers cannot run here: ${missing}; run setup.sh as root, or use --executor sim`);
  const executor = missing === undefined ? 'oci' : 'sim';
  if (executor === 'sim' && o.executor === 'auto') say(`(Real containers cannot run here: ${missing}. The demo uses the simulated executor.)`);
  const daemons: DemoDaemon[] = [];
  let registry: RegistryFixture | undefined;
  const start = async (d: DemoDaemon): Promise<void> => {
    const log = await open(join(root, `${d.name}.log`), 'a');
    d.child = spawn(process.execPath, [MAIN, 'daemon', '--executor', executor, '--data-root', d.dataRoot, '-H', `unix://${d.socket}`, '--log-level', o.logLevel], {
      stdio: ['ignore', log.fd, log.fd],
    });
    // The child has its own copy of the descriptor.
    await log.close();
    await until(`${d.name} to answer`, async () => ((await d.client.get('/version')) ? true : undefined));
  };
  const summary: Record<string, number | string> = {};
  try {
    const names = [...Array.from({ length: o.managers }, (_, i) => `manager${i + 1}`), ...Array.from({ length: o.workers }, (_, i) => `worker${i + 1}`)];
    for (const name of names) {
      const dataRoot = join(root, name);
      const socket = join(root, `${name}.sock`);
      const d: DemoDaemon = { name, dataRoot, port: await freePort(), socket, client: new DaemonClient({ host: `unix://${socket}` }), child: undefined };
      daemons.push(d);
    }
    say(`Starting ${daemons.length} shoal daemons on loopback (data roots and logs in ${root}${o.keep ? '' : ', removed at the end; --keep keeps them'})`);
    await Promise.all(daemons.map(start));
    const [first, ...rest] = daemons as [DemoDaemon, ...DemoDaemon[]];
    const addr = (d: DemoDaemon): string => `127.0.0.1:${d.port}`;
    await first.client.post('/swarm/init', { ListenAddr: addr(first), AdvertiseAddr: addr(first), Spec: { Dispatcher: { HeartbeatPeriod: 1e9 } } });
    const tokens = ((await first.client.get('/swarm')) as Swarm).JoinTokens;
    say(`${first.name}: swarm initialised; join token for workers: ${tokens.Worker.slice(0, 24)}...`);
    for (const d of rest) {
      const manager = d.name.startsWith('manager');
      await d.client.post('/swarm/join', { ListenAddr: addr(d), AdvertiseAddr: addr(d), RemoteAddrs: [addr(first)], JoinToken: manager ? tokens.Manager : tokens.Worker });
      say(`${d.name}: joined as a ${manager ? 'manager' : 'worker'}`);
    }
    const selfId = async (d: DemoDaemon): Promise<string> => ((await d.client.get('/info')) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    const formed = (nodes: Node[]): boolean =>
      nodes.length === daemons.length &&
      nodes.every((n) => n.Status.State === 'ready') &&
      nodes.filter((n) => n.ManagerStatus?.Reachability === 'reachable').length === o.managers;
    const nodes = await until('the swarm to form', async () => {
      const list = (await first.client.get('/nodes')) as Node[];
      return formed(list) ? list : undefined;
    });
    say(`\n$ shoal node ls    (on ${first.name})\n${formatNodeTable(nodes, await selfId(first))}`);

    // The leader's loops create, place and start the service's tasks on the
    // workers (and managers, which are not drained).
    const replicas = 3 * daemons.length;
    let containerSpec: Record<string, unknown> = { Image: 'sim/web:1', Env: ['SHOAL_SIM_START_MS=100'] };
    if (executor === 'oci') {
      registry = await startRegistry();
      const image = await buildTestImage({ registry: registry.host, repository: 'demo/web', tags: ['1'], variant: 'app' });
      // What `shoal service create` does: pin the tag to the digest the registry names, so every node runs the same image.
      const dist = (await first.client.get(`/distribution/${image.ref}/json`)) as { Descriptor: { digest: string } };
      containerSpec = { Image: `${image.ref}@${dist.Descriptor.digest}`, StopGracePeriod: 2e9 };
      say(`\nBuilt ${image.ref} from busybox-static (3 layers) and pushed it to a registry on loopback.`);
    }
    const created = (await first.client.post('/services/create', {
      Name: 'web',
      TaskTemplate: { ContainerSpec: containerSpec, ...(executor === 'oci' ? { Resources: { Limits: { MemoryBytes: 32 * 1024 * 1024 } } } : {}) },
      Mode: { Replicated: { Replicas: replicas } },
    })) as { ID: string };
    const runningTasks = async (d: DemoDaemon): Promise<Task[]> =>
      ((await d.client.get('/tasks', { filters: JSON.stringify({ service: [created.ID], 'desired-state': ['running'] }) })) as Task[]).filter(
        (t) => t.Status.State === 'running',
      );
    const servicesTable = async (d: DemoDaemon): Promise<string> => formatServiceTable((await d.client.get('/services', { status: true })) as Service[]);
    const createdAt = Date.now();
    await until(`${replicas} running replicas`, async () => ((await runningTasks(first)).length === replicas ? true : undefined));
    summary['service_converge_ms'] = Date.now() - createdAt;
    say(`\nCreated service web with ${replicas} replicas: all running after ${summary['service_converge_ms']} ms.`);
    say(`$ shoal service ls    (on ${first.name})\n${await servicesTable(first)}`);
    if (executor === 'oci') {
      const perNode = await Promise.all(daemons.map(async (d) => `${d.name} ${(await runcContainers(d.dataRoot)).filter((c) => c.status === 'running').length}`));
      summary['containers'] = replicas;
      say(`runc containers running per node: ${perNode.join(', ')}`);
      const logs = (await shoalCli(first.socket, ['service', 'logs', 'web'])).split('\n').filter((l) => l.includes('hello from')).slice(0, 4);
      say(`$ shoal service logs web | grep hello    (the first lines: each container has its own hostname)\n${logs.join('\n')}`);
    }

    const managers = daemons.filter((d) => d.name.startsWith('manager'));
    const leaderNode = nodes.find((n) => n.ManagerStatus?.Leader)!;
    let leader: DemoDaemon | undefined;
    for (const d of managers) if ((await selfId(d)) === leaderNode.ID) leader = d;
    const worker = nodes.find((n) => n.Spec.Role === 'worker') ?? nodes[0]!;
    // Writes acknowledged before the crash, through a follower that forwards them to the leader.
    const via = managers.find((d) => d !== leader) ?? first;
    for (let i = 1; i <= 5; i++) {
      const n = (await via.client.get(`/nodes/${worker.ID}`)) as Node;
      await via.client.post(`/nodes/${worker.ID}/update`, { ...n.Spec, Labels: { ...n.Spec.Labels, [`demo.write${i}`]: 'acknowledged' } }, { version: n.Version.Index });
    }
    say(`\nWrote 5 labels on ${worker.Description.Hostname} (${worker.ID.slice(0, 12)}) through ${via.name}.`);
    if (leader && managers.length >= 3) {
      say(`Killing the leader ${leader.name} with SIGKILL...`);
      const killedAt = Date.now();
      leader.child?.kill('SIGKILL');
      const survivor = via;
      await until('a new committed write', async () => {
        const n = (await survivor.client.get(`/nodes/${worker.ID}`)) as Node;
        await survivor.client.post(`/nodes/${worker.ID}/update`, { ...n.Spec, Labels: { ...n.Spec.Labels, 'demo.after': 'failover' } }, { version: n.Version.Index });
        return true;
      });
      const failoverMs = Date.now() - killedAt;
      summary['failover_ms'] = failoverMs;
      const after = (await survivor.client.get(`/nodes/${worker.ID}`)) as Node;
      const kept = Object.keys(after.Spec.Labels ?? {}).filter((k) => k.startsWith('demo.write')).length;
      summary['writes_kept'] = kept;
      say(`A new leader took a write ${failoverMs} ms after the kill; ${kept} of 5 earlier writes are present.`);
      // The service keeps running and follows a scale-up made through the new leader.
      const svc = (await survivor.client.get(`/services/${created.ID}`)) as Service;
      const scaled = replicas + 5;
      await survivor.client.post(`/services/${created.ID}/update`, { ...svc.Spec, Mode: { Replicated: { Replicas: scaled } } }, { version: svc.Version.Index });
      await until(`${scaled} running replicas`, async () => ((await runningTasks(survivor)).filter((t) => t.NodeID !== leaderNode.ID).length >= scaled ? true : undefined), 60_000);
      summary['replicas_after_failover'] = scaled;
      say(`Scaled web to ${scaled} through ${survivor.name}: all running (tasks on the dead manager are replaced once it is marked down).`);
      const view = await until('the dead manager to show as unreachable', async () => {
        const list = (await survivor.client.get('/nodes')) as Node[];
        return list.some((n) => n.ManagerStatus?.Reachability === 'unreachable') ? list : undefined;
      });
      say(`\n$ shoal node ls    (on ${survivor.name})\n${formatNodeTable(view, await selfId(survivor))}`);
      say(`Restarting ${leader.name} on its data root...`);
      await start(leader);
      const rejoined = await until(`${leader.name} to rejoin`, async () => {
        const list = (await leader.client.get('/nodes')) as Node[];
        const t = list.find((n) => n.ID === worker.ID);
        return formed(list) && t?.Spec.Labels?.['demo.after'] === 'failover' ? list : undefined;
      });
      say(`\n$ shoal node ls    (on ${leader.name}, after the restart)\n${formatNodeTable(rejoined, await selfId(leader))}`);
      say(`$ shoal service ls    (on ${leader.name})\n${await servicesTable(leader)}`);
    }
    summary['nodes'] = daemons.length;
    summary['managers'] = o.managers;
    if (o.format === 'json') process.stdout.write(`${JSON.stringify(summary)}\n`);
    else say('Demo complete: the swarm and its service survived the loss of the leader.');
  } finally {
    for (const d of daemons) d.child?.kill('SIGTERM');
    await Promise.all(
      daemons.map((d) => (d.child && d.child.exitCode === null ? new Promise((r) => d.child!.once('exit', r)) : undefined)),
    );
    await Promise.all(daemons.map((d) => d.client.close()));
    // Containers outlive their daemons on purpose; the demo is over, so they go too.
    if (executor === 'oci') await Promise.all(daemons.map((d) => cleanupRuntime(d.dataRoot)));
    await registry?.stop();
    if (!o.keep) await rm(root, { recursive: true, force: true });
  }
}
