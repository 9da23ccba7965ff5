// ProcessDnsHost with the responder run directly (no `ip netns exec`, no root)
// on loopback and a free port: start, update, restart after a crash, stop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../shared/logger.js';
import type { OverlayNetworkState, OverlayService } from '../../../shared/protocol/network-state.js';
import { encodeLine } from '../../../worker/network/dns/control.js';
import { encodeMessage, parseMessage, RCODE } from '../../../worker/network/dns/message.js';
import { RESPONDER_MAIN, ProcessDnsHost } from '../../../worker/network/dns/process-dns-host.js';
import { addresses, fakeUpstream, query, udpQuery } from './helpers.js';

const log = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent' });

function network(services: OverlayService[], internal = false): OverlayNetworkState {
  return {
    id: 'net1',
    name: 'front',
    vni: 4097,
    subnet: '10.0.1.0/24',
    gateway: '10.0.1.1',
    mtu: 1450,
    internal,
    ingress: false,
    nodeAddress: '10.0.1.250/24',
    peers: [],
    services,
  };
}

function service(name: string, vip: string, ips: string[]): OverlayService {
  return { id: `id-${name}`, name, endpointMode: 'vip', vip, backends: ips.map((ip, i) => ({ taskId: `task${i}`, slot: i + 1, ip })), ports: [] };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('ProcessDnsHost (responder as a plain child process)', { timeout: 60_000 }, () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let host: ProcessDnsHost;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-dns-'));
    upstream = await fakeUpstream('192.0.2.9');
    host = new ProcessDnsHost({
      runDir: dir,
      logger: log,
      upstreams: [{ host: '127.0.0.1', port: upstream.port }],
      port: 0,
      wrap: (_ns, command) => command,
      restartDelayMs: { min: 20, max: 200 },
    });
  });

  after(async () => {
    await host.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ask = async (name: string): Promise<string[]> => {
    const port = await until('responder port', () => host.port('ns1'));
    return addresses(parseMessage(await udpQuery('127.0.0.1', port, encodeMessage(query(name)))));
  };

  test('start serves the network, update changes answers at once, unknown names go upstream', async () => {
    await host.start('ns1', '127.0.0.1', network([service('web', '10.0.1.2', ['10.0.1.5'])]));
    const pid = host.pid('ns1');
    assert.ok(pid !== undefined && alive(pid));
    assert.deepEqual(await ask('web'), ['10.0.1.2']);
    assert.deepEqual(await ask('tasks.web.front'), ['10.0.1.5']);

    host.update('ns1', network([service('web', '10.0.1.2', ['10.0.1.5', '10.0.1.6'])]));
    await until('tasks.web to list both tasks', async () => ((await ask('tasks.web')).length === 2 ? true : undefined));
    assert.deepEqual((await ask('tasks.web')).sort(), ['10.0.1.5', '10.0.1.6']);

    assert.deepEqual(await ask('registry.example'), ['192.0.2.9']);
    assert.ok(upstream.seen.includes('registry.example'));
  });

  test('a responder that dies is restarted with the latest records', async () => {
    const before = host.pid('ns1');
    assert.ok(before !== undefined);
    host.update('ns1', network([service('api', '10.0.1.3', ['10.0.1.7'])]));
    process.kill(before, 'SIGKILL');
    const after = await until('a new responder', () => {
      const p = host.pid('ns1');
      return p !== undefined && p !== before && host.port('ns1') !== undefined ? p : undefined;
    });
    assert.ok(alive(after));
    assert.deepEqual(await ask('api'), ['10.0.1.3']);
  });

  test('an internal network answers SERVFAIL for names outside it', async () => {
    host.update('ns1', network([service('api', '10.0.1.3', ['10.0.1.7'])], true));
    const port = host.port('ns1')!;
    const r = await until('SERVFAIL for an outside name', async () => {
      const m = parseMessage(await udpQuery('127.0.0.1', port, encodeMessage(query('outside.example'))));
      return m.rcode === RCODE.SERVFAIL ? m : undefined;
    });
    assert.equal(r.answers.length, 0);
  });

  test('stop ends the process and removes its socket; stop again is a no-op', async () => {
    const pid = host.pid('ns1')!;
    await host.stop('ns1');
    assert.equal(alive(pid), false);
    assert.equal(host.pid('ns1'), undefined);
    await assert.rejects(stat(join(dir, 'dns-ns1.sock')), { code: 'ENOENT' });
    await host.stop('ns1');
    assert.throws(() => host.update('ns1', network([])), /start it before updating/);
  });

  test('a responder that cannot listen makes start fail with the reason', async () => {
    await assert.rejects(host.start('ns2', '192.0.2.123', network([])), (err: Error) => {
      assert.match(err.message, /exited before listening on 192\.0\.2\.123/);
      assert.match(err.message, /cannot listen for DNS/);
      return true;
    });
    assert.equal(host.pid('ns2'), undefined);
  });

  test('a responder exits when the daemon side of its socket goes away', async () => {
    // Play the daemon by hand, then vanish the way a killed daemon does: the socket just closes.
    const socketPath = join(dir, 'by-hand.sock');
    const conns: Socket[] = [];
    const server = createServer((c) => {
      conns.push(c);
      c.write(encodeLine({ type: 'zone', zone: { network: 'n', internal: false, services: [] } }));
    });
    await new Promise<void>((r) => server.listen(socketPath, () => r()));
    const child = spawn(process.execPath, [RESPONDER_MAIN, '--listen', '127.0.0.1', '--port', '0', '--socket', socketPath], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until('the responder to connect', () => (conns.length > 0 ? true : undefined));
      conns[0]!.destroy();
      server.close();
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
