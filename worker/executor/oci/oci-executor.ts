// `oci`: real containers with runc. prepare pulls the image (ImageProvider),
// stacks its layers with overlayfs and writes the OCI bundle; the container
// monitor (a process per data root that outlives the agent) runs it with
// `runc run`, logs its output and records its exit; health probes run here
// with `runc exec`. Every container's directory carries meta.json (which
// task it is), so a restarted agent finds its containers still running.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemClock, type Clock } from '../../../shared/clock.js';
import { InvalidArgumentError, isShoalError, ShoalError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { ContainerSpec, Task } from '../../../shared/model/index.js';
import { decodeRegistryAuth } from '../../../shared/registry/x-registry-auth.js';
import type { RegistryAuth } from '../../../shared/registry/types.js';
import type { ImageProvider, PullOptions } from '../../image/types.js';
import type { ContainerInfo, Executor, ExitResult, HealthState, LogEntry, LogOptions } from '../executor.js';
import { loadMetas, writeMeta, type ContainerMeta } from './container-meta.js';
import { hostnameFile, hostsFile, resolvConfFile } from './etc-files.js';
import { healthSettings } from './health.js';
import { HealthChecker } from './health-checker.js';
import { logRotation } from './json-log.js';
import { readLogs } from './logs.js';
import { MonitorClient } from './monitor-client.js';
import { launchMonitor } from './monitor-launch.js';
import { monitorPaths } from './monitor-paths.js';
import type { ContainerExit } from './monitor-protocol.js';
import { containerPaths, makeContainerDirs, readImageFile, removeContainerDir, type ContainerPaths } from './rootfs.js';
import { resolveRuntime, RuncError, type Runtime } from './runc.js';
import { SIGKILL, signalNumber } from './signals.js';
import { buildSpec, containerHostname, planMounts } from './spec.js';
import { resolveUser } from './user.js';

/** What the network layer gives a container (a later issue brings overlay networks). */
export interface ContainerNetwork {
  /** A network namespace to join; without one the container gets its own with only `lo`. */
  namespacePath?: string;
  /** The container's addresses, written to its /etc/hosts with its hostname. */
  addresses?: string[];
  /** Resolvers for its /etc/resolv.conf instead of the host's (the overlay's DNS responder). */
  nameservers?: string[];
}

export interface OciExecutorOptions {
  dataRoot: string;
  images: ImageProvider;
  /** `runc` (found in PATH or sbin) by default; a name or a path, e.g. /usr/bin/crun. */
  runtime?: string;
  logger: Logger;
  clock?: Clock;
  network?: (task: Task, containerId: string) => Promise<ContainerNetwork | undefined>;
  /** Undoes `network` once the container is gone (removed, or its prepare failed). */
  releaseNetwork?: (taskId: string, containerId: string) => Promise<void>;
}

const HOST_RESOLV_CONF = '/etc/resolv.conf';

export class OciExecutor implements Executor {
  readonly name = 'oci';
  private readonly metas = new Map<string, ContainerMeta>();
  private readonly preparing = new Map<string, Promise<void>>();
  private readonly checkers = new Map<string, HealthChecker>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly containersDir: string;
  private readonly volumesDir: string;

  private constructor(
    private readonly o: OciExecutorOptions,
    private readonly dataRoot: string,
    private readonly runtime: Runtime,
    private readonly monitor: MonitorClient,
  ) {
    this.clock = o.clock ?? new SystemClock();
    this.log = o.logger;
    this.containersDir = monitorPaths(dataRoot).containersDir;
    this.volumesDir = join(dataRoot, 'volumes');
  }

  /** Starts the data root's container monitor if none runs, and picks up the containers already there. */
  static async open(o: OciExecutorOptions): Promise<OciExecutor> {
    if (process.getuid?.() !== 0) {
      throw new ShoalError('needs_root', 'the oci executor runs containers with runc and needs root; run the daemon as root, or with --executor sim', 500);
    }
    await mkdir(o.dataRoot, { recursive: true, mode: 0o700 });
    const dataRoot = await realpath(o.dataRoot);
    const paths = monitorPaths(dataRoot);
    await mkdir(paths.containersDir, { recursive: true, mode: 0o711 });
    const bin = await resolveRuntime(o.runtime ?? 'runc');
    const monitor = new MonitorClient({
      socketPath: paths.socket,
      launch: () => launchMonitor({ dataRoot, runtimeBin: bin }),
      logger: o.logger,
    });
    const x = new OciExecutor(o, dataRoot, { bin, root: paths.runcRoot }, monitor);
    try {
      await x.recover();
    } catch (err) {
      monitor.close();
      throw err;
    }
    return x;
  }

  async prepare(task: Task): Promise<void> {
    if (this.metas.get(task.ID)?.prepared === true) return;
    let p = this.preparing.get(task.ID);
    if (p === undefined) {
      p = this.doPrepare(task).finally(() => this.preparing.delete(task.ID));
      this.preparing.set(task.ID, p);
    }
    await p;
  }

  async start(task: Task): Promise<void> {
    let meta = this.metas.get(task.ID);
    if (meta === undefined || !meta.prepared) {
      await this.prepare(task);
      meta = this.metas.get(task.ID)!;
    }
    const st = await this.monitor.start(meta.containerId, meta.log);
    if (st.status === 'exited' && st.exit?.startError !== undefined) throw new RuncError(st.exit.startError);
    if (st.status === 'running') this.startHealth(meta, st.startedAt ?? this.clock.now());
  }

  async wait(task: Task, signal: AbortSignal): Promise<ExitResult> {
    const meta = this.metas.get(task.ID);
    if (meta === undefined) throw new Error(`no such container for task ${task.ID}: it is not running on this node`);
    const st = await this.monitor.wait(meta.containerId, signal);
    if (st.status !== 'exited' || st.exit === undefined) throw new Error(`the container for task ${task.ID} was never started`);
    this.stopHealth(meta.containerId);
    return exitResult(st.exit);
  }

  async stop(task: Task, opts: { signal: string; graceMs: number }): Promise<void> {
    const meta = this.metas.get(task.ID);
    if (meta === undefined) return;
    const id = meta.containerId;
    const st = await this.monitor.state(id);
    if (st.status !== 'running') return;
    const signal = this.stopSignal(task, meta, opts.signal);
    const waiting = new AbortController();
    const exited = this.monitor.wait(id, waiting.signal);
    // Awaited below; this only keeps an early throw from leaving it unhandled.
    exited.catch(() => undefined);
    try {
      await this.kill(id, signal);
      if (signal !== SIGKILL) {
        let cancel: () => void = () => undefined;
        const graceOver = new Promise<'timeout'>((resolve) => (cancel = this.clock.setTimeout(() => resolve('timeout'), Math.max(0, opts.graceMs))));
        const first = await Promise.race([exited, graceOver]);
        cancel();
        if (first === 'timeout') {
          this.log.info({ task: task.ID, container: id, graceMs: opts.graceMs }, 'task did not stop within its grace period; killing it');
          await this.kill(id, SIGKILL);
        }
      }
      await exited;
    } finally {
      waiting.abort();
    }
    this.stopHealth(id);
  }

  async remove(task: Task): Promise<void> {
    await this.preparing.get(task.ID)?.catch(() => undefined);
    const meta = this.metas.get(task.ID);
    if (meta === undefined) return;
    this.forgetHealth(meta.containerId);
    await this.monitor.delete(meta.containerId);
    await this.destroy(containerPaths(this.containersDir, meta.containerId), meta);
    this.metas.delete(task.ID);
    await this.releaseNetwork(task.ID, meta.containerId);
  }

  health(task: Task): Promise<HealthState | undefined> {
    const meta = this.metas.get(task.ID);
    if (meta?.health === undefined) return Promise.resolve(undefined);
    return Promise.resolve(this.checkers.get(meta.containerId)?.state ?? 'starting');
  }

  async running(): Promise<string[]> {
    const states = new Map((await this.monitor.list()).map((s) => [s.id, s.status]));
    const out: string[] = [];
    for (const m of this.metas.values()) {
      if (!m.prepared) continue;
      const status = states.get(m.containerId) ?? 'created';
      if (status !== 'exited') out.push(m.taskId);
    }
    return out;
  }

  async *logs(taskId: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogEntry> {
    const meta = this.metas.get(taskId);
    if (meta === undefined) return;
    const id = meta.containerId;
    const st = await this.monitor.state(id).catch(() => undefined);
    yield* readLogs(
      { logDir: containerPaths(this.containersDir, id).logDir, running: st?.status === 'running', exited: (s) => this.monitor.wait(id, s) },
      opts,
      signal,
    );
  }

  async describe(taskId: string): Promise<ContainerInfo | undefined> {
    const meta = this.metas.get(taskId);
    if (meta === undefined) return undefined;
    const info: ContainerInfo = { containerId: meta.containerId };
    const st = await this.monitor.state(meta.containerId).catch(() => undefined);
    if (st?.status === 'running' && st.pid !== undefined) info.pid = st.pid;
    return info;
  }

  /** Image IDs that containers on this node still use (running or not): the image GC keeps them. */
  imagesInUse(): Set<string> {
    return new Set([...this.metas.values()].map((m) => m.imageId));
  }

  /** The agent stops; containers, the monitor and its logs keep going. */
  close(): Promise<void> {
    for (const c of this.checkers.values()) c.stop();
    this.checkers.clear();
    this.monitor.close();
    return Promise.resolve();
  }

  // ---- internals -----------------------------------------------------------

  private async doPrepare(task: Task): Promise<void> {
    const c = task.Spec.ContainerSpec;
    if (c === undefined || c.Image === '') throw new InvalidArgumentError(`task ${task.ID} has no container image`);
    const log = logRotation(task.Spec.LogDriver);
    const pull: PullOptions = {};
    const auth = registryAuth(c);
    if (auth !== undefined) pull.auth = auth;
    const image = await this.o.images.ensure(c.Image, pull);
    const cfg = image.config.config;
    const health = healthSettings(c.HealthCheck, cfg?.Healthcheck);

    const id = randomBytes(32).toString('hex');
    const p = containerPaths(this.containersDir, id);
    const meta: ContainerMeta = { taskId: task.ID, containerId: id, imageId: image.id, image: c.Image, createdAt: this.clock.now(), prepared: false, volumes: [], log };
    if (health !== undefined) meta.health = health;
    if (cfg?.StopSignal !== undefined && cfg.StopSignal !== '') meta.imageStopSignal = cfg.StopSignal;
    const layers = image.layerDirs.length > 0 ? image.layerDirs : [p.empty];
    this.metas.set(task.ID, meta);
    try {
      await makeContainerDirs(p, image.layerDirs.length === 0);
      const [passwd, group] = await Promise.all([readImageFile(layers, 'etc/passwd'), readImageFile(layers, 'etc/group')]);
      const user = resolveUser(c.User !== undefined && c.User !== '' ? c.User : cfg?.User, c.Groups, { passwd, group });
      const plan = planMounts(c.Mounts, Object.keys(cfg?.Volumes ?? {}), { volumesDir: this.volumesDir, newVolumeName: () => randomBytes(32).toString('hex') });
      meta.volumes = plan.volumes;
      for (const src of plan.bindSources) {
        try {
          await stat(src);
        } catch {
          throw new InvalidArgumentError(`invalid mount config for type "bind": bind source path does not exist: ${src}`);
        }
      }
      await Promise.all(plan.volumes.map((v) => mkdir(v.dir, { recursive: true, mode: 0o755 })));
      const net = await this.o.network?.(task, id);
      const hostname = containerHostname(id, c);
      const spec = buildSpec({
        containerId: id,
        task,
        image: cfg,
        user,
        rootfs: { path: p.rootfs, layers, upper: p.upper, work: p.work },
        etcFiles: { hosts: p.hosts, hostname: p.hostname, resolvConf: p.resolvConf },
        mounts: plan.mounts,
        ...(net?.namespacePath !== undefined ? { networkNamespace: net.namespacePath } : {}),
      });
      await Promise.all([
        writeFile(p.hosts, hostsFile(hostname, c.Hosts, net?.addresses), { mode: 0o644 }),
        writeFile(p.hostname, hostnameFile(hostname), { mode: 0o644 }),
        readOptional(HOST_RESOLV_CONF).then((host) => writeFile(p.resolvConf, resolvConfFile(host, withNetworkNameservers(c.DNSConfig, net?.nameservers)), { mode: 0o644 })),
        writeFile(p.config, JSON.stringify(spec)),
      ]);
      meta.prepared = true;
      // Last: a directory without meta.json is a prepare that did not finish, removed at the next open.
      await writeMeta(p.dir, meta);
    } catch (err) {
      this.metas.delete(task.ID);
      await this.destroy(p, meta).catch((e: unknown) => this.log.warn({ err: e, container: id }, 'could not clean up a container that failed to prepare'));
      await this.releaseNetwork(task.ID, id);
      throw err;
    }
    this.log.debug({ task: task.ID, container: id, image: image.id }, 'container prepared');
  }

  /** The service's StopSignal, else the image's, else what the agent asked for. */
  private stopSignal(task: Task, meta: ContainerMeta, asked: string): number {
    const own = task.Spec.ContainerSpec?.StopSignal;
    const name = own !== undefined && own !== '' ? own : (meta.imageStopSignal ?? asked);
    try {
      return signalNumber(name);
    } catch (err) {
      this.log.warn({ task: task.ID, signal: name, err }, 'invalid stop signal; using SIGTERM');
      return signalNumber('SIGTERM');
    }
  }

  private async kill(id: string, signal: number): Promise<void> {
    try {
      await this.monitor.kill(id, signal);
    } catch (err) {
      // Not running any more: it exited on its own meanwhile, which is what stop wants.
      if (isShoalError(err) && err.code === 'conflict') return;
      throw err;
    }
  }

  private startHealth(meta: ContainerMeta, startedAtMs: number): void {
    if (meta.health === undefined || this.checkers.has(meta.containerId)) return;
    const checker = new HealthChecker({
      runtime: this.runtime,
      containerId: meta.containerId,
      settings: meta.health,
      startedAtMs,
      pidFile: join(containerPaths(this.containersDir, meta.containerId).dir, 'health.pid'),
      clock: this.clock,
      logger: this.log,
    });
    this.checkers.set(meta.containerId, checker);
    checker.start();
  }

  /** Probes end with the process; the last health stays readable until the container is removed. */
  private stopHealth(containerId: string): void {
    this.checkers.get(containerId)?.stop();
  }

  /** A container that is gone gives its network back; a failure is logged, not thrown: the data plane's reconcile removes what is left. */
  private async releaseNetwork(taskId: string, containerId: string): Promise<void> {
    if (this.o.releaseNetwork === undefined) return;
    try {
      await this.o.releaseNetwork(taskId, containerId);
    } catch (err) {
      this.log.warn({ err, task: taskId, container: containerId }, 'could not release the container network');
    }
  }

  private forgetHealth(containerId: string): void {
    this.stopHealth(containerId);
    this.checkers.delete(containerId);
  }

  /** Delete the directory and the container's anonymous volumes. */
  private async destroy(p: ContainerPaths, meta: ContainerMeta): Promise<void> {
    await removeContainerDir(p);
    await Promise.all(meta.volumes.filter((v) => v.anonymous).map((v) => rm(join(this.volumesDir, v.name), { recursive: true, force: true })));
  }

  /** The containers a previous agent left: known again by task, health checks resumed, half-prepared ones removed. */
  private async recover(): Promise<void> {
    const { metas, strays } = await loadMetas(this.containersDir);
    // A node without containers starts its monitor with its first one (a daemon that runs none spawns nothing).
    if (metas.length === 0 && strays.length === 0) {
      this.log.info({ dataRoot: this.dataRoot }, 'oci executor ready (no containers)');
      return;
    }
    const states = new Map((await this.monitor.list()).map((s) => [s.id, s]));
    const junk: ContainerMeta[] = [];
    for (const m of metas.sort((a, b) => b.createdAt - a.createdAt)) {
      const st = states.get(m.containerId);
      const runs = st?.status === 'running';
      if ((!m.prepared || this.metas.has(m.taskId)) && !runs) {
        junk.push(m);
        continue;
      }
      this.metas.set(m.taskId, m);
      if (runs) this.startHealth(m, st.startedAt ?? this.clock.now());
    }
    for (const m of junk) {
      await this.monitor.delete(m.containerId).catch(() => undefined);
      await this.destroy(containerPaths(this.containersDir, m.containerId), m).catch((err: unknown) => this.log.warn({ err, container: m.containerId }, 'could not remove a leftover container'));
      await this.releaseNetwork(m.taskId, m.containerId);
    }
    for (const id of strays) {
      if (states.get(id)?.status === 'running') continue;
      const p = containerPaths(this.containersDir, id);
      await this.monitor.delete(id).catch(() => undefined);
      await removeContainerDir(p).catch((err: unknown) => this.log.warn({ err, container: id }, 'could not remove a leftover container directory'));
    }
    this.log.info({ dataRoot: this.dataRoot, containers: this.metas.size, running: [...states.values()].filter((s) => s.status === 'running').length }, 'oci executor ready');
  }
}

/** The overlay's resolver replaces the host's and the service's own nameservers (Docker's embedded DNS forwards other names); search and options stay. */
function withNetworkNameservers(dns: ContainerSpec['DNSConfig'], nameservers: string[] | undefined): ContainerSpec['DNSConfig'] {
  if (nameservers === undefined || nameservers.length === 0) return dns;
  return { ...dns, Nameservers: nameservers };
}

function exitResult(exit: ContainerExit): ExitResult {
  const r: ExitResult = { exitCode: exit.exitCode };
  if (exit.startError !== undefined) r.message = `runc: ${exit.startError}`;
  else if (exit.message !== undefined) r.message = exit.message;
  return r;
}

/** ContainerSpec.PullOptions.RegistryAuth (Docker's X-Registry-Auth, as `--with-registry-auth` stores it), read defensively. */
function registryAuth(c: object): RegistryAuth | undefined {
  const pull = (c as { PullOptions?: unknown }).PullOptions;
  if (typeof pull !== 'object' || pull === null) return undefined;
  const raw = (pull as { RegistryAuth?: unknown }).RegistryAuth;
  return typeof raw === 'string' ? decodeRegistryAuth(raw) : undefined;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}
