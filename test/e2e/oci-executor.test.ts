// The oci executor with real runc containers (root only): a busybox image
// from a fake image provider, its own pid namespace and hostname, cgroup
// limits, logs, stop with a grace period, exit codes, OOM, healthchecks, and
// containers that outlive the agent and their monitor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../shared/logger.js';
import type { ContainerSpec, Task, TaskResources } from '../../shared/model/index.js';
import type { LogEntry, LogOptions } from '../../worker/executor/executor.js';
import { monitorPaths } from '../../worker/executor/oci/monitor-paths.js';
import { UNKNOWN_EXIT_CODE, UNKNOWN_EXIT_MESSAGE } from '../../worker/executor/oci/monitor.js';
import { OciExecutor } from '../../worker/executor/oci/oci-executor.js';
import { isMounted, mountPoints } from '../../worker/executor/oci/rootfs.js';
import { run } from '../../worker/executor/oci/runc.js';
import { buildBusyboxLayers, FakeImages } from './helpers/busybox-image.js';
import { requireRoot, requireRunc, until } from './helpers/root.js';

const log = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent' });
const MiB = 1024 * 1024;
const ms = (n: number): number => n * 1e6;

let seq = 0;
function task(c: Partial<ContainerSpec>, resources?: TaskResources): Task {
  const id = `task${String(++seq).padStart(3, '0')}${Math.random().toString(36).slice(2, 8)}`;
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: 'svc1',
    NodeID: 'node1',
    Spec: { ContainerSpec: { Image: 'busybox:test', ...c }, ...(resources ? { Resources: resources } : {}) },
    Status: { Timestamp: '', State: 'assigned', Message: '' },
    DesiredState: 'running',
  };
}

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const text = (entries: LogEntry[]): string => entries.map((e) => e.line.toString()).join('');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('oci executor (root, runc)', { timeout: 300_000 }, () => {
  let dir: string;
  let dataRoot: string;
  let images: FakeImages;
  let x: OciExecutor;
  const tasks: Task[] = [];
  const executors: OciExecutor[] = [];

  const open = async (): Promise<OciExecutor> => {
    const e = await OciExecutor.open({ dataRoot, images, logger: log });
    executors.push(e);
    return e;
  };

  /** prepare + start, remembered for cleanup. */
  const launch = async (t: Task, on = x): Promise<Task> => {
    tasks.push(t);
    await on.prepare(t);
    await on.start(t);
    return t;
  };

  const waitFor = (t: Task, on = x) => on.wait(t, AbortSignal.timeout(60_000));
  const logs = (t: Task, o: Partial<LogOptions> = {}, on = x) => collect(on.logs(t.ID, { follow: false, ...o }, AbortSignal.timeout(60_000)));

  before(async () => {
    requireRoot('test/e2e/oci-executor.test.ts');
    await requireRunc();
    dir = await mkdtemp(join(tmpdir(), 'shoal-oci-e2e-'));
    dataRoot = join(dir, 'data');
    images = new FakeImages(await buildBusyboxLayers(join(dir, 'image')));
    images.add('busybox:test');
    images.add('busybox:health', { Healthcheck: { Test: ['CMD-SHELL', 'test -e /tmp/ready'], Interval: ms(150), Retries: 2 } });
    images.add('busybox:entry', { Entrypoint: ['echo', 'from-entrypoint'], Cmd: ['default-arg'], Env: ['PATH=/bin', 'FROM_IMAGE=1'], WorkingDir: '/tmp' });
    x = await open();
  });

  after(async () => {
    // Everything goes, whatever failed: containers, mounts, the monitor, the directory.
    const last = executors.at(-1) ?? (dataRoot ? await OciExecutor.open({ dataRoot, images, logger: log }).catch(() => undefined) : undefined);
    if (last !== undefined) {
      for (const t of tasks) {
        await last.stop(t, { signal: 'SIGKILL', graceMs: 0 }).catch(() => undefined);
        await last.remove(t).catch(() => undefined);
      }
    }
    for (const e of executors) await e.close().catch(() => undefined);
    if (dataRoot !== undefined) {
      const paths = monitorPaths(dataRoot);
      const pid = Number((await readFile(paths.pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0 && alive(pid)) {
        process.kill(pid, 'SIGTERM');
        await until('the monitor to exit', () => (alive(pid) ? undefined : true), 10_000).catch(() => process.kill(pid, 'SIGKILL'));
      }
      const runc = { bin: '/usr/sbin/runc', root: paths.runcRoot };
      const listed = await run(runc.bin, ['--root', runc.root, 'list', '-q']).catch(() => undefined);
      for (const id of (listed?.stdout ?? '').split('\n').filter((s) => s !== '')) {
        await run(runc.bin, ['--root', runc.root, 'delete', '--force', id]);
      }
      const mounts = mountPoints(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m.startsWith(dir));
      for (const m of mounts) await run('umount', ['-l', m]);
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a task runs as PID 1 of its own pid namespace, with its hostname, user and environment', async () => {
    const t = await launch(
      task({
        Command: ['sh', '-c', 'echo pid=$$; hostname; echo host=$HOSTNAME; id -u; id -G; echo var=$SVC_VAR; pwd'],
        Hostname: 'web-1',
        User: 'app',
        Env: ['SVC_VAR=hello'],
        Dir: '/tmp',
      }),
    );
    const exit = await waitFor(t);
    assert.deepEqual(exit, { exitCode: 0 });
    const out = await logs(t);
    assert.equal(text(out), 'pid=1\nweb-1\nhost=web-1\n1000\n1000 50\nvar=hello\n/tmp\n');
    for (const e of out) {
      assert.equal(e.stream, 'stdout');
      assert.match(e.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    }
  });

  test("the image's entrypoint, cmd, env and working dir apply as Docker merges them", async () => {
    const a = await launch(task({ Image: 'busybox:entry' }));
    const b = await launch(task({ Image: 'busybox:entry', Args: ['given-arg'] }));
    const c = await launch(task({ Image: 'busybox:entry', Command: ['sh', '-c', 'echo $FROM_IMAGE $PATH; pwd'] }));
    await Promise.all([a, b, c].map((t) => waitFor(t)));
    assert.equal(text(await logs(a)), 'from-entrypoint default-arg\n');
    assert.equal(text(await logs(b)), 'from-entrypoint given-arg\n');
    assert.equal(text(await logs(c)), '1 /bin\n/tmp\n');
  });

  test('limits are set in the cgroup; a process ignoring SIGTERM is killed after the grace period (137)', async () => {
    const t = await launch(task({ Command: ['sleep', '1000'] }, { Limits: { MemoryBytes: 64 * MiB, NanoCPUs: 500_000_000, Pids: 100 } }));
    const info = await x.describe(t.ID);
    assert.ok(info?.pid !== undefined && alive(info.pid), 'describe gives the running pid');
    assert.match(info.containerId, /^[0-9a-f]{64}$/);
    const cg = (ctl: string, file: string) => readFile(`/sys/fs/cgroup/${ctl}/shoal/${info.containerId}/${file}`, 'utf8').then((s) => s.trim());
    assert.equal(await cg('memory', 'memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(await cg('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(await cg('cpu', 'cpu.cfs_period_us'), '100000');
    assert.equal(await cg('pids', 'pids.max'), '100');
    assert.deepEqual(await x.running().then((r) => r.includes(t.ID)), true);

    // sleep as PID 1 has no SIGTERM handler, so the kernel ignores the signal.
    const exited = waitFor(t);
    const t0 = Date.now();
    await x.stop(t, { signal: 'SIGTERM', graceMs: 700 });
    const took = Date.now() - t0;
    assert.ok(took >= 650, `killed only after the grace period (took ${took} ms)`);
    assert.deepEqual(await exited, { exitCode: 137 });
    assert.equal(await x.running().then((r) => r.includes(t.ID)), false);
  });

  test('SIGTERM is honoured by a process that handles it', async () => {
    const t = await launch(task({ Command: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.05; done'] }));
    await until('the trap to be set', async () => (text(await logs(t)).includes('ready') ? true : undefined));
    const t0 = Date.now();
    await x.stop(t, { signal: 'SIGTERM', graceMs: 20_000 });
    assert.ok(Date.now() - t0 < 5000, 'stopped well before the grace period ended');
    assert.deepEqual(await waitFor(t), { exitCode: 0 });
    assert.match(text(await logs(t)), /got-term/);
  });

  test('a non-zero exit is reported; a read-only rootfs refuses writes', async () => {
    const t = await launch(task({ Command: ['sh', '-c', 'touch /x || { echo cannot-write >&2; exit 3; }'], ReadOnly: true }));
    assert.deepEqual(await waitFor(t), { exitCode: 3 });
    const out = await logs(t);
    assert.ok(out.some((e) => e.stream === 'stderr' && e.line.toString() === 'cannot-write\n'), text(out));
  });

  test('a process that outgrows its memory limit is reported as OOM killed', async () => {
    const t = await launch(task({ Command: ['sh', '-c', 'x=a; while true; do x=$x$x; done'] }, { Limits: { MemoryBytes: 8 * MiB } }));
    assert.deepEqual(await waitFor(t), { exitCode: 137, message: 'OOM killed' });
  });

  test('a command that cannot start fails start with the runtime error', async () => {
    const t = task({ Command: ['/no/such/binary'] });
    tasks.push(t);
    await x.prepare(t);
    await assert.rejects(x.start(t), (err: Error) => {
      assert.match(err.message, /^runc: .*\/no\/such\/binary/);
      return true;
    });
    // start stays idempotent: it says the same again.
    await assert.rejects(x.start(t), /runc: .*no\/such\/binary/);
  });

  test('logs: stdout and stderr with tail, and follow until the task exits', async () => {
    const t = await launch(task({ Command: ['sh', '-c', 'for i in 1 2 3 4; do echo out$i; echo err$i >&2; sleep 0.15; done'] }));
    const followed = await collect(x.logs(t.ID, { follow: true }, AbortSignal.timeout(30_000)));
    assert.deepEqual(
      followed.filter((e) => e.stream === 'stdout').map((e) => e.line.toString()),
      ['out1\n', 'out2\n', 'out3\n', 'out4\n'],
    );
    assert.deepEqual(
      followed.filter((e) => e.stream === 'stderr').map((e) => e.line.toString()),
      ['err1\n', 'err2\n', 'err3\n', 'err4\n'],
    );
    const times = followed.map((e) => e.time);
    assert.deepEqual([...times].sort(), times, 'in time order');
    assert.deepEqual((await logs(t, { tail: 2 })).map((e) => e.line.toString()).sort(), ['err4\n', 'out4\n']);
    const since = Date.parse(followed[4]!.time);
    assert.ok((await logs(t, { sinceMs: since })).every((e) => Date.parse(e.time) >= since));
    assert.deepEqual(await collect(x.logs('no-such-task', { follow: true }, AbortSignal.timeout(5000))), []);
  });

  test('healthchecks: healthy once the probe passes, unhealthy after the retries fail', async () => {
    const good = await launch(task({ Image: 'busybox:health', Command: ['sh', '-c', 'sleep 0.5; touch /tmp/ready; exec sleep 1000'] }));
    const bad = await launch(
      task({ Command: ['sleep', '1000'], HealthCheck: { Test: ['CMD', 'false'], Interval: ms(100), Retries: 2 } }),
    );
    const slow = await launch(
      task({ Command: ['sleep', '1000'], HealthCheck: { Test: ['CMD-SHELL', 'sleep 5'], Interval: ms(100), Timeout: ms(200), Retries: 1 } }),
    );
    const none = await launch(task({ Image: 'busybox:health', Command: ['sleep', '1000'], HealthCheck: { Test: ['NONE'] } }));
    assert.equal(await x.health(good), 'starting');
    await until('healthy', async () => ((await x.health(good)) === 'healthy' ? true : undefined), 20_000);
    await until('unhealthy', async () => ((await x.health(bad)) === 'unhealthy' ? true : undefined), 20_000);
    await until('unhealthy after timeouts', async () => ((await x.health(slow)) === 'unhealthy' ? true : undefined), 20_000);
    assert.equal(await x.health(none), undefined);
    for (const t of [good, bad, slow, none]) await x.stop(t, { signal: 'SIGKILL', graceMs: 0 });
  });

  test('remove deletes the container; named volumes stay, anonymous ones go', async () => {
    const t = await launch(
      task({
        Command: ['sh', '-c', 'echo kept > /named/f; echo gone > /anon/f'],
        Mounts: [
          { Type: 'volume', Source: 'keepme', Target: '/named' },
          { Type: 'volume', Target: '/anon' },
          { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: MiB } },
        ],
      }),
    );
    assert.deepEqual(await waitFor(t), { exitCode: 0 });
    const { containerId } = (await x.describe(t.ID))!;
    const cdir = join(dataRoot, 'containers', containerId);
    // runc mounts the root inside the container's mount namespace: the host never sees it.
    assert.equal(await isMounted(join(cdir, 'rootfs')), false);
    await stat(join(cdir, 'upper'));
    await x.remove(t);
    await assert.rejects(stat(cdir), { code: 'ENOENT' });
    assert.equal(await readFile(join(dataRoot, 'volumes', 'keepme', '_data', 'f'), 'utf8'), 'kept\n');
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(join(dataRoot, 'volumes')), ['keepme']);
    assert.equal(await x.describe(t.ID), undefined);
    await x.remove(t); // idempotent
  });

  test('a restarted agent re-attaches: same process, wait still resolves at its exit', async () => {
    const ctl = join(dir, 'ctl-reattach');
    await mkdir(ctl, { recursive: true });
    const t = await launch(
      task({
        Command: ['sh', '-c', 'while [ ! -e /ctl/stop ]; do sleep 0.05; done; echo done; exit 5'],
        Mounts: [{ Type: 'bind', Source: ctl, Target: '/ctl' }],
      }),
    );
    const before = (await x.describe(t.ID))!;
    await x.close();

    x = await open();
    assert.ok((await x.running()).includes(t.ID), 'running() lists the task');
    const now = (await x.describe(t.ID))!;
    assert.equal(now.containerId, before.containerId);
    assert.equal(now.pid, before.pid, 'not restarted');
    const exited = waitFor(t);
    await writeFile(join(ctl, 'stop'), '');
    assert.deepEqual(await exited, { exitCode: 5 });
    assert.match(text(await logs(t)), /done\n/);
  });

  test('a killed monitor is replaced; the new one adopts the running container', async () => {
    const ctl = join(dir, 'ctl-adopt');
    await mkdir(ctl, { recursive: true });
    const t = await launch(
      task({
        Command: ['sh', '-c', 'while [ ! -e /ctl/stop ]; do sleep 0.05; done; exit 5'],
        Mounts: [{ Type: 'bind', Source: ctl, Target: '/ctl' }],
      }),
    );
    const before = (await x.describe(t.ID))!;
    await x.close();
    const monitorPid = Number((await readFile(monitorPaths(dataRoot).pidFile, 'utf8')).trim());
    process.kill(monitorPid, 'SIGKILL');
    await until('the monitor to die', () => (alive(monitorPid) ? undefined : true));
    assert.ok(alive(before.pid!), 'the container outlives its monitor');

    x = await open();
    const newPid = Number((await readFile(monitorPaths(dataRoot).pidFile, 'utf8')).trim());
    assert.notEqual(newPid, monitorPid, 'a new monitor runs');
    assert.ok((await x.running()).includes(t.ID));
    assert.equal((await x.describe(t.ID))?.pid, before.pid);
    const exited = waitFor(t);
    await writeFile(join(ctl, 'stop'), '');
    assert.deepEqual(await exited, { exitCode: UNKNOWN_EXIT_CODE, message: UNKNOWN_EXIT_MESSAGE });
  });

  test('a wait in flight survives the monitor being killed', async () => {
    const ctl = join(dir, 'ctl-wait');
    await mkdir(ctl, { recursive: true });
    const t = await launch(
      task({
        Command: ['sh', '-c', 'while [ ! -e /ctl/stop ]; do sleep 0.05; done; exit 5'],
        Mounts: [{ Type: 'bind', Source: ctl, Target: '/ctl' }],
      }),
    );
    const exited = waitFor(t);
    const monitorPid = Number((await readFile(monitorPaths(dataRoot).pidFile, 'utf8')).trim());
    process.kill(monitorPid, 'SIGKILL');
    await until('the monitor to die', () => (alive(monitorPid) ? undefined : true));
    await until('a new monitor', async () => {
      const pid = Number((await readFile(monitorPaths(dataRoot).pidFile, 'utf8').catch(() => '')).trim());
      return pid > 0 && pid !== monitorPid && alive(pid) ? pid : undefined;
    });
    await writeFile(join(ctl, 'stop'), '');
    assert.equal((await exited).exitCode, UNKNOWN_EXIT_CODE);
  });
});
