// The OCI runtime config (config.json) for a task's container, built the way
// Docker builds one for a swarm task: command and environment merged from the
// image and the ContainerSpec, Docker's default mounts, capabilities, masked
// paths and device rules, and cgroup limits from the task's resources. Pure:
// everything read from disk (the image config, /etc/passwd, volume paths)
// comes in as arguments.
import { posix } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors.js';
import type { ContainerSpec, Mount, Task, TaskResources } from '../../../shared/model/index.js';
import type { ImageRuntimeConfig } from '../../../shared/registry/types.js';
import { effectiveCapabilities } from './capabilities.js';
import { OCI_VERSION, type OciDeviceRule, type OciMount, type OciNamespace, type OciResources, type OciRlimit, type OciSpec, type OciUser } from './oci-types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const CPU_PERIOD_US = 100_000;
/** Docker refuses smaller memory limits: the runtime itself needs about that much. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Deny every device, then allow what Docker allows by default (mknod of any, and the usual character devices). */
export const DEFAULT_DEVICE_RULES: readonly OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // tun
];

/** Docker's ulimit names; each is RLIMIT_<NAME> except `as`. */
const ULIMIT_NAMES = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as']);

// ---- command and environment ------------------------------------------------

/**
 * Docker's rules, as swarm applies them: Command replaces the image's
 * Entrypoint and drops its Cmd (Args, if any, follow Command); Args alone
 * replace the image's Cmd and keep its Entrypoint.
 */
export function processArgs(image: ImageRuntimeConfig | undefined, c: Pick<ContainerSpec, 'Command' | 'Args'>): string[] {
  const command = c.Command ?? [];
  const args = c.Args ?? [];
  let argv: string[];
  if (command.length > 0) argv = [...command, ...args];
  else if (args.length > 0) argv = [...(image?.Entrypoint ?? []), ...args];
  else argv = [...(image?.Entrypoint ?? []), ...(image?.Cmd ?? [])];
  if (argv.length === 0) {
    throw new InvalidArgumentError('no command specified: the image has no Entrypoint or Cmd; give the service a command');
  }
  return argv;
}

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

/** Overrides replace same-named entries in place and append new ones; a bare `NAME` removes NAME. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const e of overrides) {
    const key = envKey(e);
    const at = out.findIndex((x) => envKey(x) === key);
    if (!e.includes('=')) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = e;
    } else {
      out.push(e);
    }
  }
  return out;
}

/** PATH and HOSTNAME first (Docker's defaults), then the image's env, then the service's. */
export function processEnv(image: ImageRuntimeConfig | undefined, c: Pick<ContainerSpec, 'Env' | 'TTY'>, hostname: string): string[] {
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (c.TTY === true) defaults.push('TERM=xterm');
  return mergeEnv(mergeEnv(defaults, image?.Env ?? []), c.Env ?? []);
}

export function workingDir(image: ImageRuntimeConfig | undefined, c: Pick<ContainerSpec, 'Dir'>): string {
  const dir = c.Dir !== undefined && c.Dir !== '' ? c.Dir : image?.WorkingDir !== undefined && image.WorkingDir !== '' ? image.WorkingDir : '/';
  if (!dir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${dir}' is invalid, it needs to be an absolute path`);
  }
  return dir;
}

/** ContainerSpec.Hostname, else the container ID's first 12 characters (Docker's default). */
export function containerHostname(containerId: string, c: Pick<ContainerSpec, 'Hostname'>): string {
  return c.Hostname !== undefined && c.Hostname !== '' ? c.Hostname : containerId.slice(0, 12);
}

// ---- resources ---------------------------------------------------------------

export function cgroupResources(r: TaskResources | undefined): OciResources {
  const out: OciResources = { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) };
  const limits = r?.Limits;
  const memory: NonNullable<OciResources['memory']> = {};
  if (limits?.MemoryBytes !== undefined && limits.MemoryBytes > 0) {
    if (limits.MemoryBytes < MIN_MEMORY_BYTES) {
      throw new InvalidArgumentError(`memory limit ${limits.MemoryBytes} bytes is too small: the minimum is 6MB`);
    }
    // Swap limit equal to the memory limit: the container gets no swap.
    memory.limit = limits.MemoryBytes;
    memory.swap = limits.MemoryBytes;
  }
  const reserve = r?.Reservations?.MemoryBytes;
  if (reserve !== undefined && reserve > 0) memory.reservation = reserve;
  if (Object.keys(memory).length > 0) out.memory = memory;
  if (limits?.NanoCPUs !== undefined && limits.NanoCPUs > 0) {
    out.cpu = { period: CPU_PERIOD_US, quota: Math.max(1000, Math.round((limits.NanoCPUs / 1e9) * CPU_PERIOD_US)) };
  }
  if (limits?.Pids !== undefined && limits.Pids > 0) out.pids = { limit: limits.Pids };
  return out;
}

export function rlimits(ulimits: ContainerSpec['Ulimits']): OciRlimit[] {
  return (ulimits ?? []).map((u) => {
    const name = u.Name.trim().toLowerCase();
    if (!ULIMIT_NAMES.has(name)) {
      throw new InvalidArgumentError(`invalid ulimit type: ${u.Name}; use one of ${[...ULIMIT_NAMES].join(', ')}`);
    }
    if (u.Soft > u.Hard) throw new InvalidArgumentError(`ulimit ${u.Name}: soft limit ${u.Soft} is greater than hard limit ${u.Hard}`);
    return { type: `RLIMIT_${name.toUpperCase()}`, soft: u.Soft, hard: u.Hard };
  });
}

// ---- mounts ----------------------------------------------------------------

export type ResolvedMount =
  | { kind: 'bind'; source: string; target: string; readOnly: boolean }
  | { kind: 'tmpfs'; target: string; readOnly: boolean; sizeBytes?: number; mode?: number };

export interface VolumeUse {
  name: string;
  /** Made for this container only (no Source, or an image VOLUME): removed with it. */
  anonymous: boolean;
  /** `<volumes>/<name>/_data`, the directory mounted. */
  dir: string;
}

export interface MountPlan {
  mounts: ResolvedMount[];
  volumes: VolumeUse[];
  /** Bind sources that must exist before the container starts (Docker refuses otherwise). */
  bindSources: string[];
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function mountError(type: string, what: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid mount config for type "${type}": ${what}`);
}

/**
 * The service's mounts (and the image's VOLUMEs not covered by one) with
 * volumes turned into directories under `volumesDir`, checked as Docker
 * checks them. Sorted parents first, so a mount inside another lands on top.
 */
export function planMounts(
  specMounts: readonly Mount[] | undefined,
  imageVolumes: readonly string[],
  o: { volumesDir: string; newVolumeName: () => string },
): MountPlan {
  const plan: MountPlan = { mounts: [], volumes: [], bindSources: [] };
  const targets = new Set<string>();
  const volume = (name: string, anonymous: boolean): string => {
    const dir = posix.join(o.volumesDir, name, '_data');
    if (!plan.volumes.some((v) => v.name === name)) plan.volumes.push({ name, anonymous, dir });
    return dir;
  };
  for (const m of specMounts ?? []) {
    const type = m.Type ?? 'volume';
    const target = m.Target ?? '';
    if (target === '') throw mountError(type, 'field Target must not be empty');
    if (!target.startsWith('/')) throw mountError(type, `invalid mount path: '${target}' mount path must be absolute`);
    const dest = cleanPath(target);
    if (targets.has(dest)) throw new InvalidArgumentError(`duplicate mount point: ${dest}`);
    targets.add(dest);
    const readOnly = m.ReadOnly === true;
    const source = m.Source ?? '';
    switch (type) {
      case 'bind':
        if (source === '') throw mountError(type, 'field Source must not be empty');
        if (!source.startsWith('/')) throw mountError(type, `invalid mount path: '${source}' mount path must be absolute`);
        plan.bindSources.push(source);
        plan.mounts.push({ kind: 'bind', source, target: dest, readOnly });
        break;
      case 'volume':
        if (source !== '' && !VOLUME_NAME.test(source)) {
          throw mountError(type, `"${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
        }
        plan.mounts.push({ kind: 'bind', source: source === '' ? volume(o.newVolumeName(), true) : volume(source, false), target: dest, readOnly });
        break;
      case 'tmpfs': {
        if (source !== '') throw mountError(type, 'field Source must not be specified');
        const t: ResolvedMount = { kind: 'tmpfs', target: dest, readOnly };
        if (m.TmpfsOptions?.SizeBytes !== undefined && m.TmpfsOptions.SizeBytes > 0) t.sizeBytes = m.TmpfsOptions.SizeBytes;
        if (m.TmpfsOptions?.Mode !== undefined) t.mode = m.TmpfsOptions.Mode;
        plan.mounts.push(t);
        break;
      }
      default:
        throw new InvalidArgumentError(`mount type "${type}" is not supported by shoal's oci executor; use bind, volume or tmpfs`);
    }
  }
  for (const v of imageVolumes) {
    const dest = cleanPath(v.startsWith('/') ? v : `/${v}`);
    if (targets.has(dest)) continue;
    targets.add(dest);
    plan.mounts.push({ kind: 'bind', source: volume(o.newVolumeName(), true), target: dest, readOnly: false });
  }
  plan.mounts.sort((a, b) => depth(a.target) - depth(b.target));
  return plan;
}

/** `/a//b/./c/` is `/a/b/c`. */
function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function depth(p: string): number {
  return p.split('/').filter((s) => s !== '').length;
}

function ociMount(m: ResolvedMount): OciMount {
  if (m.kind === 'bind') {
    return { destination: m.target, type: 'bind', source: m.source, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] };
  }
  const options = ['nosuid', 'nodev', 'noexec', m.readOnly ? 'ro' : 'rw'];
  if (m.sizeBytes !== undefined) options.push(`size=${m.sizeBytes}`);
  if (m.mode !== undefined) options.push(`mode=${(m.mode & 0o7777).toString(8).padStart(4, '0')}`);
  return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
}

/** What every container gets, before the service's own mounts. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
  ];
}

// ---- the whole config --------------------------------------------------------

export interface EtcFilePaths {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

/** mount(2) takes its data (the option string) in one page. */
export const MOUNT_DATA_MAX = 4096 - 1;

/**
 * The container's root: an overlayfs of the image's layers (lowerdir lists
 * the highest first) that runc mounts over the bundle's rootfs/ inside the
 * container's mount namespace. Images with so many layers that the paths
 * overflow mount(2)'s page are refused (Docker's own limit is 125 layers).
 */
export function rootMount(layerDirs: readonly string[], upper: string, work: string): OciMount {
  const lower = [...layerDirs].reverse();
  for (const d of [...lower, upper, work]) {
    if (/[,:]/.test(d)) throw new InvalidArgumentError(`path ${d} contains ',' or ':', which overlayfs cannot take; use another data root`);
  }
  if (lower.length === 0) throw new InvalidArgumentError('an overlay root needs at least one lower layer');
  const options = [`lowerdir=${lower.join(':')}`, `upperdir=${upper}`, `workdir=${work}`];
  if (options.join(',').length > MOUNT_DATA_MAX) {
    throw new InvalidArgumentError(`the image has too many layers (${layerDirs.length}) for one overlay mount; squash it into fewer layers`);
  }
  return { destination: '/', type: 'overlay', source: 'overlay', options };
}

export interface RootfsLayout {
  /** The bundle's (empty) rootfs directory, absolute. */
  path: string;
  /** The image's layer directories, lowest first. */
  layers: readonly string[];
  upper: string;
  work: string;
}

export interface SpecInput {
  containerId: string;
  task: Task;
  /** The image config's runtime part (LocalImage.config.config). */
  image: ImageRuntimeConfig | undefined;
  /** Resolved by the caller from the rootfs's /etc/passwd and /etc/group (user.ts). */
  user: OciUser;
  rootfs: RootfsLayout;
  etcFiles: EtcFilePaths;
  mounts: readonly ResolvedMount[];
  /** Join this network namespace (the overlay network's); a new one with only `lo` otherwise. */
  networkNamespace?: string;
}

/** Container labels first, then swarm's own (which a label cannot override). */
export function annotations(task: Task, containerId: string): Record<string, string> {
  const out: Record<string, string> = { ...(task.Spec.ContainerSpec?.Labels ?? {}) };
  out['com.docker.swarm.task.id'] = task.ID;
  out['com.docker.swarm.service.id'] = task.ServiceID;
  if (task.NodeID !== undefined) out['com.docker.swarm.node.id'] = task.NodeID;
  if (task.Name !== undefined) out['com.docker.swarm.task.name'] = task.Name;
  out['io.shoal.container.id'] = containerId;
  return out;
}

export function buildSpec(i: SpecInput): OciSpec {
  const c: ContainerSpec = i.task.Spec.ContainerSpec ?? { Image: '' };
  const hostname = containerHostname(i.containerId, c);
  const caps = effectiveCapabilities(c.CapabilityAdd, c.CapabilityDrop);
  const limits = rlimits(c.Ulimits);

  const own = new Set(i.mounts.map((m) => m.target));
  // The root first: every other mount lands on it.
  const mounts = [rootMount(i.rootfs.layers, i.rootfs.upper, i.rootfs.work), ...defaultMounts().filter((m) => !own.has(m.destination))];
  const etc: OciMount[] = [
    { destination: '/etc/resolv.conf', type: 'bind', source: i.etcFiles.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: i.etcFiles.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: i.etcFiles.hosts, options: ['rbind', 'rprivate'] },
  ];
  mounts.push(...etc.filter((m) => !own.has(m.destination)), ...i.mounts.map(ociMount));

  const network: OciNamespace = i.networkNamespace !== undefined ? { type: 'network', path: i.networkNamespace } : { type: 'network' };
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      // No terminal even with TTY: a foreground `runc run` needs one of its own for that, and the
      // monitor has none. The output goes through pipes; TERM is still set as Docker sets it.
      terminal: false,
      user: i.user,
      args: processArgs(i.image, c),
      env: processEnv(i.image, c, hostname),
      cwd: workingDir(i.image, c),
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      noNewPrivileges: true,
    },
    root: { path: i.rootfs.path, readonly: c.ReadOnly === true },
    hostname,
    mounts,
    annotations: annotations(i.task, i.containerId),
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, network],
      cgroupsPath: `/shoal/${i.containerId}`,
      resources: cgroupResources(i.task.Spec.Resources),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (limits.length > 0) spec.process.rlimits = limits;
  if (c.Sysctls !== undefined && Object.keys(c.Sysctls).length > 0) spec.linux.sysctl = { ...c.Sysctls };
  return spec;
}
