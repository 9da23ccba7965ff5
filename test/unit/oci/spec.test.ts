// The OCI config a task's container gets (spec.ts): Docker's merge of the
// image's command and environment with the service's, resources as cgroup
// values, mounts, capabilities and the rest of the container's confinement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerSpec, Task, TaskResources } from '../../../shared/model/index.js';
import type { ImageRuntimeConfig } from '../../../shared/registry/types.js';
import { DEFAULT_CAPABILITIES } from '../../../worker/executor/oci/capabilities.js';
import {
  buildSpec,
  cgroupResources,
  containerHostname,
  DEFAULT_PATH,
  MASKED_PATHS,
  mergeEnv,
  planMounts,
  processArgs,
  processEnv,
  READONLY_PATHS,
  rlimits,
  rootMount,
  workingDir,
  type ResolvedMount,
  type SpecInput,
} from '../../../worker/executor/oci/spec.js';

const CID = 'abcdef0123456789'.repeat(4);

function task(c: Partial<ContainerSpec> = {}, resources?: TaskResources): Task {
  return {
    ID: 'task1',
    Name: 'web.1.task1',
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: 'svc1',
    NodeID: 'node1',
    Spec: { ContainerSpec: { Image: 'busybox', ...c }, ...(resources ? { Resources: resources } : {}) },
    Status: { Timestamp: '', State: 'assigned', Message: '' },
    DesiredState: 'running',
  };
}

function input(t: Task, image: ImageRuntimeConfig = { Cmd: ['sh'] }, over: Partial<SpecInput> = {}): SpecInput {
  return {
    containerId: CID,
    task: t,
    image,
    user: { uid: 0, gid: 0 },
    rootfs: { path: '/d/c/rootfs', layers: ['/l/1', '/l/2'], upper: '/d/c/upper', work: '/d/c/work' },
    etcFiles: { hosts: '/d/c/hosts', hostname: '/d/c/hostname', resolvConf: '/d/c/resolv.conf' },
    mounts: [],
    ...over,
  };
}

test('command and args merge with the image entrypoint and cmd as Docker does', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['cmd-arg'] };
  const cases: Array<[string, Pick<ContainerSpec, 'Command' | 'Args'>, ImageRuntimeConfig | undefined, string[]]> = [
    ['neither: image entrypoint + cmd', {}, image, ['/entry', 'cmd-arg']],
    ['args only: image entrypoint + args (cmd replaced)', { Args: ['a'] }, image, ['/entry', 'a']],
    ['command only: replaces the entrypoint, drops the image cmd', { Command: ['/bin/x'] }, image, ['/bin/x']],
    ['command and args', { Command: ['/bin/x'], Args: ['a', 'b'] }, image, ['/bin/x', 'a', 'b']],
    ['empty arrays count as unset', { Command: [], Args: [] }, image, ['/entry', 'cmd-arg']],
    ['image with cmd only', {}, { Cmd: ['sh', '-c', 'x'] }, ['sh', '-c', 'x']],
    ['image with cmd only, args given', { Args: ['ls'] }, { Cmd: ['sh'] }, ['ls']],
    ['image with entrypoint only', {}, { Entrypoint: ['/e'] }, ['/e']],
    ['null entrypoint in the image', {}, { Entrypoint: null, Cmd: ['sh'] }, ['sh']],
  ];
  for (const [name, c, img, want] of cases) assert.deepEqual(processArgs(img, c), want, name);
  assert.throws(() => processArgs({}, {}), /no command specified/);
  assert.throws(() => processArgs(undefined, { Args: [] }), /no command specified/);
});

test('environment: PATH and HOSTNAME defaults, image env, then the service env wins', () => {
  assert.deepEqual(processEnv(undefined, {}, 'h1'), [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=h1']);
  assert.deepEqual(processEnv({ Env: ['PATH=/bin', 'A=1', 'B=2'] }, { Env: ['B=3', 'C=4'] }, 'h1'), ['PATH=/bin', 'HOSTNAME=h1', 'A=1', 'B=3', 'C=4']);
  assert.deepEqual(processEnv({ Env: ['HOSTNAME=img'] }, { Env: ['HOSTNAME=mine'] }, 'h1'), [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=mine']);
  assert.ok(processEnv(undefined, { TTY: true }, 'h').includes('TERM=xterm'));
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['A']), ['B=2'], 'a bare name unsets');
  assert.deepEqual(mergeEnv(['A=1'], ['A=x=y']), ['A=x=y'], 'values may contain =');
});

test('working dir and hostname', () => {
  assert.equal(workingDir(undefined, {}), '/');
  assert.equal(workingDir({ WorkingDir: '/app' }, {}), '/app');
  assert.equal(workingDir({ WorkingDir: '/app' }, { Dir: '/srv' }), '/srv');
  assert.throws(() => workingDir(undefined, { Dir: 'rel' }), /needs to be an absolute path/);
  assert.equal(containerHostname(CID, {}), CID.slice(0, 12));
  assert.equal(containerHostname(CID, { Hostname: 'web-1' }), 'web-1');
});

test('resources become cgroup values: memory without swap, CPU quota per 100 ms, pids', () => {
  const r = cgroupResources({ Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 1_500_000_000, Pids: 50 }, Reservations: { MemoryBytes: 16 * 1024 * 1024 } });
  assert.deepEqual(r.memory, { limit: 64 * 1024 * 1024, swap: 64 * 1024 * 1024, reservation: 16 * 1024 * 1024 });
  assert.deepEqual(r.cpu, { period: 100_000, quota: 150_000 });
  assert.deepEqual(r.pids, { limit: 50 });
  assert.deepEqual(cgroupResources({ Limits: { NanoCPUs: 250_000_000 } }).cpu, { period: 100_000, quota: 25_000 });
  const none = cgroupResources(undefined);
  assert.equal(none.memory, undefined);
  assert.equal(none.cpu, undefined);
  assert.equal(none.pids, undefined);
  assert.deepEqual(none.devices[0], { allow: false, access: 'rwm' }, 'every device denied first');
  assert.ok(none.devices.some((d) => d.allow && d.major === 1 && d.minor === 3), '/dev/null allowed');
  assert.throws(() => cgroupResources({ Limits: { MemoryBytes: 1024 * 1024 } }), /minimum is 6MB/);
});

test('ulimits become rlimits', () => {
  assert.deepEqual(rlimits([{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'AS', Soft: 1, Hard: 1 }]), [
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
    { type: 'RLIMIT_AS', soft: 1, hard: 1 },
  ]);
  assert.throws(() => rlimits([{ Name: 'bogus', Soft: 1, Hard: 1 }]), /invalid ulimit type: bogus/);
  assert.throws(() => rlimits([{ Name: 'nofile', Soft: 2, Hard: 1 }]), /greater than hard limit/);
});

test('mounts: binds, named and anonymous volumes, tmpfs, image volumes; parents first', () => {
  let n = 0;
  const plan = planMounts(
    [
      { Type: 'bind', Source: '/host/data', Target: '/data/sub', ReadOnly: true },
      { Type: 'volume', Source: 'db', Target: '/var/lib/db' },
      { Type: 'volume', Target: '/cache' },
      { Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
      { Type: 'bind', Source: '/host', Target: '/data' },
    ],
    ['/var/lib/db', '/image/vol'],
    { volumesDir: '/root/volumes', newVolumeName: () => `anon${++n}` },
  );
  assert.deepEqual(
    plan.mounts.map((m) => m.target),
    ['/cache', '/run', '/data', '/data/sub', '/image/vol', '/var/lib/db'],
  );
  assert.deepEqual(plan.bindSources, ['/host/data', '/host']);
  assert.deepEqual(plan.volumes, [
    { name: 'db', anonymous: false, dir: '/root/volumes/db/_data' },
    { name: 'anon1', anonymous: true, dir: '/root/volumes/anon1/_data' },
    { name: 'anon2', anonymous: true, dir: '/root/volumes/anon2/_data' },
  ]);
  const byTarget = new Map(plan.mounts.map((m) => [m.target, m]));
  assert.deepEqual(byTarget.get('/data/sub'), { kind: 'bind', source: '/host/data', target: '/data/sub', readOnly: true });
  assert.deepEqual(byTarget.get('/run'), { kind: 'tmpfs', target: '/run', readOnly: false, sizeBytes: 1024, mode: 0o1777 });

  const o = { volumesDir: '/v', newVolumeName: () => 'x' };
  assert.throws(() => planMounts([{ Type: 'bind', Target: '/x' }], [], o), /invalid mount config for type "bind": field Source must not be empty/);
  assert.throws(() => planMounts([{ Type: 'bind', Source: '/a' }], [], o), /field Target must not be empty/);
  assert.throws(() => planMounts([{ Type: 'volume', Source: 'v', Target: 'rel' }], [], o), /mount path must be absolute/);
  assert.throws(() => planMounts([{ Type: 'volume', Source: '../../etc', Target: '/x' }], [], o), /invalid characters for a local volume name/);
  assert.throws(() => planMounts([{ Type: 'tmpfs', Source: 'x', Target: '/x' }], [], o), /field Source must not be specified/);
  assert.throws(() => planMounts([{ Type: 'npipe', Source: 'x', Target: '/x' }], [], o), /mount type "npipe" is not supported/);
  assert.throws(
    () => planMounts([{ Type: 'tmpfs', Target: '/x' }, { Type: 'tmpfs', Target: '/x/' }], [], o),
    /duplicate mount point: \/x/,
  );
});

test('the root is an overlay of the layers, highest first, mounted before everything else', () => {
  const s = buildSpec(input(task()));
  assert.deepEqual(s.mounts[0], {
    destination: '/',
    type: 'overlay',
    source: 'overlay',
    options: ['lowerdir=/l/2:/l/1', 'upperdir=/d/c/upper', 'workdir=/d/c/work'],
  });
  assert.deepEqual(s.root, { path: '/d/c/rootfs', readonly: false });
  assert.equal(buildSpec(input(task({ ReadOnly: true }))).root.readonly, true);
  assert.throws(() => rootMount(['/a:b'], '/u', '/w'), /cannot take/);
  const many = Array.from({ length: 200 }, (_, i) => `/var/lib/shoal/images/layers/sha256-${String(i).padStart(64, '0')}`);
  assert.throws(() => rootMount(many, '/u', '/w'), /too many layers \(200\)/);
});

test('the whole config: process, namespaces, cgroup path, confinement, etc files and annotations', () => {
  const t = task({ Command: ['sleep', '1'], Hostname: 'web', Labels: { team: 'a', 'com.docker.swarm.task.id': 'forged' }, Sysctls: { 'net.ipv4.ip_forward': '1' } });
  const s = buildSpec(input(t, undefined, { user: { uid: 1000, gid: 1000, additionalGids: [1000, 50] } }));
  assert.equal(s.ociVersion, '1.0.2');
  assert.deepEqual(s.process.args, ['sleep', '1']);
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 50] });
  assert.equal(s.process.terminal, false);
  assert.equal(s.process.noNewPrivileges, true);
  assert.deepEqual(s.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(s.process.capabilities.effective, [...DEFAULT_CAPABILITIES]);
  assert.equal(s.hostname, 'web');
  assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.equal(s.linux.namespaces.find((n) => n.type === 'network')?.path, undefined, 'a new, empty network namespace');
  assert.equal(s.linux.cgroupsPath, `/shoal/${CID}`);
  assert.deepEqual(s.linux.maskedPaths, [...MASKED_PATHS]);
  assert.ok(s.linux.maskedPaths.includes('/sys/devices/virtual/powercap'));
  assert.deepEqual(s.linux.readonlyPaths, [...READONLY_PATHS]);
  assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ip_forward': '1' });
  const dests = s.mounts.map((m) => m.destination);
  for (const d of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) {
    assert.ok(dests.includes(d), `mounts ${d}`);
  }
  assert.deepEqual(s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'), true);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/d/c/hosts', options: ['rbind', 'rprivate'] });
  assert.equal(s.annotations['team'], 'a');
  assert.equal(s.annotations['com.docker.swarm.task.id'], 'task1', 'swarm labels cannot be forged');
  assert.equal(s.annotations['com.docker.swarm.service.id'], 'svc1');
  assert.equal(s.annotations['com.docker.swarm.node.id'], 'node1');
  assert.equal(s.annotations['com.docker.swarm.task.name'], 'web.1.task1');
  assert.equal(s.process.rlimits, undefined);
});

test('a network namespace path is joined when the network layer gives one', () => {
  const s = buildSpec(input(task(), undefined, { networkNamespace: '/run/netns/x' }));
  assert.deepEqual(s.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/x' });
});

test("the service's mounts come after the defaults and replace a default with the same target", () => {
  const mounts: ResolvedMount[] = [
    { kind: 'bind', source: '/h/hosts', target: '/etc/hosts', readOnly: true },
    { kind: 'tmpfs', target: '/dev/shm', readOnly: false, sizeBytes: 1 << 20 },
    { kind: 'bind', source: '/h/data', target: '/data', readOnly: false },
  ];
  const s = buildSpec(input(task(), undefined, { mounts }));
  assert.equal(s.mounts.filter((m) => m.destination === '/etc/hosts').length, 1);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/h/hosts', options: ['rbind', 'rprivate', 'ro'] });
  assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/shm'), {
    destination: '/dev/shm',
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['nosuid', 'nodev', 'noexec', 'rw', `size=${1 << 20}`],
  });
  assert.equal(s.mounts.at(-1)?.destination, '/data');
});

test('capabilities add and drop (including ALL) reach every set', () => {
  const s = buildSpec(input(task({ CapabilityAdd: ['NET_ADMIN'], CapabilityDrop: ['cap_chown'] })));
  assert.ok(s.process.capabilities.bounding.includes('CAP_NET_ADMIN'));
  assert.ok(!s.process.capabilities.permitted.includes('CAP_CHOWN'));
  const none = buildSpec(input(task({ CapabilityDrop: ['ALL'], CapabilityAdd: ['KILL'] })));
  assert.deepEqual(none.process.capabilities.effective, ['CAP_KILL']);
});

test('a TTY task gets TERM but no terminal (runc run in the monitor has none to give)', () => {
  const s = buildSpec(input(task({ TTY: true })));
  assert.equal(s.process.terminal, false);
  assert.ok(s.process.env.includes('TERM=xterm'));
});
