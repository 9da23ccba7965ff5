// `npm run bench -- overlay [--seconds N] [--pings N]` (root): throughput and
// round-trip latency between two containers on two test hosts over a shoal
// overlay network (VXLAN between the hosts' namespaces, veth into each
// container, MTU 1450), next to the same between two namespaces joined by a
// plain veth pair (MTU 1500). The containers are the namespaces the data
// plane's attach() makes; both ends are small Node programs (overlay-peer.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../shared/logger.js';
import { macForIp, type NetworksMessage } from '../shared/protocol/network-state.js';
import { OverlayDataPlane } from '../worker/network/overlay-data-plane.js';
import { spawnRunner } from '../worker/network/shell.js';
import { createTestHosts, type TestHosts } from '../test/fixtures/netns-hosts.js';
import { percentile, reporter } from './daemons.js';

const report = reporter('overlay');
const PEER = fileURLToPath(new URL('./overlay-peer.js', import.meta.url));
const PORT = 5201;
const NET = { id: 'benchnetbenchnetbenchnet1', name: 'bench', vni: 4999, net: '10.249.1' };

interface Options {
  seconds: number;
  pings: number;
}

function parseOptions(args: string[]): Options {
  const o: Options = { seconds: 3, pings: 2000 };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--seconds') o.seconds = Number(args[++i]);
    else if (args[i] === '--pings') o.pings = Number(args[++i]);
    else throw new Error(`unknown option ${args[i]}; use --seconds N, --pings N`);
  }
  return o;
}

function message(fx: TestHosts, host: 0 | 1): NetworksMessage {
  const other = host === 0 ? 1 : 0;
  const ip = (b: number): string => `${NET.net}.${b}`;
  const peers = [
    { ip: ip(250 + other), mac: macForIp(ip(250 + other)), underlay: fx.hosts[other]!.ip, nodeId: `n${other}` },
    { ip: ip(10 + other), mac: macForIp(ip(10 + other)), underlay: fx.hosts[other]!.ip, nodeId: `n${other}`, taskId: `t${other}` },
  ];
  return {
    type: 'networks',
    dataPathPort: 4789,
    networks: [{ id: NET.id, name: NET.name, vni: NET.vni, subnet: `${NET.net}.0/24`, gateway: ip(1), mtu: 1450, internal: false, ingress: false, nodeAddress: `${ip(250 + host)}/24`, peers, services: [] }],
  };
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await spawnRunner(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Starts the server end in `nsPath` and waits for it to listen. */
async function server(nsPath: string): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${nsPath}`, '--', process.execPath, PEER, 'server', String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`overlay-peer server exited with ${code}`)));
  });
  return child;
}

async function client(nsPath: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await spawnRunner('nsenter', [`--net=${nsPath}`, '--', process.execPath, PEER, ...args]);
  if (r.code !== 0) throw new Error(`overlay-peer ${args.join(' ')}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
}

/** Bulk throughput, then sequential round trips, from `from` to `toIp` (a server in `toNs`). */
async function measure(label: string, toNs: string, fromNs: string, toIp: string, o: Options, extra: Record<string, unknown>): Promise<{ gbps: number; p50: number }> {
  const srv = await server(toNs);
  try {
    const bulk = await client(fromNs, ['bulk', toIp, String(PORT), String(o.seconds)]);
    const gbps = ((bulk['bytes'] as number) * 8) / ((bulk['ms'] as number) / 1000) / 1e9;
    report(`${label}_throughput_gbps`, gbps, 'Gbit/s', { seconds: o.seconds, ...extra });
    const { us } = (await client(fromNs, ['rtt', toIp, String(PORT), String(o.pings)])) as { us: number[] };
    const sorted = us.slice(10).sort((a, b) => a - b);
    report(`${label}_rtt_p50_us`, percentile(sorted, 0.5), 'us', { pings: sorted.length, ...extra });
    report(`${label}_rtt_p99_us`, percentile(sorted, 0.99), 'us', { pings: sorted.length, ...extra });
    return { gbps, p50: percentile(sorted, 0.5) };
  } finally {
    srv.kill('SIGKILL');
  }
}

export async function runOverlayBench(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (process.getuid?.() !== 0) throw new Error('the overlay bench creates network namespaces: run it as root');
  const fx = await createTestHosts(2);
  const root = await mkdtemp(join(tmpdir(), 'shoal-bench-overlay-'));
  const log = createLogger({ level: 'warn', name: 'bench-overlay' });
  const planes: OverlayDataPlane[] = [];
  const vethNs = [`${fx.runId}-va`, `${fx.runId}-vb`].map((n) => `shoal-t${n}`);
  try {
    // --- the overlay: one container on each host ---
    const nsPaths: string[] = [];
    for (const h of [0, 1] as const) {
      const plane = await OverlayDataPlane.open({ dataRoot: join(root, `h${h}`), underlayIp: fx.hosts[h]!.ip, dataPathPort: 4789, logger: log, hostNetns: fx.hosts[h]!.ns });
      planes.push(plane);
      await plane.apply(message(fx, h));
      const got = await plane.attach({
        taskId: `t${h}`,
        containerId: `bench${h}${'0'.repeat(20)}`,
        attachments: [{ Network: { ID: NET.id, Spec: { Name: NET.name } }, Addresses: [`${NET.net}.${10 + h}/24`] }],
      });
      nsPaths.push(got.namespacePath);
    }
    const overlay = await measure('overlay', nsPaths[0]!, nsPaths[1]!, `${NET.net}.10`, o, { path: 'container on host 2 -> container on host 1 over VXLAN', mtu: 1450 });

    // --- the baseline: two namespaces joined by one veth pair ---
    for (const ns of vethNs) await must('ip', ['netns', 'add', ns]);
    await must('ip', ['link', 'add', 'bva', 'netns', vethNs[0]!, 'type', 'veth', 'peer', 'name', 'bvb', 'netns', vethNs[1]!]);
    for (const [i, ns] of vethNs.entries()) {
      const dev = i === 0 ? 'bva' : 'bvb';
      await must('ip', ['-n', ns, 'addr', 'add', `10.248.0.${i + 1}/24`, 'dev', dev]);
      await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const veth = await measure('veth', `/run/netns/${vethNs[0]}`, `/run/netns/${vethNs[1]}`, '10.248.0.1', o, { path: 'namespace -> namespace over one veth pair', mtu: 1500 });
    report('overlay_over_veth_throughput', overlay.gbps / veth.gbps, 'x');
    report('overlay_minus_veth_rtt_p50_us', overlay.p50 - veth.p50, 'us');
  } finally {
    for (const p of planes) {
      await p.removeAll().catch(() => undefined);
      await p.close().catch(() => undefined);
    }
    for (const ns of vethNs) await spawnRunner('ip', ['netns', 'del', ns]);
    await fx.destroy();
    await rm(root, { recursive: true, force: true });
  }
}
