// The containers' resolver in a real network namespace (root only): the
// responder runs under `ip netns exec`, busybox nslookup inside the namespace
// asks it, the records change under it, it comes back after a crash, and stop
// ends it. Forwarding goes to a fake upstream on the host's loopback, which
// only the daemon side (in the host namespace) can reach.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../../shared/logger.js';
import type { OverlayNetworkState, OverlayService } from '../../shared/protocol/network-state.js';
import { ProcessDnsHost } from '../../worker/network/dns/process-dns-host.js';
import { fakeUpstream } from '../unit/dns/helpers.js';
import { requireRoot, until } from './helpers/root.js';

const run = promisify(execFile);
const log = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent' });
const NS = `shoal-dns-${process.pid}`;
const DNS_IP = '10.77.0.250';

function network(services: OverlayService[]): OverlayNetworkState {
  return {
    id: 'net-e2e',
    name: 'front',
    vni: 4242,
    subnet: '10.77.0.0/24',
    gateway: '10.77.0.1',
    mtu: 1450,
    internal: false,
    ingress: false,
    nodeAddress: `${DNS_IP}/24`,
    peers: [],
    services,
  };
}

const backends = (ips: string[]): OverlayService['backends'] => ips.map((ip, i) => ({ taskId: `task${i + 1}abc`, slot: i + 1, ip }));

function vip(name: string, address: string, ips: string[]): OverlayService {
  return { id: `id-${name}`, name, endpointMode: 'vip', vip: address, backends: backends(ips), ports: [] };
}

function dnsrr(name: string, ips: string[]): OverlayService {
  return { id: `id-${name}`, name, endpointMode: 'dnsrr', backends: backends(ips), ports: [] };
}

/** The IPv4 addresses busybox nslookup prints for `name`, asked from inside the namespace; [] when it finds none. */
async function nslookup(name: string, type = 'a'): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'exec', NS, '/usr/bin/busybox', 'nslookup', `-type=${type}`, name, DNS_IP], { timeout: 15_000 }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  const answers = stdout.slice(stdout.indexOf('\n\n') + 1);
  return [...answers.matchAll(/^Address:\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!).sort();
}

/** What listens on port 53 (UDP and TCP) inside the namespace, as `ss` shows it. */
async function listenersOn53(): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', NS, 'ss', '-Hlntu', 'sport = :53']);
  return stdout.trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('dns responder in a network namespace (root)', { timeout: 120_000 }, () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let host: ProcessDnsHost;

  before(async () => {
    requireRoot('the DNS e2e test (it creates a network namespace and runs the responder with ip netns exec)');
    await run('ip', ['netns', 'add', NS]);
    await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    // On lo: the kernel may lack the dummy driver, and the responder only needs the address to exist.
    await run('ip', ['-n', NS, 'addr', 'add', `${DNS_IP}/24`, 'dev', 'lo']);
    dir = await mkdtemp(join(tmpdir(), 'shoal-dns-e2e-'));
    upstream = await fakeUpstream('192.0.2.44');
    host = new ProcessDnsHost({ runDir: dir, logger: log, upstreams: [{ host: '127.0.0.1', port: upstream.port }], restartDelayMs: { min: 50, max: 500 } });
  });

  after(async () => {
    await host?.close();
    await upstream?.close();
    await run('ip', ['netns', 'del', NS]).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('service names, tasks. names and dnsrr answer from inside the namespace', async () => {
    await host.start(NS, DNS_IP, network([vip('web', '10.77.0.2', ['10.77.0.5', '10.77.0.6']), dnsrr('db', ['10.77.0.7', '10.77.0.8'])]));
    const pid = host.pid(NS);
    assert.ok(pid !== undefined && alive(pid));
    const listening = await listenersOn53();
    assert.match(listening, /udp.*10\.77\.0\.250:53/);
    assert.match(listening, /tcp.*10\.77\.0\.250:53/);
    assert.deepEqual(await nslookup('web'), ['10.77.0.2']);
    assert.deepEqual(await nslookup('tasks.web'), ['10.77.0.5', '10.77.0.6']);
    assert.deepEqual(await nslookup('db'), ['10.77.0.7', '10.77.0.8']);
    assert.deepEqual(await nslookup('WEB.front.'), ['10.77.0.2']);
    assert.deepEqual(await nslookup('web.2.task2abc'), ['10.77.0.6']);
    // AAAA for an overlay name: no data, not an error.
    const aaaa = await nslookup('web', 'aaaa');
    assert.deepEqual(aaaa, []);
  });

  test('an update changes the answers at once', async () => {
    host.update(NS, network([vip('web', '10.77.0.2', ['10.77.0.5', '10.77.0.6', '10.77.0.9']), dnsrr('db', ['10.77.0.8'])]));
    const got = await until('tasks.web to show the third task', async () => {
      const ips = await nslookup('tasks.web');
      return ips.length === 3 ? ips : undefined;
    });
    assert.deepEqual(got, ['10.77.0.5', '10.77.0.6', '10.77.0.9']);
    assert.deepEqual(await nslookup('db'), ['10.77.0.8']);
  });

  test('names outside the overlay are forwarded upstream by the daemon', async () => {
    assert.deepEqual(await nslookup('registry.example.com'), ['192.0.2.44']);
    assert.ok(upstream.seen.includes('registry.example.com'));
  });

  test('a responder that dies is restarted and answers again', async () => {
    const first = host.pid(NS)!;
    process.kill(first, 'SIGKILL');
    await until('a restarted responder', () => {
      const p = host.pid(NS);
      return p !== undefined && p !== first && host.port(NS) !== undefined ? p : undefined;
    });
    assert.deepEqual(await nslookup('web'), ['10.77.0.2']);
  });

  test('stop ends the responder; nothing answers any more', async () => {
    const pid = host.pid(NS)!;
    await host.stop(NS);
    assert.equal(alive(pid), false);
    assert.equal(await listenersOn53(), '');
  });
});
