// The stock docker CLI creating, listing, inspecting and removing overlay
// networks on a shoal swarm (one manager, one worker, sim executor), and a
// service joining one with a published port.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Network, Service } from '../../shared/model/index.js';
import { DaemonCluster, eventually, type DaemonProcess } from '../integration/daemon-harness.js';
import { DockerCli, explain, parseTable, type DockerResult } from './docker-cli.js';

describe('the stock docker CLI manages overlay networks on a shoal swarm (1 manager, 1 worker, sim executor)', { timeout: 120_000 }, () => {
  let c: DaemonCluster;
  let docker: DockerCli | undefined;
  let missing: Error | undefined;
  let m1: DaemonProcess;
  let netId = '';
  let webId = '';

  const cli = (): DockerCli => {
    if (docker) return docker;
    throw missing ?? new Error('the docker CLI was not set up');
  };
  const raw = (...args: string[]): Promise<DockerResult> => cli().run(m1.hostArg, args);
  const ok = async (...args: string[]): Promise<DockerResult> => {
    const r = await raw(...args);
    if (r.code !== 0) throw new Error(explain(r, 'expected exit code 0'));
    return r;
  };

  before(async () => {
    try {
      docker = await DockerCli.create();
    } catch (err) {
      missing = err instanceof Error ? err : new Error(String(err));
    }
    c = await DaemonCluster.create('shoal-docker-net-', { extraArgs: ['--executor', 'sim'] });
    m1 = await c.add('m1');
    const w1 = await c.add('w1');
    if (!docker) return;
    await ok('swarm', 'init', '--advertise-addr', m1.addr, '--listen-addr', m1.addr, '--dispatcher-heartbeat', '500ms');
    const token = (await ok('swarm', 'join-token', '-q', 'worker')).stdout.trim();
    await cli().ok(w1.hostArg, ['swarm', 'join', '--token', token, '--advertise-addr', w1.addr, '--listen-addr', w1.addr, m1.addr]);
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs()}\n`);
    await c?.destroy();
    await docker?.destroy();
  });

  it('docker network create -d overlay --attachable n1 prints the ID', async () => {
    const r = await ok('network', 'create', '-d', 'overlay', '--attachable', 'n1');
    assert.match(r.stdout, /^[a-z0-9]{25}\n$/, explain(r, 'stdout is the network ID'));
    netId = r.stdout.trim();
    const dup = await raw('network', 'create', '-d', 'overlay', 'n1');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /network with name n1 already exists/, explain(dup, 'a taken name is refused'));
  });

  it('docker network ls lists n1 and ingress', async () => {
    const rows = parseTable((await ok('network', 'ls')).stdout);
    const byName = new Map(rows.map((r) => [r['NAME'], r]));
    assert.deepEqual(
      [...byName.keys()].sort(),
      ['ingress', 'n1'],
    );
    assert.equal(byName.get('n1')?.['NETWORK ID'], netId.slice(0, 12));
    assert.equal(byName.get('n1')?.['DRIVER'], 'overlay');
    assert.equal(byName.get('n1')?.['SCOPE'], 'swarm');
    const quiet = (await ok('network', 'ls', '-q', '--filter', 'name=n1')).stdout;
    assert.equal(quiet, `${netId.slice(0, 12)}\n`);
  });

  it('docker network inspect n1 prints the network with its subnet', async () => {
    const n = await eventually(async () => {
      const [got] = JSON.parse((await ok('network', 'inspect', 'n1')).stdout) as Network[];
      return got && got.IPAM.Config.length > 0 ? got : undefined;
    }, 'n1 allocated');
    assert.equal(n.Id, netId);
    assert.equal(n.Driver, 'overlay');
    assert.equal(n.Scope, 'swarm');
    assert.equal(n.Attachable, true);
    assert.deepEqual(n.IPAM.Config, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
  });

  it('docker service create --network n1 -p 8080:80 gives the service VIPs and the port', async () => {
    const r = await ok('service', 'create', '--detach', '--no-resolve-image', '--name', 'web', '--network', 'n1', '-p', '8080:80', 'sim/app:1');
    webId = r.stdout.trim();
    const svc = await eventually(async () => {
      const [s] = JSON.parse((await ok('service', 'inspect', 'web')).stdout) as Service[];
      return s && (s.Endpoint?.VirtualIPs?.length ?? 0) === 2 ? s : undefined;
    }, 'the service endpoint allocated');
    assert.deepEqual(svc.Spec.TaskTemplate.Networks, [{ Target: netId }]);
    assert.deepEqual(svc.Endpoint?.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
    assert.ok(svc.Endpoint?.VirtualIPs?.some((v) => v.NetworkID === netId && /^10\.0\.1\.\d+\/24$/.test(v.Addr)));
    await eventually(async () => {
      const rows = parseTable((await ok('service', 'ps', '--filter', 'desired-state=running', 'web')).stdout);
      return rows.length === 1 && (rows[0]!['CURRENT STATE'] ?? '').startsWith('Running ') ? true : undefined;
    }, 'the task runs');
    const ls = parseTable((await ok('service', 'ls')).stdout);
    assert.equal(ls.find((row) => row['NAME'] === 'web')?.['PORTS'], '*:8080->80/tcp');
  });

  it('docker network rm n1 is refused while web uses it, and works once web is gone', async () => {
    const busy = await raw('network', 'rm', 'n1');
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, new RegExp(`network ${netId} is in use by service ${webId}`), explain(busy, 'in use'));
    await ok('service', 'rm', 'web');
    const r = await eventually(async () => {
      const res = await raw('network', 'rm', 'n1');
      return res.code === 0 ? res : undefined;
    }, 'n1 removed once its task is gone', 60_000);
    assert.equal(r.stdout, 'n1\n');
    const rows = parseTable((await ok('network', 'ls')).stdout);
    assert.deepEqual(rows.map((row) => row['NAME']), ['ingress']);
  });
});
