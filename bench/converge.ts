// Service convergence on real daemons: 1 manager (or 3, --managers=3), all
// drained so they run nothing, and 20 worker daemons with `--executor sim`
// (the simulated runtime, default SHOAL_SIM start latency), every one a real
// `shoal daemon` process on loopback with its data root on a real disk.
//
// Startup is measured on its own first:
//   manager_start_ms           spawn -> /_ping of the first manager, nothing else running
//   worker_start_ms_*          spawn -> /_ping per worker, --start-concurrency at a time
//   worker_join_ms_*           POST /swarm/join per worker, as many at a time
//   nodes_ready_s              first spawn -> every node `ready` in GET /nodes
//   rss_idle_mb_*              resident memory per daemon (/proc/<pid>/status VmRSS)
//
// Then three phases, each timed from the request that starts it, polled with
// GET /tasks?filters={service, desired-state: running} on the leader every
// --poll-ms (after the previous poll answered: the poll itself loads the
// manager, so poll_ms_* reports what one costs):
//   create   one service of 1,000 replicas (--replicas)
//     create_all_assigned_s     -> every replica has a NodeID (first poll that saw it)
//     create_all_running_s      -> every replica running (first poll that saw it)
//     create_all_running_by_timestamp_s
//                               -> the latest running task's Status.Timestamp (the
//                                  worker's clock when it reported running, same
//                                  machine): no poll resolution in it
//     create_tasks_created_by_timestamp_s
//                               -> the latest task's CreatedAt (the orchestrator's work)
//     create_task_created_to_running_ms_median / _max
//                               each new task's CreatedAt -> its running Status.Timestamp
//                               (scheduler, dispatcher, agent and report path)
//     create_tasks_per_node_min / _max over the 20 workers
//   update   rolling update of the 1,000 to a new image, Parallelism 100, Delay 0,
//            Monitor left at Docker's default (5 s), stop-first
//     update_all_assigned_s, update_all_running_s, ..._by_timestamp_s
//                               -> all 1,000 assigned / running on the new image
//     update_completed_s        -> UpdateStatus.State completed (includes one Monitor)
//   scale    1,000 -> 2,000 replicas
//     scale_all_assigned_s, scale_all_running_s, ..._by_timestamp_s, per node min/max
// and, per phase, the CPU seconds the leader, followers and all workers used
// (/proc/<pid>/stat), the leader's write syscalls and bytes (/proc/<pid>/io),
// and what one poll cost. The machine's load average is printed at the start
// and the end: 21 daemons share its cores with whatever else runs there.
//
// --cpu-prof=m1,w1 runs those daemons under `node --cpu-prof` and keeps the
// directory with the profiles (in <root>/prof).
//
// A phase that does not converge within --phase-timeout-s reports how far it
// got (…_timed_out) and the bench moves on: benches never fail on a number.
//
//   npm run bench -- converge [--managers=1|3] [--workers=20] [--replicas=1000]
//                             [--poll-ms=250] [--start-concurrency=4]
//                             [--phase-timeout-s=60] [--skip-update] [--skip-scale]
//                             [--cpu-prof=m1,w1]
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Node, Service, ServiceSpec, Swarm, Task } from '../shared/model/index.js';
import { benchCluster, eventually, percentile, reporter, type DaemonCluster, type DaemonProcess } from './daemons.js';

const report = reporter('converge');
const IMAGE_V1 = 'sim/app:1';
const IMAGE_V2 = 'sim/app:2';
const CLK_TCK = 100;

interface Options {
  managers: number;
  workers: number;
  replicas: number;
  pollMs: number;
  startConcurrency: number;
  phaseTimeoutMs: number;
  update: boolean;
  scale: boolean;
  /** Daemons to run under `node --cpu-prof` (stopped with SIGTERM at the end so the profile is written). */
  cpuProf: string[];
}

function parseOptions(args: string[]): Options {
  const num = (name: string, dflt: number): number => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    if (a === undefined) return dflt;
    const v = Number(a.slice(name.length + 3));
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} wants a positive number, not ${a}`);
    return v;
  };
  return {
    managers: num('managers', 1),
    workers: num('workers', 20),
    replicas: num('replicas', 1000),
    pollMs: num('poll-ms', 250),
    startConcurrency: num('start-concurrency', 4),
    phaseTimeoutMs: num('phase-timeout-s', 60) * 1000,
    update: !args.includes('--skip-update'),
    scale: !args.includes('--skip-scale'),
    cpuProf: (args.find((x) => x.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length).split(',') ?? []).filter((x) => x !== ''),
  };
}

/** Run `f` over `items`, at most `n` at a time, keeping the order of the results. */
async function pool<T, R>(items: readonly T[], n: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

const sortedOf = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

function summarize(metric: string, values: readonly number[], unit: string, extra: Record<string, unknown> = {}): void {
  const s = sortedOf(values);
  report(`${metric}_min`, s[0] ?? Number.NaN, unit, { n: s.length, ...extra });
  report(`${metric}_median`, percentile(s, 0.5), unit, { n: s.length, ...extra });
  report(`${metric}_max`, s[s.length - 1] ?? Number.NaN, unit, { n: s.length, ...extra });
}

// --- /proc ----------------------------------------------------------------------------

async function rssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = status?.match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : undefined;
}

/** utime + stime of a process, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return 0;
  // The command name (field 2) may hold spaces; count from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const pidOf = (d: DaemonProcess): number | undefined => d.child?.pid;

// --- the cluster ----------------------------------------------------------------------

interface Swarm21 {
  c: DaemonCluster;
  managers: DaemonProcess[];
  workers: DaemonProcess[];
  workerNodeIds: string[];
}

async function formSwarm(c: DaemonCluster, o: Options): Promise<Swarm21> {
  const plainAdd = c.add.bind(c);
  const add = async (name: string): Promise<DaemonProcess> => {
    if (!o.cpuProf.includes(name)) return plainAdd(name);
    // The fixture spawns with this process's environment: NODE_OPTIONS reaches only this daemon.
    const before = process.env['NODE_OPTIONS'];
    process.env['NODE_OPTIONS'] = `${before ?? ''} --cpu-prof --cpu-prof-dir=${join(c.root, 'prof')} --cpu-prof-name=${name}.cpuprofile`.trim();
    try {
      return await plainAdd(name);
    } finally {
      if (before === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = before;
    }
  };
  process.stderr.write(`bench: converge in ${c.root}: ${o.managers} manager(s) (drained) + ${o.workers} sim workers, ${o.replicas} replicas\n`);
  const formStarted = Date.now();

  let t = performance.now();
  const m1 = await add('m1');
  report('manager_start_ms', performance.now() - t, 'ms', { note: 'spawn -> /_ping, nothing else running' });
  t = performance.now();
  await m1.ok('POST', '/swarm/init', { ListenAddr: m1.addr, AdvertiseAddr: m1.addr, Availability: 'drain' });
  report('swarm_init_ms', performance.now() - t, 'ms');
  const tokens = (await m1.ok<Swarm>('GET', '/swarm')).JoinTokens;
  const managers = [m1];
  for (let i = 2; i <= o.managers; i++) {
    const d = await add(`m${i}`);
    t = performance.now();
    await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Manager, Availability: 'drain' });
    report('manager_join_ms', performance.now() - t, 'ms', { manager: d.name });
    managers.push(d);
  }

  const names = Array.from({ length: o.workers }, (_, i) => `w${i + 1}`);
  t = performance.now();
  const timedAdd = async (n: string): Promise<number> => {
    const s = performance.now();
    await add(n);
    return performance.now() - s;
  };
  // Profiled workers first and alone: the environment their NODE_OPTIONS is set in is shared.
  const startMs: number[] = [];
  for (const n of names.filter((x) => o.cpuProf.includes(x))) startMs.push(await timedAdd(n));
  startMs.push(...(await pool(names.filter((x) => !o.cpuProf.includes(x)), o.startConcurrency, timedAdd)));
  report('workers_started_wall_s', (performance.now() - t) / 1000, 's', { workers: o.workers, concurrency: o.startConcurrency });
  summarize('worker_start_ms', startMs, 'ms', { concurrency: o.startConcurrency });

  const workers = names.map((n) => c.get(n));
  t = performance.now();
  const joinMs = await pool(workers, o.startConcurrency, async (d) => {
    const s = performance.now();
    await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Worker });
    return performance.now() - s;
  });
  report('workers_joined_wall_s', (performance.now() - t) / 1000, 's', { concurrency: o.startConcurrency });
  summarize('worker_join_ms', joinMs, 'ms', { concurrency: o.startConcurrency });

  const total = o.managers + o.workers;
  await eventually(
    async () => {
      const nodes = await m1.ok<Node[]>('GET', '/nodes');
      return nodes.length === total && nodes.every((n) => n.Status.State === 'ready') ? true : undefined;
    },
    `${total} ready nodes`,
    120_000,
    200,
  );
  report('nodes_ready_s', (Date.now() - formStarted) / 1000, 's', { nodes: total, note: 'first spawn -> all ready in GET /nodes' });
  const workerNodeIds = await Promise.all(workers.map(async (d) => (await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID));
  return { c, managers, workers, workerNodeIds };
}

async function reportRss(s: Swarm21, when: string): Promise<void> {
  const mgr: number[] = [];
  for (const d of s.managers) {
    const pid = pidOf(d);
    const r = pid === undefined ? undefined : await rssMb(pid);
    if (r !== undefined) mgr.push(r);
  }
  const wrk: number[] = [];
  for (const d of s.workers) {
    const pid = pidOf(d);
    const r = pid === undefined ? undefined : await rssMb(pid);
    if (r !== undefined) wrk.push(r);
  }
  report(`rss_${when}_leader_mb`, mgr[0] ?? Number.NaN, 'MB');
  if (mgr.length > 1) summarize(`rss_${when}_follower_mb`, mgr.slice(1), 'MB');
  summarize(`rss_${when}_worker_mb`, wrk, 'MB');
  report(`rss_${when}_total_mb`, [...mgr, ...wrk].reduce((a, b) => a + b, 0), 'MB', { daemons: mgr.length + wrk.length });
}

// --- phases ---------------------------------------------------------------------------

interface PhaseGoal {
  /** Desired-running tasks of the service this phase waits for. */
  replicas: number;
  /** A task that counts (e.g. on the new image). */
  counts: (t: Task) => boolean;
  /** Also wait for the service's UpdateStatus to be completed. */
  updateCompleted: boolean;
}

interface PhaseResult {
  tasks: Task[];
  converged: boolean;
}

/**
 * Poll the leader until `goal` holds, reporting the first poll that saw all
 * replicas assigned, all running, and (for updates) the update completed.
 */
async function phase(name: string, s: Swarm21, o: Options, serviceId: string, t0: number, goal: PhaseGoal): Promise<PhaseResult> {
  const leader = s.managers[0]!;
  const filters = encodeURIComponent(JSON.stringify({ service: [serviceId], 'desired-state': ['running'] }));
  const pollMs: number[] = [];
  const pollBytes: number[] = [];
  let assignedAt: number | undefined;
  let runningAt: number | undefined;
  let completedAt: number | undefined;
  let last: Task[] = [];
  let lastRunning = 0;
  let lastAssigned = 0;
  const cpu0 = await phaseCpu(s);
  const io0 = await ioCounters(pidOf(leader));
  const deadline = t0 + o.phaseTimeoutMs;
  while (Date.now() < deadline) {
    const p = performance.now();
    const r = await leader.api<Task[]>('GET', `/tasks?filters=${filters}`, undefined, 30_000);
    const now = Date.now();
    pollMs.push(performance.now() - p);
    pollBytes.push(r.text.length);
    if (r.status === 200) {
      last = r.body;
      const counted = last.filter(goal.counts);
      lastAssigned = counted.filter((t) => t.NodeID !== undefined && t.NodeID !== '').length;
      lastRunning = counted.filter((t) => t.Status.State === 'running').length;
      if (assignedAt === undefined && lastAssigned >= goal.replicas) assignedAt = now;
      if (runningAt === undefined && lastRunning >= goal.replicas) runningAt = now;
    }
    if (goal.updateCompleted && completedAt === undefined && runningAt !== undefined) {
      const svc = await leader.api<Service>('GET', `/services/${serviceId}`);
      if (svc.status === 200 && svc.body.UpdateStatus?.State === 'completed') completedAt = Date.now();
      if (svc.status === 200 && svc.body.UpdateStatus?.State === 'paused') {
        process.stderr.write(`bench: ${name}: update paused: ${svc.body.UpdateStatus.Message ?? ''}\n`);
        break;
      }
    }
    if (runningAt !== undefined && (!goal.updateCompleted || completedAt !== undefined)) break;
    await new Promise((res) => setTimeout(res, o.pollMs));
  }
  const cpu1 = await phaseCpu(s);
  const io1 = await ioCounters(pidOf(leader));
  const extra = { replicas: goal.replicas, pollEveryMs: o.pollMs };
  if (assignedAt !== undefined) report(`${name}_all_assigned_s`, (assignedAt - t0) / 1000, 's', extra);
  if (runningAt !== undefined) report(`${name}_all_running_s`, (runningAt - t0) / 1000, 's', extra);
  if (goal.updateCompleted && completedAt !== undefined) report(`${name}_completed_s`, (completedAt - t0) / 1000, 's', { ...extra, note: 'UpdateStatus completed; includes one Monitor (5 s default)' });
  const converged = runningAt !== undefined && (!goal.updateCompleted || completedAt !== undefined);
  if (!converged) {
    report(`${name}_timed_out`, o.phaseTimeoutMs / 1000, 's', { ...extra, assigned: lastAssigned, running: lastRunning, updateCompleted: completedAt !== undefined });
  }

  const running = last.filter((t) => goal.counts(t) && t.Status.State === 'running');
  const runningTimes = running.filter((t) => Date.parse(t.CreatedAt) >= t0).map((t) => Date.parse(t.Status.Timestamp)).filter((x) => Number.isFinite(x));
  if (converged && runningTimes.length > 0) {
    report(`${name}_all_running_by_timestamp_s`, (Math.max(...runningTimes) - t0) / 1000, 's', { ...extra, newTasks: runningTimes.length, note: 'latest running Status.Timestamp of the tasks made in this phase' });
    report(`${name}_first_running_by_timestamp_s`, (Math.min(...runningTimes) - t0) / 1000, 's', extra);
  }
  // Each new task's own path: orchestrator/updater created it -> scheduler -> dispatcher -> agent -> running.
  const createToRunning = running
    .map((t) => Date.parse(t.Status.Timestamp) - Date.parse(t.CreatedAt))
    .filter((x, i) => Number.isFinite(x) && Date.parse(running[i]!.CreatedAt) >= t0);
  if (createToRunning.length > 0) {
    const sorted = sortedOf(createToRunning);
    report(`${name}_task_created_to_running_ms_median`, percentile(sorted, 0.5), 'ms', { n: sorted.length });
    report(`${name}_task_created_to_running_ms_max`, sorted[sorted.length - 1]!, 'ms', { n: sorted.length });
  }
  const created = last.filter(goal.counts).map((t) => Date.parse(t.CreatedAt)).filter((x) => Number.isFinite(x) && x >= t0);
  if (created.length > 0) report(`${name}_tasks_created_by_timestamp_s`, (Math.max(...created) - t0) / 1000, 's', { ...extra, tasksCreated: created.length });

  const perNode = new Map<string, number>(s.workerNodeIds.map((id) => [id, 0]));
  let elsewhere = 0;
  for (const t of running) {
    const id = t.NodeID ?? '';
    if (perNode.has(id)) perNode.set(id, perNode.get(id)! + 1);
    else elsewhere++;
  }
  const counts = [...perNode.values()];
  report(`${name}_tasks_per_node_min`, Math.min(...counts), 'tasks', { workers: counts.length });
  report(`${name}_tasks_per_node_max`, Math.max(...counts), 'tasks', { workers: counts.length, onManagers: elsewhere });

  summarize(`${name}_poll_ms`, pollMs, 'ms');
  report(`${name}_poll_bytes_max`, Math.max(...pollBytes), 'bytes');
  report(`${name}_leader_cpu_s`, cpu1.leader - cpu0.leader, 's', { wallS: (Date.now() - t0) / 1000 });
  report(`${name}_leader_write_syscalls`, io1.syscw - io0.syscw, 'calls', { bytes: io1.wchar - io0.wchar, readSyscalls: io1.syscr - io0.syscr, note: 'sockets and files, polls included' });
  report(`${name}_workers_cpu_s`, cpu1.workers - cpu0.workers, 's', { workers: s.workers.length });
  if (s.managers.length > 1) report(`${name}_followers_cpu_s`, cpu1.followers - cpu0.followers, 's');
  return { tasks: last, converged };
}

/** Write syscalls and bytes written by a process so far (/proc/<pid>/io: sockets and files alike). */
async function ioCounters(pid: number | undefined): Promise<{ syscw: number; wchar: number; syscr: number }> {
  const text = pid === undefined ? undefined : await readFile(`/proc/${pid}/io`, 'utf8').catch(() => undefined);
  const field = (name: string): number => Number(text?.match(new RegExp(`^${name}: (\\d+)`, 'm'))?.[1] ?? Number.NaN);
  return { syscw: field('syscw'), wchar: field('wchar'), syscr: field('syscr') };
}

async function phaseCpu(s: Swarm21): Promise<{ leader: number; followers: number; workers: number }> {
  const of = async (ds: DaemonProcess[]): Promise<number> => {
    let sum = 0;
    for (const d of ds) {
      const pid = pidOf(d);
      if (pid !== undefined) sum += await cpuSeconds(pid);
    }
    return sum;
  };
  return { leader: await of(s.managers.slice(0, 1)), followers: await of(s.managers.slice(1)), workers: await of(s.workers) };
}

async function updateService(leader: DaemonProcess, id: string, change: (spec: ServiceSpec) => ServiceSpec): Promise<number> {
  const svc = await leader.ok<Service>('GET', `/services/${id}`);
  const t0 = Date.now();
  await leader.ok('POST', `/services/${id}/update?version=${svc.Version.Index}`, change(svc.Spec));
  return t0;
}

export async function runConvergeBench(args: string[]): Promise<void> {
  const o = parseOptions(args);
  const benchStarted = Date.now();
  // Other work on the machine skews every figure here (21 processes share its cores): say how busy it was.
  report('load_1m_at_start', loadavg()[0]!, 'load', { cpus: cpus().length });
  const c = await benchCluster('shoal-bench-converge-', { extraArgs: ['--executor', 'sim'] });
  let failed = false;
  try {
    const s = await formSwarm(c, o);
    await reportRss(s, 'idle');
    const leader = s.managers[0]!;

    // --- create ---
    const spec: ServiceSpec = {
      Name: 'converge',
      TaskTemplate: { ContainerSpec: { Image: IMAGE_V1 } },
      Mode: { Replicated: { Replicas: o.replicas } },
      UpdateConfig: { Parallelism: 100, Delay: 0, FailureAction: 'pause', Order: 'stop-first' },
    };
    const t0 = Date.now();
    const created = await leader.ok<{ ID: string }>('POST', '/services/create', spec);
    report('create_request_ms', Date.now() - t0, 'ms');
    const id = created.ID;
    const c1 = await phase('create', s, o, id, t0, { replicas: o.replicas, counts: () => true, updateCompleted: false });
    await reportRss(s, 'after_create');

    // --- rolling update of the replicas ---
    if (o.update && c1.converged) {
      const t1 = await updateService(leader, id, (sp) => ({
        ...sp,
        TaskTemplate: { ...sp.TaskTemplate, ContainerSpec: { ...sp.TaskTemplate.ContainerSpec, Image: IMAGE_V2 } },
      }));
      const onV2 = (t: Task): boolean => t.Spec.ContainerSpec?.Image === IMAGE_V2;
      await phase('update', s, o, id, t1, { replicas: o.replicas, counts: onV2, updateCompleted: true });
    }

    // --- scale to twice as many ---
    if (o.scale && c1.converged) {
      const t2 = await updateService(leader, id, (sp) => ({ ...sp, Mode: { Replicated: { Replicas: 2 * o.replicas } } }));
      await phase('scale', s, o, id, t2, { replicas: 2 * o.replicas, counts: () => true, updateCompleted: false });
      await reportRss(s, 'after_scale');
    }
    report('load_1m_at_end', loadavg()[0]!, 'load', { cpus: cpus().length, note: 'includes this bench' });
    report('wall_s', (Date.now() - benchStarted) / 1000, 's', { managers: o.managers, workers: o.workers });
  } catch (err) {
    failed = true;
    process.stderr.write(`bench: converge stopped: ${err instanceof Error ? err.message : String(err)}\n${await c.dumpLogs()}\n`);
    process.exitCode = 1;
  } finally {
    if (o.cpuProf.length > 0) {
      // A clean exit writes the profile; kill -9 would lose it.
      await Promise.all(o.cpuProf.map((n) => c.daemons.get(n)?.stop()));
      process.stderr.write(`bench: CPU profiles in ${join(c.root, 'prof')}\n`);
    }
    await c.destroy(failed || o.cpuProf.length > 0 || process.env['SHOAL_KEEP_BENCH_DIRS'] !== undefined);
  }
}
