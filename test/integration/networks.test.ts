// Overlay networks on a swarm of real daemon processes (3 managers, drained,
// and 2 workers; sim executor): the shoal CLI creates, lists, inspects and
// removes networks; the allocator gives a service a VIP and its tasks
// addresses unique across the network, follows scaling, frees the network
// when the service goes, and a new leader keeps every allocation.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Network, Node, Service, ServiceSpec, Swarm, Task } from '../../shared/model/index.js';
import { DaemonCluster, eventually, MAIN, ms, type DaemonProcess } from './daemon-harness.js';

interface ShoalResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_')) env[k] = v;
  env['SHOAL_LOG_LEVEL'] = 'warn';
  return env;
}

function shoal(d: DaemonProcess, args: readonly string[]): Promise<ShoalResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, '-H', d.hostArg, ...args], { env: cliEnv(), timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

const live = (ts: Task[]): Task[] => ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
const addressesOf = (ts: Task[], networkId: string): string[] =>
  ts.flatMap((t) => (t.NetworksAttachments ?? []).filter((a) => a.Network.ID === networkId).flatMap((a) => a.Addresses));

describe('overlay networks on a swarm (3 managers, 2 workers, sim executor)', { timeout: 300_000 }, () => {
  let c: DaemonCluster;
  const managers = (): DaemonProcess[] => ['m1', 'm2', 'm3'].map((n) => c.get(n)).filter((d) => d.running);
  async function api(): Promise<DaemonProcess> {
    return eventually(async () => {
      for (const d of managers()) if ((await d.api('GET', '/networks')).status === 200) return d;
      return undefined;
    }, 'a manager that answers');
  }
  async function tasksOf(service: string): Promise<Task[]> {
    return (await api()).ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  }
  async function runningWithAddresses(service: string, n: number, networkId: string, what: string): Promise<Task[]> {
    return eventually(async () => {
      const r = live(await tasksOf(service));
      return r.length === n && addressesOf(r, networkId).length === n ? r : undefined;
    }, what, 60_000);
  }

  before(async () => {
    c = await DaemonCluster.create('shoal-net-', { extraArgs: ['--executor', 'sim'] });
    const m1 = await c.add('m1');
    await m1.ok('POST', '/swarm/init', { ListenAddr: m1.addr, AdvertiseAddr: m1.addr, Availability: 'drain', Spec: { Dispatcher: { HeartbeatPeriod: ms(500) } } });
    const tokens = (await m1.ok<Swarm>('GET', '/swarm')).JoinTokens;
    for (const name of ['m2', 'm3']) {
      const d = await c.add(name);
      await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Manager, Availability: 'drain' });
    }
    for (const name of ['w1', 'w2']) {
      const d = await c.add(name);
      await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Worker });
    }
    await eventually(async () => {
      const nodes = await m1.ok<Node[]>('GET', '/nodes');
      return nodes.length === 5 && nodes.every((n) => n.Status.State === 'ready') ? true : undefined;
    }, 'five ready nodes');
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c.dumpLogs()}\n`);
    await c.destroy();
  });

  let netId = '';
  let svcId = '';

  it('swarm init makes the ingress network: 10.0.0.0/24, VXLAN id 4096', async () => {
    const ingress = await eventually(async () => {
      const n = await (await api()).ok<Network>('GET', '/networks/ingress');
      return n.IPAM.Config.length > 0 ? n : undefined;
    }, 'the ingress network allocated');
    assert.equal(ingress.Ingress, true);
    assert.deepEqual(ingress.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    assert.equal(ingress.Options['com.docker.network.driver.overlay.vxlanid_list'], '4096');
  });

  it('shoal network create | ls | inspect', async () => {
    const m1 = c.get('m1');
    const created = await shoal(m1, ['network', 'create', '-d', 'overlay', '--attachable', '--label', 'team=a', 'n1']);
    assert.equal(created.code, 0, created.stderr);
    netId = created.stdout.trim();
    assert.match(netId, /^[a-z0-9]{25}$/);
    const dup = await shoal(m1, ['network', 'create', 'n1']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /network with name n1 already exists/);
    const ls = await shoal(m1, ['network', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = ls.stdout.trim().split('\n');
    assert.match(rows[0]!, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/).slice(1)), [
      ['ingress', 'overlay', 'swarm'],
      ['n1', 'overlay', 'swarm'],
    ]);
    const n1 = await eventually(async () => {
      const r = await shoal(m1, ['network', 'inspect', 'n1']);
      const [n] = JSON.parse(r.stdout) as Network[];
      return n && n.IPAM.Config.length > 0 ? n : undefined;
    }, 'n1 allocated');
    assert.equal(n1.Id, netId);
    assert.equal(n1.Attachable, true);
    assert.deepEqual(n1.Labels, { team: 'a' });
    assert.deepEqual(n1.IPAM.Config, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
    assert.equal(n1.Options['com.docker.network.driver.overlay.vxlanid_list'], '4097');
  });

  it('a service on n1 gets a VIP and its tasks unique addresses; scaling allocates and releases', async () => {
    const d = await api();
    const spec: ServiceSpec = {
      Name: 'web',
      TaskTemplate: { ContainerSpec: { Image: 'sim/app:1' }, Networks: [{ Target: 'n1' }] },
      Mode: { Replicated: { Replicas: 4 } },
      EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
    };
    svcId = (await d.ok<{ ID: string }>('POST', '/services/create', spec)).ID;
    let tasks = await runningWithAddresses(svcId, 4, netId, 'four running tasks with addresses on n1');
    const svc = await eventually(async () => {
      const s = await (await api()).ok<Service>('GET', `/services/${svcId}`);
      return (s.Endpoint?.VirtualIPs?.length ?? 0) === 2 ? s : undefined;
    }, 'the service VIPs');
    const vip = svc.Endpoint!.VirtualIPs!.find((v) => v.NetworkID === netId)!.Addr;
    assert.match(vip, /^10\.0\.1\.\d+\/24$/);
    assert.deepEqual(svc.Endpoint!.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
    let addrs = addressesOf(tasks, netId);
    assert.equal(new Set([...addrs, vip]).size, 5, 'task addresses and the VIP are all different');
    // Every task is on the ingress network too, listed first.
    assert.ok(tasks.every((t) => t.NetworksAttachments![0]!.Network.Spec.Name === 'ingress'));
    // Scale to 6, then to 2.
    const scale = async (n: number): Promise<void> => {
      const s = await (await api()).ok<Service>('GET', `/services/${svcId}`);
      await (await api()).ok('POST', `/services/${svcId}/update?version=${s.Version.Index}`, { ...s.Spec, Mode: { Replicated: { Replicas: n } } });
    };
    await scale(6);
    tasks = await runningWithAddresses(svcId, 6, netId, 'six running tasks with addresses');
    addrs = addressesOf(tasks, netId);
    assert.equal(new Set([...addrs, vip]).size, 7);
    await scale(2);
    await eventually(async () => {
      const ts = await tasksOf(svcId);
      return ts.filter((t) => t.DesiredState === 'running').length === 2 && live(ts).length === 2 ? true : undefined;
    }, 'two running tasks');
    // The two that stay keep their addresses; the others' go back to the pool (checked by the next test's uniqueness).
    const kept = live(await tasksOf(svcId));
    for (const t of kept) assert.ok(addrs.includes(addressesOf([t], netId)[0]!), 'a surviving task keeps its address');
  });

  it('a new leader keeps every allocation and allocates without clashes', async () => {
    const before = await (await api()).ok<Service>('GET', `/services/${svcId}`);
    const beforeTasks = live(await tasksOf(svcId));
    const beforeAddrs = new Map(beforeTasks.map((t) => [t.ID, addressesOf([t], netId)[0]]));
    // Kill the leader.
    const leader = await eventually(async () => {
      for (const d of managers()) {
        const nodes = await d.api<Node[]>('GET', '/nodes');
        if (nodes.status !== 200) continue;
        const self = (await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID;
        if (nodes.body.find((n) => n.ID === self)?.ManagerStatus?.Leader) return d;
      }
      return undefined;
    }, 'the leader');
    await leader.kill9();
    const after = await eventually(async () => {
      const d = managers().find((m) => m !== leader);
      const r = await d?.api<Service>('GET', `/services/${svcId}`);
      return r?.status === 200 ? r.body : undefined;
    }, 'a new leader answers', 30_000);
    assert.deepEqual(after.Endpoint, before.Endpoint);
    const afterTasks = live(await tasksOf(svcId));
    for (const t of afterTasks) if (beforeAddrs.has(t.ID)) assert.equal(addressesOf([t], netId)[0], beforeAddrs.get(t.ID));
    // Allocation goes on under the new leader.
    const s = await (await api()).ok<Service>('GET', `/services/${svcId}`);
    await (await api()).ok('POST', `/services/${svcId}/update?version=${s.Version.Index}`, { ...s.Spec, Mode: { Replicated: { Replicas: 5 } } });
    const tasks = await runningWithAddresses(svcId, 5, netId, 'five running tasks under the new leader');
    const vip = after.Endpoint!.VirtualIPs!.find((v) => v.NetworkID === netId)!.Addr;
    assert.equal(new Set([...addressesOf(tasks, netId), vip]).size, 6);
  });

  it('n1 cannot be removed while the service uses it; after the service goes, shoal network rm removes it', async () => {
    const m = (await api())!;
    const busy = await shoal(m, ['network', 'rm', 'n1']);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, new RegExp(`network ${netId} is in use by service ${svcId}`));
    await m.ok('DELETE', `/services/${svcId}`);
    const rm = await eventually(async () => {
      const r = await shoal(m, ['network', 'rm', 'n1']);
      return r.code === 0 ? r : undefined;
    }, 'n1 removed once its tasks are gone', 60_000);
    assert.equal(rm.stdout, 'n1\n');
    assert.equal((await m.api('GET', '/networks/n1')).status, 404);
  });
});
