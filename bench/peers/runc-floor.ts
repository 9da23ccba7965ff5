// The physical floor of starting containers on this machine: plain `runc run -d`, one
// after another, of one shared read-only rootfs. No image handling, no networking, no
// control plane: whatever shoal (or Docker) spends above this is orchestration overhead.
// Bundles are written before the clock starts so only runc's own work is timed.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ShoalError } from '../../shared/errors.js';

export const RUNC = '/usr/sbin/runc';

export interface RuncFloorOptions {
  /** Absolute path of an unpacked rootfs; every container shares it read-only. */
  rootfs: string;
  count: number;
  /** Scratch directory: bundles, runc state and runc's log go here and are removed afterwards. */
  workDir: string;
  /** The container process; a long-running one so all `count` stay up together. */
  args?: string[];
}

export interface RuncFloorResult {
  totalMs: number;
  perContainerMs: { p50: number; max: number };
}

const DEFAULT_ARGS = ['sleep', '3600'];

/**
 * The OCI config of one floor container: `runc spec`'s defaults (the same namespaces,
 * masked and read-only paths a real container gets) without a terminal, so runc can detach.
 */
export function floorBundleConfig(rootfs: string, args: readonly string[], hostname: string): Record<string, unknown> {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...args],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Runs runc with stdio on /dev/null: a detached container inherits it and must not hold our pipes open. */
function runc(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNC, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

async function logTail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-3).join(' | ');
}

/**
 * Starts `count` containers with sequential `runc run -d` and times the runs; every
 * container is killed and deleted afterwards, whatever happened. Needs root.
 */
export async function measureRuncFloor(o: RuncFloorOptions): Promise<RuncFloorResult> {
  if (!isAbsolute(o.rootfs)) throw new ShoalError('invalid_argument', `rootfs must be an absolute path, got "${o.rootfs}"`, 400);
  if (!Number.isInteger(o.count) || o.count < 1) throw new ShoalError('invalid_argument', `count must be a positive integer, got ${o.count}`, 400);
  if (process.getuid?.() !== 0) throw new ShoalError('permission_denied', 'the runc floor needs root: run the bench as root', 403);

  const stateRoot = join(o.workDir, 'runc');
  const bundles = join(o.workDir, 'bundles');
  const log = join(o.workDir, 'runc.log');
  // Unique per process: with no cgroupsPath runc names each container's cgroups after its id.
  const ids = Array.from({ length: o.count }, (_, i) => `shoal-floor-${process.pid}-${i}`);
  const started: string[] = [];
  try {
    await mkdir(stateRoot, { recursive: true });
    for (const id of ids) {
      await mkdir(join(bundles, id), { recursive: true });
      await writeFile(join(bundles, id, 'config.json'), JSON.stringify(floorBundleConfig(o.rootfs, o.args ?? DEFAULT_ARGS, id)));
    }

    const each: number[] = [];
    const t0 = performance.now();
    for (const id of ids) {
      const t = performance.now();
      started.push(id);
      const code = await runc(['--root', stateRoot, '--log', log, 'run', '-d', '--bundle', join(bundles, id), id]);
      if (code !== 0) {
        throw new ShoalError('runc_failed', `runc run of ${id} exited with ${code}: ${await logTail(log)} (is ${o.rootfs} a complete rootfs with ${(o.args ?? DEFAULT_ARGS)[0]} in it?)`);
      }
      each.push(performance.now() - t);
    }
    const totalMs = performance.now() - t0;
    each.sort((a, b) => a - b);
    return { totalMs, perContainerMs: { p50: percentile(each, 0.5), max: each[each.length - 1]! } };
  } finally {
    // `delete --force` kills and removes in one step; a container that never started just fails quietly.
    for (const id of started) await runc(['--root', stateRoot, 'delete', '--force', id]).catch(() => 1);
    await rm(bundles, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
    await rm(log, { force: true });
  }
}
