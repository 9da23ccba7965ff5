// Docker Swarm as the peer shoal is compared with: a private dockerd (Debian's docker.io,
// 20.10) with its own data and exec roots and socket, made a one-node swarm, asked for one
// replicated service; the time from `POST /services/create` to every replica running is what
// shoal's converge-real reports for itself. Measured twice: cold (the image is pulled from the
// registry as part of it) and warm (the service removed, its containers gone, created again
// with the image already local). Everything dockerd leaves behind (its containerd, mounts,
// network namespaces, the docker_gwbridge link it makes for the ingress network) is removed
// afterwards, whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { ShoalError } from '../../shared/errors.js';
import type { Task } from '../../shared/model/index.js';

export const DOCKERD = '/usr/sbin/dockerd';
const RUNC = '/usr/sbin/runc';
/** dockerd 20.10 speaks API 1.41; pinning it keeps the daemon from resolving image digests (< 1.30 did). */
const API = '/v1.41';
const SERVICE_NAME = 'bench';
const POLL_MS = 20;
const STOP_GRACE_MS = 20_000;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface DockerSwarmOptions {
  /** e.g. 127.0.0.1:PORT/bench/app:1; loopback registries are plain HTTP to dockerd without configuration. */
  image: string;
  replicas: number;
  /** Scratch directory for dockerd's data and exec roots, socket and log; emptied afterwards. */
  workDir: string;
  /** Per phase (cold, warm), from create to all running. Default 120 s. */
  timeoutMs?: number;
  /** ContainerSpec.Args as `docker service create IMAGE sleep 3600` sets them; [] runs the image's own command. */
  args?: string[];
}

export interface SwarmPhase {
  /** Create request sent -> first poll that saw every replica running. */
  allRunningMs: number;
  /** Create request sent -> first poll that saw any replica running. */
  firstRunningMs: number;
  /** Create request sent (wall clock) -> the latest running task's Status.Timestamp: no poll resolution. */
  allRunningByTimestampMs: number;
  polls: number;
}

export type DockerSwarmResult =
  | {
      ok: true;
      dockerVersion: string;
      /** Cold: the image is not on the node yet. */
      createToRunningMs: number;
      /** Warm: same service again after the first was removed and its containers are gone. */
      warmCreateToRunningMs: number;
      cold: SwarmPhase;
      warm: SwarmPhase;
      /** dockerd spawn -> /_ping answers. */
      daemonStartMs: number;
      /** POST /swarm/init -> the node is ready. */
      swarmInitMs: number;
    }
  | { ok: false; reason: string };

interface DockerVersion {
  Version: string;
  ApiVersion: string;
}

interface DockerNode {
  Status: { State: string };
}

/** The Engine API over dockerd's unix socket. */
class DockerApi {
  private readonly agent: Agent;

  constructor(socketPath: string) {
    this.agent = new Agent({ connect: { socketPath } });
  }

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(`http://docker${path}`, {
        dispatcher: this.agent,
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
      text = await res.body.text();
    } catch (err) {
      throw new ShoalError('docker_unreachable', `dockerd did not answer ${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, 502, { cause: err });
    }
    if (res.statusCode >= 300) {
      let message = text.trim();
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the raw text
      }
      throw new ShoalError('docker_api', `dockerd answered ${method} ${path} with ${res.statusCode}: ${message}`, 502);
    }
    // /_ping answers plain text.
    const json = String(res.headers['content-type'] ?? '').includes('json');
    return (json && text !== '' ? JSON.parse(text) : text) as T;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function filters(f: Record<string, string[]>): string {
  return encodeURIComponent(JSON.stringify(f));
}

/** Docker timestamps carry nanoseconds; Date.parse wants at most milliseconds. */
export function parseDockerTime(ts: string): number {
  return Date.parse(ts.replace(/(\.\d{3})\d+/, '$1'));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function logTail(path: string, lines = 5): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join(' | ');
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return true;
  const gone = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  // Unref'd: a guard timer must not keep the process alive after the child is gone.
  return Promise.race([gone, delay(ms, false, { ref: false })]);
}

async function until<T>(what: string, timeoutMs: number, intervalMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      throw new ShoalError('timeout', `${what} not reached within ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`, 504);
    }
    await delay(intervalMs);
  }
}

async function waitForPing(child: ChildProcess, api: DockerApi, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (exited(child)) throw new ShoalError('dockerd_exited', `dockerd exited with ${child.exitCode ?? child.signalCode} before answering /_ping`);
    if (await api.call<string>('GET', '/_ping').then(() => true, () => false)) return;
    if (performance.now() > deadline) throw new ShoalError('timeout', `dockerd did not answer /_ping within ${timeoutMs} ms`, 504);
    await delay(50);
  }
}

/** Creates the service and polls its tasks until all replicas run. */
async function createAndConverge(api: DockerApi, o: DockerSwarmOptions, timeoutMs: number): Promise<{ serviceId: string; phase: SwarmPhase }> {
  const args = o.args ?? ['sleep', '3600'];
  const spec = {
    Name: SERVICE_NAME,
    TaskTemplate: {
      // busybox sleep as PID 1 ignores SIGTERM: without SIGKILL every removal waits out the 10 s grace period.
      ContainerSpec: { Image: o.image, ...(args.length > 0 ? { Args: args } : {}), StopSignal: 'SIGKILL' },
    },
    Mode: { Replicated: { Replicas: o.replicas } },
  };
  const wallStart = Date.now();
  const t0 = performance.now();
  const { ID: serviceId } = await api.call<{ ID: string }>('POST', `${API}/services/create`, spec);
  const path = `${API}/tasks?filters=${filters({ service: [serviceId], 'desired-state': ['running'] })}`;
  let firstRunningMs: number | undefined;
  let polls = 0;
  for (;;) {
    const tasks = await api.call<Task[]>('GET', path);
    const at = performance.now() - t0;
    polls += 1;
    const running = tasks.filter((t) => t.Status.State === 'running');
    if (running.length > 0) firstRunningMs ??= at;
    if (running.length >= o.replicas) {
      const latest = Math.max(...running.map((t) => parseDockerTime(t.Status.Timestamp)));
      return { serviceId, phase: { allRunningMs: at, firstRunningMs: firstRunningMs ?? at, allRunningByTimestampMs: latest - wallStart, polls } };
    }
    if (at > timeoutMs) {
      // Failed tasks leave the desired-state filter once replaced; ask for all of them to say why.
      const all = await api.call<Task[]>('GET', `${API}/tasks?filters=${filters({ service: [serviceId] })}`).catch(() => tasks);
      const states = new Map<string, number>();
      for (const t of all) states.set(t.Status.State, (states.get(t.Status.State) ?? 0) + 1);
      const errors = [...new Set(all.map((t) => t.Status.Err).filter((e): e is string => e !== undefined && e !== ''))];
      throw new ShoalError(
        'timeout',
        `${running.length} of ${o.replicas} replicas running after ${Math.round(at)} ms (task states: ${[...states].map(([s, n]) => `${s}=${n}`).join(', ')}${errors.length > 0 ? `; errors: ${errors.slice(0, 3).join('; ')}` : ''})`,
        504,
      );
    }
    await delay(POLL_MS);
  }
}

async function removeAndDrain(api: DockerApi, serviceId: string, timeoutMs: number): Promise<void> {
  await api.call('DELETE', `${API}/services/${serviceId}`);
  const path = `${API}/containers/json?all=1&filters=${filters({ label: [`com.docker.swarm.service.id=${serviceId}`] })}`;
  await until(`all containers of service ${serviceId} removed`, timeoutMs, 50, async () => ((await api.call<unknown[]>('GET', path)).length === 0 ? true : undefined));
}

/** Mount points at or under `dir`, deepest first (mountinfo escapes blanks as octal). */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function runQuiet(cmd: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** Processes whose command line names our exec root: dockerd's containerd and its shims. */
async function processesUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(`${dir}/`)) pids.push(Number(entry));
  }
  return pids.filter((p) => p !== process.pid);
}

/**
 * What a dockerd that did not shut down cleanly leaves: containers (killed through runc's
 * state under the exec root), containerd and shims, then mounts and network namespaces.
 */
async function sweep(execRoot: string, dataRoot: string): Promise<void> {
  const runcRoots = [join(execRoot, 'runtime-runc', 'moby'), join(dataRoot, 'runc', 'moby')];
  for (const root of runcRoots) {
    const ids = await readdir(root).catch(() => [] as string[]);
    for (const id of ids) await runQuiet(RUNC, ['--root', root, 'delete', '--force', id]);
  }
  for (const pid of await processesUsing(execRoot)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function unmountAll(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (const point of await mountsUnder(dir)) await runQuiet('umount', ['-l', point]);
  }
}

interface Layout {
  workDir: string;
  dataRoot: string;
  execRoot: string;
  socket: string;
  pidFile: string;
  logPath: string;
}

/** What teardown has to undo; filled in as the run gets further. */
interface Session {
  daemon?: ChildProcess;
  api?: DockerApi;
  swarmJoined: boolean;
}

function layout(workDir: string): Layout {
  return {
    workDir,
    dataRoot: join(workDir, 'data'),
    execRoot: join(workDir, 'exec'),
    socket: join(workDir, 'docker.sock'),
    pidFile: join(workDir, 'docker.pid'),
    logPath: join(workDir, 'dockerd.log'),
  };
}

function dockerdArgs(l: Layout): string[] {
  return [
    '--data-root', l.dataRoot,
    '--exec-root', l.execRoot,
    '--pidfile', l.pidFile,
    '-H', `unix://${l.socket}`,
    // No default bridge, no iptables rules, no sysctl changes: the host's network stays as it was.
    '--bridge', 'none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    // Docker's info logging (gRPC chatter) is not part of what is measured.
    '--log-level', 'warn',
  ];
}

async function run(o: DockerSwarmOptions, l: Layout, s: Session): Promise<DockerSwarmResult> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  await mkdir(l.dataRoot, { recursive: true });
  await mkdir(l.execRoot, { recursive: true });
  const log = await open(l.logPath, 'w');
  const t0 = performance.now();
  let daemon: ChildProcess;
  try {
    daemon = spawn(DOCKERD, dockerdArgs(l), { stdio: ['ignore', log.fd, log.fd] });
  } finally {
    await log.close();
  }
  daemon.once('error', () => undefined);
  s.daemon = daemon;
  const api = new DockerApi(l.socket);
  s.api = api;
  await waitForPing(daemon, api, 60_000);
  const daemonStartMs = performance.now() - t0;
  const version = await api.call<DockerVersion>('GET', `${API}/version`);

  // Not the default 2377: a Docker already on this host may hold it.
  const port = await freeLoopbackPort();
  const t1 = performance.now();
  s.swarmJoined = true;
  await api.call('POST', `${API}/swarm/init`, { ListenAddr: `127.0.0.1:${port}`, AdvertiseAddr: `127.0.0.1:${port}` });
  // A service created before the node is ready would wait for it and charge that to Docker.
  await until('the swarm node ready', 60_000, 50, async () => {
    const nodes = await api.call<DockerNode[]>('GET', `${API}/nodes`);
    return nodes.length > 0 && nodes.every((n) => n.Status.State === 'ready') ? true : undefined;
  });
  const swarmInitMs = performance.now() - t1;

  const cold = await createAndConverge(api, o, timeoutMs);
  await removeAndDrain(api, cold.serviceId, timeoutMs);
  const warm = await createAndConverge(api, o, timeoutMs);
  await removeAndDrain(api, warm.serviceId, timeoutMs);
  return {
    ok: true,
    dockerVersion: version.Version,
    createToRunningMs: cold.phase.allRunningMs,
    warmCreateToRunningMs: warm.phase.allRunningMs,
    cold: cold.phase,
    warm: warm.phase,
    daemonStartMs,
    swarmInitMs,
  };
}

/**
 * Stops dockerd and removes everything it made. Each step runs even when an earlier one
 * failed; what could not be undone comes back as text for the caller to show.
 */
async function teardown(l: Layout, s: Session, host: { hadGwBridge: boolean; hadRunDocker: boolean }, keepLog: boolean): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const { daemon, api } = s;
  if (api !== undefined && s.swarmJoined && daemon !== undefined && !exited(daemon)) {
    // Leaving removes the service's containers while dockerd can still do it properly.
    await step('swarm leave', () => Promise.race([api.call('POST', `${API}/swarm/leave?force=true`), delay(STOP_GRACE_MS, undefined, { ref: false })]));
  }
  if (daemon !== undefined && !exited(daemon)) {
    await step('stop dockerd', async () => {
      daemon.kill('SIGTERM');
      if (await waitExit(daemon, STOP_GRACE_MS)) return;
      daemon.kill('SIGKILL');
      if (!(await waitExit(daemon, STOP_GRACE_MS))) throw new Error(`dockerd (pid ${daemon.pid}) survived SIGKILL`);
    });
  }
  await step('close the API client', async () => api?.close());
  await step('kill leftover containers and shims', () => sweep(l.execRoot, l.dataRoot));
  await step('unmount', () => unmountAll([l.execRoot, l.dataRoot]));
  if (!host.hadGwBridge) {
    await step('delete docker_gwbridge', async () => {
      if ((await exists('/sys/class/net/docker_gwbridge')) && (await runQuiet('ip', ['link', 'del', 'docker_gwbridge'])) !== 0) throw new Error('ip link del docker_gwbridge failed');
    });
  }
  if (!host.hadRunDocker) await step('remove /run/docker', () => rm('/run/docker', { recursive: true, force: true }));
  for (const path of [l.dataRoot, l.execRoot, l.socket, l.pidFile, ...(keepLog ? [] : [l.logPath])]) {
    await step(`remove ${path}`, () => rm(path, { recursive: true, force: true }));
  }
  return problems;
}

/**
 * Measures Docker Swarm creating `replicas` containers of `image` on one node, cold and
 * warm. Never throws: a missing dockerd or any failure comes back as `{ ok: false, reason }`.
 */
export async function measureDockerSwarm(o: DockerSwarmOptions): Promise<DockerSwarmResult> {
  if (!(await exists(DOCKERD))) return { ok: false, reason: 'dockerd not installed (apt-get install docker.io)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'dockerd needs root: run the bench as root' };
  if (!Number.isInteger(o.replicas) || o.replicas < 1) return { ok: false, reason: `replicas must be a positive integer, got ${o.replicas}` };
  const l = layout(o.workDir);
  const longestSocket = join(l.execRoot, 'containerd', 'containerd-debug.sock');
  if (longestSocket.length > MAX_SOCKET_PATH) {
    return { ok: false, reason: `workDir ${o.workDir} is too long for dockerd's unix sockets (${longestSocket} > ${MAX_SOCKET_PATH} bytes): use a shorter path` };
  }
  // Removed afterwards only if they were not there before: the host may run its own Docker.
  const host = { hadGwBridge: await exists('/sys/class/net/docker_gwbridge'), hadRunDocker: await exists('/run/docker') };

  const session: Session = { swarmJoined: false };
  let result: DockerSwarmResult;
  try {
    result = await run(o, l, session);
  } catch (err) {
    const daemon = session.daemon;
    const died = daemon !== undefined && exited(daemon) ? `; dockerd exited with ${daemon.exitCode ?? daemon.signalCode}` : '';
    const message = `${err instanceof Error ? err.message : String(err)}${died}`;
    result = { ok: false, reason: `${message} (dockerd log ${l.logPath}: ${await logTail(l.logPath)})` };
  }
  const problems = await teardown(l, session, host, !result.ok);
  if (problems.length > 0) {
    const text = `cleanup incomplete: ${problems.join('; ')}`;
    if (result.ok) process.stderr.write(`docker-swarm peer: ${text}\n`);
    else result = { ok: false, reason: `${result.reason}; ${text}` };
  }
  return result;
}
