// Overlay networks across hosts: three shoal daemons, each in a network
// namespace of its own (a test host) joined by an underlay bridge, running
// real runc containers. Service A (2 replicas, hosts 1 and 2) and service B
// (host 3) share an overlay: from B, A answers by name over its VIP and both
// tasks are reached; dnsrr and tasks.A give the task IPs; scaling A shows in
// the answers; a container on another overlay cannot reach A; a port A
// publishes answers on host 3's underlay address (the routing mesh), also
// during a start-first rolling update; removing a network removes its
// devices on every host.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Node, Swarm, Task } from '../../shared/model/index.js';
import { DaemonCluster, eventually, type DaemonProcess } from '../fixtures/daemons.js';
import { buildTestImage, type BuiltImage } from '../fixtures/images.js';
import { createTestHosts, type TestHost, type TestHosts } from '../fixtures/netns-hosts.js';
import { REGISTRY_BINARY, startRegistry, type RegistryFixture } from '../fixtures/registry.js';
import { requireRoot, requireRunc } from './helpers/root.js';

const SERVE = 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www';
const IDLE = 'while true; do sleep 1; done';
/**
 * An HTTP GET from inside a container, printing the body. Debian's
 * busybox-static wget crashes (SIGSEGV) on this machine, on the host too, and
 * its static glibc getaddrinfo crashes for any name that needs DNS, so the
 * request goes through nc to an address.
 */
const HTTP_GET = (ip: string): string => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 80 | tail -n 1`;
/**
 * `GET http://NAME/` from inside a container: the name is looked up with
 * busybox's own resolver (nslookup, against the container's resolv.conf,
 * which names shoal's DNS), then fetched as HTTP_GET does.
 */
const FETCH_BY_NAME = (name: string): string =>
  `ip=$(nslookup ${name} | sed -n 's/^Address:[[:space:]]*\\([0-9.]*\\)$/\\1/p' | tail -n 1); [ -n "$ip" ] || exit 3; ${HTTP_GET('"$ip"')} | grep .`;

function run(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('overlay networks across three hosts (network namespaces, runc, a registry on the underlay)', { timeout: 600_000 }, () => {
  let hosts: TestHosts;
  let c: DaemonCluster;
  let registry: RegistryFixture;
  let underlayRegistry: ReturnType<TestHost['spawn']> | undefined;
  const daemons: DaemonProcess[] = [];
  const nodeIds: string[] = [];
  let web: BuiltImage;
  let idle: BuiltImage;
  let webRef = '';
  let idleRef = '';

  const m1 = (): DaemonProcess => daemons[0]!;
  const tasksOf = (service: string): Promise<Task[]> => m1().ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  const running = async (service: string): Promise<Task[]> => (await tasksOf(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  const converged = (service: string, n: number, what: string): Promise<Task[]> =>
    eventually(async () => {
      const r = await running(service);
      return r.length === n ? r : undefined;
    }, what, 120_000, 200);
  const daemonOf = (t: Task): DaemonProcess => daemons[nodeIds.indexOf(t.NodeID!)]!;
  /** Runs a command inside a task's container (runc exec joins its namespaces). */
  const inTask = (t: Task, argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run('/usr/sbin/runc', ['--root', join(daemonOf(t).dataRoot, 'runc'), 'exec', t.Status.ContainerStatus!.ContainerID!, ...argv]);
  const addrOf = (t: Task, network: string): string => t.NetworksAttachments!.find((a) => a.Network.Spec.Name === network)!.Addresses[0]!.split('/')[0]!;
  const lookup = async (from: Task, name: string): Promise<string[]> => {
    const r = await inTask(from, ['nslookup', name]);
    // busybox nslookup: the server's lines first ("Server:", "Address: <server>#53"), then the answers.
    const answers = r.stdout.split(/\n\s*\n/).slice(1).join('\n');
    return [...answers.matchAll(/Address(?: \d+)?:\s+(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!).sort();
  };
  const create = async (spec: Record<string, unknown>): Promise<string> => (await m1().ok<{ ID: string }>('POST', '/services/create', spec)).ID;

  before(async () => {
    requireRoot('test/e2e/overlay.test.ts');
    await requireRunc();
    hosts = await createTestHosts(3);
    // Images are pushed to a registry on this machine's loopback, then served to the
    // test hosts by a second registry on host 1's underlay address over the same storage.
    registry = await startRegistry();
    web = await buildTestImage({ registry: registry.host, repository: 'e2e/web', tags: ['1'], variant: 'app', cmd: ['sh', '-c', SERVE] });
    idle = await buildTestImage({ registry: registry.host, repository: 'e2e/idle', tags: ['1'], variant: 'app', cmd: ['sh', '-c', IDLE] });
    const h1 = hosts.hosts[0]!;
    const port = 5000;
    const cfgDir = join(registry.dir, 'underlay');
    await mkdir(cfgDir, { recursive: true });
    await writeFile(
      join(cfgDir, 'config.yml'),
      ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${join(registry.dir, 'data')}`, 'http:', `  addr: ${h1.ip}:${port}`, '  secret: shoal-test-registry', ''].join('\n'),
    );
    underlayRegistry = h1.spawn(REGISTRY_BINARY, ['serve', join(cfgDir, 'config.yml')], { stdio: 'ignore' });
    const regHost = `${h1.ip}:${port}`;
    await eventually(async () => (await h1.exec('curl', ['-sS', '-m', '2', `http://${regHost}/v2/`])).code === 0 || undefined, 'the underlay registry', 20_000, 100);
    webRef = `${regHost}/e2e/web:1@${web.digest}`;
    idleRef = `${regHost}/e2e/idle:1@${idle.digest}`;

    c = await DaemonCluster.create('shoal-e2e-ov-');
    for (const [i, h] of hosts.hosts.entries()) {
      const d = await c.add(`h${i + 1}`, { commandPrefix: h.commandPrefix, extraArgs: ['--insecure-registry', `${h.cidr.replace(/\.\d+\/(\d+)$/, '.0/$1')}`] });
      daemons.push(d);
    }
    const addr = (i: number): string => `${hosts.hosts[i]!.ip}:${daemons[i]!.port}`;
    await m1().ok('POST', '/swarm/init', { ListenAddr: addr(0), AdvertiseAddr: addr(0) });
    const tokens = (await m1().ok<Swarm>('GET', '/swarm')).JoinTokens;
    for (const i of [1, 2]) await daemons[i]!.ok('POST', '/swarm/join', { ListenAddr: addr(i), AdvertiseAddr: addr(i), RemoteAddrs: [addr(0)], JoinToken: tokens.Worker });
    for (const d of daemons) nodeIds.push((await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID);
    // Placement by label: hosts 1 and 2 in zone a, host 3 in zone b.
    for (const [i, zone] of [[0, 'a'], [1, 'a'], [2, 'b']] as const) {
      const n = await m1().ok<Node>('GET', `/nodes/${nodeIds[i]}`);
      await m1().ok('POST', `/nodes/${n.ID}/update?version=${n.Version.Index}`, { ...n.Spec, Labels: { zone } });
    }
    await eventually(async () => (await m1().ok<Node[]>('GET', '/nodes')).filter((n) => n.Status.State === 'ready').length === 3 || undefined, 'three ready nodes');
    await m1().ok('POST', '/networks/create', { Name: 'front', Driver: 'overlay' });
    await m1().ok('POST', '/networks/create', { Name: 'other', Driver: 'overlay' });
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs(60)}\n`);
    await c?.destroy();
    underlayRegistry?.kill('SIGKILL');
    await registry?.stop();
    await hosts?.destroy();
  });

  let clientB: Task;
  let taskIpsA: string[] = [];

  it('from B, A answers by name over its VIP and both of its tasks are reached', async () => {
    await create({
      Name: 'A',
      TaskTemplate: { ContainerSpec: { Image: webRef }, Networks: [{ Target: 'front' }], Placement: { Constraints: ['node.labels.zone==a'], MaxReplicas: 1 } },
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 }] },
      UpdateConfig: { Parallelism: 1, Delay: 0, Order: 'start-first', Monitor: 1e9 },
    });
    await create({
      Name: 'B',
      TaskTemplate: { ContainerSpec: { Image: idleRef }, Networks: [{ Target: 'front' }], Placement: { Constraints: ['node.labels.zone==b'] } },
      Mode: { Replicated: { Replicas: 1 } },
    });
    const a = await converged('A', 2, 'two A tasks running');
    assert.deepEqual(a.map((t) => nodeIds.indexOf(t.NodeID!)).sort(), [0, 1], 'A on hosts 1 and 2');
    clientB = (await converged('B', 1, 'B running'))[0]!;
    assert.equal(nodeIds.indexOf(clientB.NodeID!), 2, 'B on host 3');
    taskIpsA = a.map((t) => addrOf(t, 'front')).sort();

    const hostnames = new Set(a.map((t) => t.Status.ContainerStatus!.ContainerID!.slice(0, 12)));
    let last = '';
    const seen = await eventually(async () => {
      const got = new Set<string>();
      for (let i = 0; i < 20 && got.size < 2; i++) {
        const r = await inTask(clientB, ['sh', '-c', FETCH_BY_NAME('A')]);
        if (r.code === 0) got.add(r.stdout.trim());
        else last = `exit ${r.code}: ${r.stderr.trim()}`;
      }
      return got.size === 2 ? got : undefined;
    }, 'both A tasks answering B through the VIP', 60_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}; last attempt: ${last}`);
    });
    assert.deepEqual([...seen].sort(), [...hostnames].sort());
    const svcA = await m1().ok<{ Endpoint: { VirtualIPs: Array<{ NetworkID: string; Addr: string }> } }>('GET', '/services/A');
    const front = await m1().ok<{ Id: string }>('GET', '/networks/front');
    const vip = svcA.Endpoint.VirtualIPs.find((v) => v.NetworkID === front.Id)!.Addr.split('/')[0]!;
    assert.deepEqual(await lookup(clientB, 'A'), [vip], 'the name gives the VIP');
  });

  it('tasks.A gives the task IPs, dnsrr gives them for the name itself, and scaling shows within seconds', async () => {
    assert.deepEqual(await lookup(clientB, 'tasks.A'), taskIpsA);
    await create({
      Name: 'Arr',
      TaskTemplate: { ContainerSpec: { Image: webRef }, Networks: [{ Target: 'front' }], Placement: { Constraints: ['node.labels.zone==a'] } },
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    const rr = await converged('Arr', 2, 'two dnsrr tasks');
    const rrIps = rr.map((t) => addrOf(t, 'front')).sort();
    await eventually(async () => JSON.stringify(await lookup(clientB, 'Arr')) === JSON.stringify(rrIps) || undefined, 'dnsrr answers with both task IPs', 30_000, 250);

    const svc = await m1().ok<{ Version: { Index: number }; Spec: Record<string, unknown> }>('GET', '/services/A');
    await m1().ok('POST', `/services/A/update?version=${svc.Version.Index}`, { ...svc.Spec, Mode: { Replicated: { Replicas: 3 } }, TaskTemplate: { ...(svc.Spec['TaskTemplate'] as object), Placement: { Constraints: ['node.labels.zone==a'] } } });
    const three = await converged('A', 3, 'three A tasks');
    const want = three.map((t) => addrOf(t, 'front')).sort();
    // "Within seconds": the answers must follow the scale-up before this deadline.
    await eventually(async () => JSON.stringify(await lookup(clientB, 'tasks.A')) === JSON.stringify(want) || undefined, 'tasks.A with three addresses', 30_000, 200);
  });

  it('a container on another overlay network cannot reach A', async () => {
    await create({
      Name: 'C',
      TaskTemplate: { ContainerSpec: { Image: idleRef }, Networks: [{ Target: 'other' }], Placement: { Constraints: ['node.labels.zone==b'] } },
      Mode: { Replicated: { Replicas: 1 } },
    });
    const cTask = (await converged('C', 1, 'C running'))[0]!;
    // The same request from B succeeds (the first test); from C it gets nothing.
    const fromB = await inTask(clientB, ['sh', '-c', `${HTTP_GET(taskIpsA[0]!)} | grep .`]);
    assert.equal(fromB.code, 0, `B reaches A's task address: ${JSON.stringify(fromB)}`);
    const byIp = await inTask(cTask, ['sh', '-c', `${HTTP_GET(taskIpsA[0]!)} | grep .`]);
    assert.notEqual(byIp.code, 0, `A's task address is not reachable from another network: ${JSON.stringify(byIp)}`);
    assert.deepEqual(await lookup(cTask, 'A'), [], 'and its name does not resolve there');
  });

  it('a published port answers on host 3\'s underlay address, and keeps answering through a start-first rolling update', async () => {
    const h2 = hosts.hosts[1]!;
    const h3 = hosts.hosts[2]!;
    const url = `http://${h3.ip}:8080/`;
    let meshErr = '';
    await eventually(async () => {
      const r = await h2.exec('curl', ['-sS', '-m', '3', url]);
      meshErr = `exit ${r.code}: ${r.stderr.trim()}`;
      return r.code === 0 || undefined;
    }, 'the routing mesh answering', 30_000, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}; last wget: ${meshErr}`);
    });
    const svc = await m1().ok<{ Version: { Index: number }; Spec: { TaskTemplate: { ContainerSpec: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown> }>('GET', '/services/A');
    await m1().ok('POST', `/services/A/update?version=${svc.Version.Index}`, {
      ...svc.Spec,
      TaskTemplate: { ...svc.Spec.TaskTemplate, ContainerSpec: { ...svc.Spec.TaskTemplate.ContainerSpec, Env: ['VERSION=2'] } },
    });
    let ok = 0;
    const failures: string[] = [];
    for (;;) {
      const r = await h2.exec('curl', ['-sS', '-m', '3', url]);
      if (r.code === 0) ok++;
      else failures.push(r.stderr.trim());
      const s = await m1().ok<{ UpdateStatus?: { State: string } }>('GET', '/services/A');
      if (s.UpdateStatus?.State === 'completed') break;
      if (failures.length > 0) break;
    }
    assert.deepEqual(failures, [], `every request during the update answered (${ok} did)`);
    assert.ok(ok > 0);
  });

  it('removing a network removes its devices on every host', async () => {
    const other = await m1().ok<{ Id: string }>('GET', '/networks/other');
    const tag = other.Id.slice(0, 12);
    const namespaces = async (): Promise<string[]> => (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.includes(`-n-${tag}`));
    assert.equal((await namespaces()).length, 1, 'while C runs, host 3 has the network (its bridge and VXLAN device in a namespace)');
    const cId = (await m1().ok<{ ID: string }>('GET', '/services/C')).ID;
    await m1().ok('DELETE', '/services/C');
    await eventually(async () => (await m1().ok<Task[]>('GET', '/tasks')).every((t) => t.ServiceID !== cId) || undefined, 'C\'s tasks gone', 60_000, 200);
    await m1().ok('DELETE', '/networks/other');
    await eventually(async () => (await namespaces()).length === 0 || undefined, 'no namespace of the network left on any host', 60_000, 200);
    // The networks still in use keep theirs: front on all three hosts.
    const front = (await m1().ok<{ Id: string }>('GET', '/networks/front')).Id.slice(0, 12);
    assert.equal((await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.includes(`-n-${front}`)).length, 3);
  });
});

