// `npm run bench -- converge-real [--replicas N] [--no-docker]`: real containers.
// A 50-replica service on one node (a shoal daemon, the oci executor, runc),
// from `service create` to every replica running, with the image in a
// registry on loopback: cold (the node has not pulled the image yet) and warm
// (it has). Beside it, in the same run: the physical floor, N sequential
// plain `runc run -d` of the same image's root filesystem, and Docker Swarm
// doing what shoal did, when Debian's docker.io is installed.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceSpec, Task } from '../shared/model/index.js';
import { createLogger } from '../shared/logger.js';
import { ImageStore } from '../worker/image/store.js';
import { buildTestImage } from '../test/fixtures/images.js';
import { startRegistry } from '../test/fixtures/registry.js';
import { runcContainers } from '../test/fixtures/runtime.js';
import { benchCluster, benchRoot, eventually, reporter, type DaemonProcess } from './daemons.js';
import { measureDockerSwarm } from './peers/docker-swarm.js';
import { measureRuncFloor } from './peers/runc-floor.js';

const run = promisify(execFile);
const report = reporter('converge-real');
// The same process in every container, shoal's, runc's and Docker's.
const ARGS = ['sleep', '3600'];

interface Options {
  replicas: number;
  docker: boolean;
}

function parseOptions(args: string[]): Options {
  const o: Options = { replicas: 50, docker: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--replicas') o.replicas = Number(args[++i]);
    else if (a === '--no-docker') o.docker = false;
    else throw new Error(`unknown option ${a}; use --replicas N, --no-docker`);
  }
  if (!Number.isInteger(o.replicas) || o.replicas < 1) throw new Error('--replicas must be a positive integer');
  return o;
}

async function runningCount(d: DaemonProcess, service: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ service: [service], 'desired-state': ['running'] }));
  const tasks = await d.ok<Task[]>('GET', `/tasks?filters=${filters}`);
  return tasks.filter((t) => t.Status.State === 'running').length;
}

/** `service create` to N replicas running, polled every 20 ms; then the service is removed and its containers waited out. */
async function createToRunning(d: DaemonProcess, image: string, replicas: number, name: string): Promise<number> {
  const spec: ServiceSpec = {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: image, Args: ARGS, StopSignal: 'SIGKILL' } },
    Mode: { Replicated: { Replicas: replicas } },
  };
  const t0 = performance.now();
  await d.ok('POST', '/services/create', spec);
  await eventually(async () => (await runningCount(d, name)) === replicas || undefined, `${replicas} running replicas of ${name}`, 180_000, 20);
  const ms = performance.now() - t0;
  await d.ok('DELETE', `/services/${name}`);
  await eventually(async () => (await runcContainers(d.dataRoot)).length === 0 || undefined, `the containers of ${name} gone`, 120_000, 100);
  return ms;
}

/** The image's layers as one read-only root filesystem (an overlay without an upper layer), for plain runc. */
async function mountImageRootfs(registryImage: string, dir: string): Promise<{ rootfs: string; unmount: () => Promise<void> }> {
  const store = await ImageStore.open({ root: join(dir, 'image'), logger: createLogger({ level: 'warn', name: 'bench-images' }) });
  try {
    const img = await store.ensure(registryImage);
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[...img.layerDirs].reverse().join(':')}`, rootfs]);
    return { rootfs, unmount: async () => void (await run('umount', [rootfs]).catch(() => undefined)) };
  } finally {
    await store.close();
  }
}

export async function runConvergeRealBench(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (process.getuid?.() !== 0) throw new Error('converge-real runs containers with runc: run it as root');
  report('load_1m_at_start', loadavg()[0]!, 'load', { cpus: cpus().length });
  const registry = await startRegistry();
  const scratch = await benchRoot('shoal-bench-real-');
  const c = await benchCluster('shoal-bench-real-daemons-');
  const figures: Record<string, number> = {};
  try {
    const image = await buildTestImage({ registry: registry.host, repository: 'bench/app', tags: ['1'], variant: 'app' });
    process.stderr.write(`bench: converge-real, ${o.replicas} replicas of ${image.ref} on one node\n`);

    // --- shoal ---
    const d = await c.add('node1');
    await d.ok('POST', '/swarm/init', { ListenAddr: d.addr, AdvertiseAddr: d.addr });
    figures['shoal_cold_ms'] = await createToRunning(d, image.ref, o.replicas, 'cold');
    report('shoal_create_to_running_ms', figures['shoal_cold_ms'], 'ms', { replicas: o.replicas, image: 'not on the node yet (pulled from the loopback registry)' });
    figures['shoal_warm_ms'] = await createToRunning(d, image.ref, o.replicas, 'warm');
    report('shoal_warm_create_to_running_ms', figures['shoal_warm_ms'], 'ms', { replicas: o.replicas, image: 'already on the node' });
    await d.stop();
    await c.destroy();

    // --- the floor: plain runc ---
    const { rootfs, unmount } = await mountImageRootfs(image.ref, join(scratch, 'floor'));
    try {
      const floor = await measureRuncFloor({ rootfs, count: o.replicas, workDir: join(scratch, 'floor', 'runc'), args: ARGS });
      figures['floor_ms'] = floor.totalMs;
      report('runc_floor_ms', floor.totalMs, 'ms', { containers: o.replicas, note: 'sequential runc run -d of one shared read-only rootfs', p50_each_ms: floor.perContainerMs.p50, max_each_ms: floor.perContainerMs.max });
    } finally {
      await unmount();
    }
    report('shoal_warm_over_floor', figures['shoal_warm_ms'] / figures['floor_ms']!, 'x', { target: '<= 1.5' });
    report('shoal_cold_over_floor', figures['shoal_cold_ms'] / figures['floor_ms']!, 'x');

    // --- Docker Swarm, when installed ---
    if (o.docker) {
      const workDir = await mkdtemp(join(tmpdir(), 'dsw-'));
      try {
        const r = await measureDockerSwarm({ image: image.ref, replicas: o.replicas, workDir, args: ARGS });
        if (r.ok) {
          report('docker_swarm_create_to_running_ms', r.createToRunningMs, 'ms', { replicas: o.replicas, docker: r.dockerVersion, image: 'not on the node yet' });
          report('docker_swarm_warm_create_to_running_ms', r.warmCreateToRunningMs, 'ms', { replicas: o.replicas, image: 'already on the node' });
          report('docker_over_shoal_cold', r.createToRunningMs / figures['shoal_cold_ms'], 'x');
          report('docker_over_shoal_warm', r.warmCreateToRunningMs / figures['shoal_warm_ms'], 'x');
        } else {
          report('docker_swarm_skipped', 0, 'none', { reason: r.reason });
        }
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
    report('load_1m_at_end', loadavg()[0]!, 'load', { cpus: cpus().length, note: 'includes this bench' });
  } catch (err) {
    process.stderr.write(`bench: converge-real stopped: ${err instanceof Error ? err.message : String(err)}\n${await c.dumpLogs()}\n`);
    process.exitCode = 1;
  } finally {
    await c.destroy();
    await registry.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
