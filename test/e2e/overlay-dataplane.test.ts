// The overlay data plane for real (root): two test hosts, a data plane per
// host run from this process (its host-namespace commands aimed at the
// host's namespace), two overlay networks and the ingress network.
// "Containers" are the namespaces attach() makes, serving with busybox httpd; curl is the client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../shared/logger.js';
import type { NetworkAttachment } from '../../shared/model/index.js';
import { macForIp, type NetworksMessage, type OverlayNetworkState, type OverlayPeer, type OverlayService } from '../../shared/protocol/network-state.js';
import { OverlayDataPlane } from '../../worker/network/overlay-data-plane.js';
import { spawnRunner, type CommandResult } from '../../worker/network/shell.js';
import { createTestHosts, type TestHosts } from '../fixtures/netns-hosts.js';
import { until } from './helpers/root.js';

const log = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent' });
const BUSYBOX = '/usr/bin/busybox';

interface NetDef {
  id: string;
  name: string;
  vni: number;
  net: string;
  mtu: number;
  ingress: boolean;
}

const A: NetDef = { id: 'ovlaaaaaaaaaaaaaaaaaaaaaa', name: 'front', vni: 4301, net: '10.231.1', mtu: 1450, ingress: false };
const B: NetDef = { id: 'ovlbbbbbbbbbbbbbbbbbbbbbb', name: 'back', vni: 4302, net: '10.231.2', mtu: 1450, ingress: false };
const ING: NetDef = { id: 'ingressiiiiiiiiiiiiiiiiii', name: 'ingress', vni: 4300, net: '10.231.0', mtu: 1450, ingress: true };

/** A task's endpoint: which host, which networks and its last address byte on each. */
interface Endpoint {
  taskId: string;
  host: 0 | 1;
  nets: Array<[NetDef, number]>;
  body?: string;
}

const web1: Endpoint = { taskId: 'web1', host: 0, nets: [[A, 3], [ING, 3]], body: 'one' };
const web2: Endpoint = { taskId: 'web2', host: 1, nets: [[A, 4], [ING, 4]], body: 'two' };
const client: Endpoint = { taskId: 'client', host: 1, nets: [[A, 5]] };
const stranger: Endpoint = { taskId: 'stranger', host: 1, nets: [[B, 5]] };
const endpoints = [web1, web2, client, stranger];

const nodeByte = (host: number): number => 250 + host;

function networkState(def: NetDef, host: 0 | 1, live: readonly Endpoint[]): OverlayNetworkState {
  const peers: OverlayPeer[] = [];
  const other = host === 0 ? 1 : 0;
  const ip = (b: number): string => `${def.net}.${b}`;
  peers.push({ ip: ip(nodeByte(other)), mac: macForIp(ip(nodeByte(other))), underlay: underlayOf(other), nodeId: `node${other}` });
  for (const e of live) {
    if (e.host === host) continue;
    for (const [d, b] of e.nets) if (d === def) peers.push({ ip: ip(b), mac: macForIp(ip(b)), underlay: underlayOf(e.host), nodeId: `node${e.host}`, taskId: e.taskId });
  }
  const services: OverlayService[] = [];
  const web = [web1, web2].filter((e) => live.includes(e));
  if (def === A) {
    services.push({ id: 'svcweb', name: 'web', endpointMode: 'vip', vip: ip(2), backends: web.map((e, i) => ({ taskId: e.taskId, slot: i + 1, ip: ip(e.nets[0]![1]) })), ports: [] });
    // Host mode: served by web1 alone, so only host 1 answers on the port.
    services.push({ id: 'svcpinned', name: 'pinned', endpointMode: 'dnsrr', backends: live.includes(web1) ? [{ taskId: 'web1', slot: 1, ip: ip(3) }] : [], ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 18081, publishMode: 'host' }] });
  }
  if (def === ING) {
    // Only web1 (on host 1) is a mesh backend, so a request to host 2 must cross the overlay.
    services.push({ id: 'svcweb', name: 'web', endpointMode: 'vip', vip: ip(2), backends: live.includes(web1) ? [{ taskId: 'web1', slot: 1, ip: ip(3) }] : [], ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 18080, publishMode: 'ingress' }] });
  }
  return { id: def.id, name: def.name, vni: def.vni, subnet: `${def.net}.0/24`, gateway: ip(1), mtu: def.mtu, internal: false, ingress: def.ingress, nodeAddress: `${ip(nodeByte(host))}/24`, peers, services };
}

function message(host: 0 | 1, nets: readonly NetDef[]): NetworksMessage {
  return { type: 'networks', dataPathPort: 4789, networks: nets.map((d) => networkState(d, host, endpoints)) };
}

function attachments(e: Endpoint): NetworkAttachment[] {
  return e.nets.map(([d, b]) => ({ Network: { ID: d.id, Spec: { Name: d.name } }, Addresses: [`${d.net}.${b}/24`] }));
}

let fx: TestHosts;
let root: string;
const planes: OverlayDataPlane[] = [];
const nsOf = new Map<string, string>();
const servers: ChildProcess[] = [];
let underlays: string[] = [];
function underlayOf(host: number): string {
  return underlays[host]!;
}

/** Runs a program inside a container's namespace. */
function inContainer(e: Endpoint, cmd: string, args: string[]): Promise<CommandResult> {
  return spawnRunner('nsenter', [`--net=${nsOf.get(e.taskId)!}`, '--', cmd, ...args]);
}

// curl, not busybox wget: Debian's busybox-static wget crashes (static glibc resolver).
const CURL = ['curl', '-sS', '--max-time', '2'];

async function wget(e: Endpoint, url: string): Promise<CommandResult> {
  return inContainer(e, CURL[0]!, [...CURL.slice(1), url]);
}

async function openPlane(host: 0 | 1): Promise<OverlayDataPlane> {
  return OverlayDataPlane.open({ dataRoot: join(root, `h${host + 1}`), underlayIp: underlayOf(host), dataPathPort: 4789, logger: log, hostNetns: fx.hosts[host]!.ns, networkWaitMs: 5_000 });
}

async function linkNames(ns: string): Promise<Array<{ ifname: string; mtu: number }>> {
  const r = await spawnRunner('ip', ['-n', ns, '-j', 'link', 'show']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Array<{ ifname: string; mtu: number }>) : [];
}

describe('overlay data plane across two test hosts', { timeout: 180_000 }, () => {
  before(async () => {
    fx = await createTestHosts(2);
    underlays = fx.hosts.map((h) => h.ip);
    root = await mkdtemp(join(tmpdir(), 'shoal-overlay-'));
    for (const h of [0, 1] as const) planes.push(await openPlane(h));
    const started = Date.now();
    await Promise.all(([0, 1] as const).map((h) => planes[h]!.apply(message(h, [A, B, ING]))));
    log.info({ ms: Date.now() - started }, 'networks created');
    for (const e of endpoints) {
      const got = await planes[e.host]!.attach({ taskId: e.taskId, containerId: `c${e.taskId}${'0'.repeat(20)}`, attachments: attachments(e) });
      assert.deepEqual(got.addresses, e.nets.map(([d, b]) => `${d.net}.${b}`));
      assert.deepEqual(got.nameservers, [`${e.nets[0]![0].net}.${nodeByte(e.host)}`]);
      nsOf.set(e.taskId, got.namespacePath);
      if (e.body !== undefined) {
        const dir = join(root, `www-${e.taskId}`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'index.html'), e.body);
        const child = spawn('nsenter', [`--net=${got.namespacePath}`, '--', BUSYBOX, 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
        servers.push(child);
        await until(`${e.taskId} serves`, async () => ((await wget(e, 'http://127.0.0.1/')).stdout === e.body ? true : undefined));
      }
    }
  });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    for (const p of planes) {
      await p.removeAll().catch((err: unknown) => log.error({ err }, 'removeAll failed'));
      await p.close().catch(() => undefined);
    }
    // Whatever a failed test left behind: every namespace of these data planes.
    const mine = planes.map((p) => p.names.nsPrefix);
    for (const ns of await readdir('/run/netns').catch(() => [] as string[])) {
      if (mine.some((m) => ns.startsWith(m))) await spawnRunner('ip', ['netns', 'del', ns]);
    }
    await fx?.destroy();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  test('containers on two hosts reach each other over VXLAN', async () => {
    await until('client pings web1 on the other host', async () => ((await inContainer(client, BUSYBOX, ['ping', '-c', '1', '-W', '1', '10.231.1.3'])).code === 0 ? true : undefined));
    assert.equal((await wget(client, 'http://10.231.1.3/')).stdout, 'one');
    assert.equal((await wget(web1, 'http://10.231.1.4/')).stdout, 'two');
  });

  test('the overlay MTU leaves room for VXLAN', async () => {
    const eth0 = (await linkNames(nsOf.get('client')!.split('/').pop()!)).find((l) => l.ifname === 'eth0');
    assert.equal(eth0?.mtu, 1450);
    // A packet that fills the MTU crosses hosts without fragmenting the underlay's 1500.
    const r = await inContainer(client, BUSYBOX, ['ping', '-c', '1', '-W', '2', '-s', String(1450 - 28), '10.231.1.3']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test('the service VIP balances over both backends', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) {
      const r = await wget(client, 'http://10.231.1.2/');
      assert.equal(r.code, 0, r.stderr);
      seen.add(r.stdout);
    }
    assert.deepEqual([...seen].sort(), ['one', 'two']);
    // A backend reaches its own service too (the load balancer replaces the source address).
    // Both choices (itself, and the backend on the other host) must work, every time: no lost SYN either.
    const fromBackend = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      const r = await wget(web2, 'http://10.231.1.2/');
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - started < 900, `answered in ${Date.now() - started} ms (a lost SYN waits 1 s)`);
      fromBackend.add(r.stdout);
    }
    assert.deepEqual([...fromBackend].sort(), ['one', 'two']);
  });

  test('a container on another overlay cannot reach them', async () => {
    for (const url of ['http://10.231.1.3/', 'http://10.231.1.2/', 'http://10.231.1.4/']) {
      const r = await wget(stranger, url);
      assert.notEqual(r.code, 0, `${url} answered ${r.stdout}`);
    }
  });

  test('the routing mesh: a published port on host 2 reaches the backend on host 1', async () => {
    const h1 = fx.hosts[0]!;
    const h2 = fx.hosts[1]!;
    const fromOutside = await until('host 1 reaches host 2:18080', async () => {
      const r = await h1.exec(CURL[0]!, [...CURL.slice(1), `http://${h2.ip}:18080/`]);
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.equal(fromOutside, 'one');
    const fromItself = await h2.exec(CURL[0]!, [...CURL.slice(1), `http://${h2.ip}:18080/`]);
    assert.equal(fromItself.stdout, 'one', fromItself.stderr);
    const viaLoopback = await h2.exec(CURL[0]!, [...CURL.slice(1), 'http://127.0.0.1:18080/']);
    assert.equal(viaLoopback.stdout, 'one', viaLoopback.stderr);
  });

  test('a host-mode port answers on the node running the task and not on the other', async () => {
    const h1 = fx.hosts[0]!;
    const h2 = fx.hosts[1]!;
    const fromOutside = await until('host 2 reaches host 1:18081', async () => {
      const r = await h2.exec(CURL[0]!, [...CURL.slice(1), `http://${h1.ip}:18081/`]);
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.equal(fromOutside, 'one');
    const fromItself = await h1.exec(CURL[0]!, [...CURL.slice(1), `http://${h1.ip}:18081/`]);
    assert.equal(fromItself.stdout, 'one', fromItself.stderr);
    const viaLoopback = await h1.exec(CURL[0]!, [...CURL.slice(1), 'http://127.0.0.1:18081/']);
    assert.equal(viaLoopback.stdout, 'one', viaLoopback.stderr);
    for (const [from, to] of [[h1, h2], [h2, h2]] as const) {
      const r = await from.exec(CURL[0]!, [...CURL.slice(1), `http://${to.ip}:18081/`]);
      assert.notEqual(r.code, 0, `host 2 answered on its host-mode port: ${r.stdout}`);
    }
    // Host 1 has a veth into front for it; host 2, with no local task, has none.
    assert.ok((await linkNames(h1.ns)).some((l) => l.ifname === planes[0]!.names.hostPortHostSide(A.id)));
    assert.ok(!(await linkNames(h2.ns)).some((l) => l.ifname === planes[1]!.names.hostPortHostSide(A.id)));
    // The mesh port keeps working next to it.
    assert.equal((await h1.exec(CURL[0]!, [...CURL.slice(1), `http://${h1.ip}:18080/`])).stdout, 'one');
  });

  test('a restarted data plane adopts what exists and removes what is stale', async () => {
    const before = await planes[0]!.pending();
    assert.deepEqual(before, []);
    await planes[0]!.close();
    const again = await openPlane(0);
    planes[0] = again;
    const stray = `${again.names.nsPrefix}c-ffffffffffffffff`;
    assert.equal((await spawnRunner('ip', ['netns', 'add', stray])).code, 0);
    await again.apply(message(0, [A, B, ING]));
    assert.deepEqual(await again.pending(), []);
    assert.ok(!(await readdir('/run/netns')).includes(stray), 'the stray namespace is gone');
    assert.equal((await wget(client, 'http://10.231.1.3/')).stdout, 'one');
  });

  test('removing a network removes its devices and namespace on both hosts', async () => {
    const netnsA = planes.map((p) => `${p.names.nsPrefix}n-${A.id.slice(0, 12)}`);
    const present = await readdir('/run/netns');
    for (const ns of netnsA) assert.ok(present.includes(ns), `${ns} exists before`);
    await Promise.all(([0, 1] as const).map((h) => planes[h]!.apply(message(h, [B, ING]))));
    const after = await readdir('/run/netns');
    for (const ns of netnsA) assert.ok(!after.includes(ns), `${ns} is gone`);
    // Host 1's veth for front's host-mode port goes with it.
    assert.ok(!(await linkNames(fx.hosts[0]!.ns)).some((l) => l.ifname === planes[0]!.names.hostPortHostSide(A.id)));
    // The client keeps its namespace (it is still attached) but loses the interface.
    assert.deepEqual((await linkNames(nsOf.get('client')!.split('/').pop()!)).map((l) => l.ifname), ['lo']);
    // web1 loses front (eth0) but keeps ingress (eth1).
    assert.deepEqual((await linkNames(nsOf.get('web1')!.split('/').pop()!)).map((l) => l.ifname).sort(), ['eth1', 'lo']);
    assert.deepEqual(await planes[0]!.pending(), []);
  });

  test('detach removes the container namespace', async () => {
    const ns = nsOf.get('stranger')!.split('/').pop()!;
    await planes[1]!.detach(`cstranger${'0'.repeat(20)}`);
    assert.ok(!(await readdir('/run/netns')).includes(ns));
    await planes[1]!.detach(`cstranger${'0'.repeat(20)}`);
  });
});
