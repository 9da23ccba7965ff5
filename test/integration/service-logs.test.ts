// Service and task logs across a swarm of real daemon processes (one manager
// that also runs tasks, one worker; sim executor, whose containers write lines
// set by SHOAL_SIM_LOG_*): the manager's own node answers in-process, the
// worker over /shoal/logs/1. Checked through the HTTP API (Docker's
// multiplexed stream, details, timestamps, tail, follow) and `shoal service logs`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseHostPort, toMultiaddr } from '../../shared/addr.js';
import { createLogger } from '../../shared/logger.js';
import { P2PHost } from '../../shared/p2p/host.js';
import { loadOrCreateIdentity } from '../../shared/p2p/identity.js';
import { PROTOCOL_LOGS } from '../../shared/protocol/logs.js';
import type { Node, Task } from '../../shared/model/index.js';
import { MuxDecoder, type MuxFrame } from '../../cli/logs/mux.js';
import { DaemonCluster, eventually, MAIN, ms, type DaemonProcess } from './daemon-harness.js';

const CHATTY_ENV = ['SHOAL_SIM_LOG_LINES=3', 'SHOAL_SIM_STDERR=careful now'];
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

interface Frame {
  stream: MuxFrame['stream'];
  text: string;
}

/** One whole logs response as frames. */
async function logs(d: DaemonProcess, path: string): Promise<{ status: number; type: string; frames: Frame[]; text: string }> {
  const agent = new Agent({ connect: { socketPath: d.socket } });
  try {
    const res = await request(`http://localhost${path}`, { dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const body = Buffer.from(await res.body.arrayBuffer());
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200) return { status: res.statusCode, type, frames: [], text: body.toString() };
    const decoder = new MuxDecoder();
    const frames = decoder.push(body).map((f) => ({ stream: f.stream, text: f.payload.toString() }));
    assert.equal(decoder.pending, 0, 'the stream ends on a frame boundary');
    return { status: res.statusCode, type, frames, text: '' };
  } finally {
    await agent.close();
  }
}

/** Splits a line sent with timestamps and details into its three parts. */
function parts(text: string): { time: string; details: Map<string, string>; line: string } {
  const [time = '', details = '', ...rest] = text.split(' ');
  return { time, details: new Map(details.split(',').map((kv) => kv.split('=') as [string, string])), line: rest.join(' ') };
}

function shoal(d: DaemonProcess, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_')) env[k] = v;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, '-H', d.hostArg, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

describe('service logs on a swarm (1 manager running tasks, 1 worker, sim executor)', { timeout: 180_000 }, () => {
  let c: DaemonCluster;
  let m1: DaemonProcess;
  let w1: DaemonProcess;
  let serviceId = '';
  let tasks: Task[] = [];
  const hostnames = new Map<string, string>();

  before(async () => {
    c = await DaemonCluster.create('shoal-logs-', { extraArgs: ['--executor', 'sim'] });
    m1 = await c.add('m1');
    await m1.ok('POST', '/swarm/init', { ListenAddr: m1.addr, AdvertiseAddr: m1.addr, Spec: { Dispatcher: { HeartbeatPeriod: ms(500) } } });
    const swarm = await m1.ok<{ JoinTokens: { Worker: string } }>('GET', '/swarm');
    w1 = await c.add('w1');
    await w1.ok('POST', '/swarm/join', { ListenAddr: w1.addr, AdvertiseAddr: w1.addr, RemoteAddrs: [m1.addr], JoinToken: swarm.JoinTokens.Worker });
    const nodes = await eventually(async () => {
      const ns = await m1.ok<Node[]>('GET', '/nodes');
      return ns.length === 2 && ns.every((n) => n.Status.State === 'ready') ? ns : undefined;
    }, 'two ready nodes');
    for (const n of nodes) hostnames.set(n.ID, n.Description.Hostname);

    serviceId = (
      await m1.ok<{ ID: string }>('POST', '/services/create', {
        Name: 'chatty',
        TaskTemplate: { ContainerSpec: { Image: 'sim/chatty:1', Env: CHATTY_ENV } },
        Mode: { Replicated: { Replicas: 2 } },
      })
    ).ID;
    tasks = await eventually(async () => {
      const ts = await m1.ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ['chatty'] }))}`);
      const running = ts.filter((t) => t.Status.State === 'running');
      return running.length === 2 ? running : undefined;
    }, 'two running chatty tasks');
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs()}\n`);
    await c?.destroy();
  });

  it('the tasks run on both nodes', () => {
    assert.deepEqual(new Set(tasks.map((t) => t.NodeID)).size, 2, 'spread over the manager and the worker');
  });

  it("GET /services/{id}/logs returns every task's lines from both nodes, with details and timestamps, in time order", async () => {
    const r = await logs(m1, `/v1.47/services/${serviceId}/logs?stdout=1&stderr=1&details=1&timestamps=1`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.type, 'application/vnd.docker.multiplexed-stream');
    assert.equal(r.frames.length, 8, JSON.stringify(r.frames));
    for (const t of tasks) {
      const mine = r.frames.map((f) => ({ ...f, ...parts(f.text) })).filter((f) => f.details.get('com.docker.swarm.task.id') === t.ID);
      const label = `chatty.${t.Slot}.${t.ID}`;
      assert.deepEqual(
        mine.map((f) => `${f.stream}:${f.line}`),
        [`stdout:line 1 of ${label}\n`, `stdout:line 2 of ${label}\n`, `stdout:line 3 of ${label}\n`, 'stderr:careful now\n'],
      );
      for (const f of mine) {
        assert.match(f.time, TIME);
        assert.deepEqual([...f.details.keys()], ['com.docker.swarm.node.id', 'com.docker.swarm.service.id', 'com.docker.swarm.task.id']);
        assert.equal(f.details.get('com.docker.swarm.node.id'), t.NodeID);
        assert.equal(f.details.get('com.docker.swarm.service.id'), serviceId);
      }
    }
    const times = r.frames.map((f) => parts(f.text).time);
    assert.deepEqual(times, [...times].sort(), 'merged by time across nodes');
  });

  it('tail=2 gives the last two lines of each task; stdout only drops the stderr line', async () => {
    const tail = await logs(m1, '/services/chatty/logs?stdout=1&stderr=1&tail=2');
    assert.deepEqual(tail.frames.map((f) => f.text.replace(/ of .*/s, '')).sort(), ['careful now\n', 'careful now\n', 'line 3', 'line 3']);
    const out = await logs(m1, '/services/chatty/logs?stdout=1');
    assert.equal(out.frames.length, 6);
    assert.ok(out.frames.every((f) => f.stream === 'stdout'));
  });

  it('GET /tasks/{id}/logs returns that task only; refusals are Docker errors', async () => {
    const t = tasks.find((x) => x.NodeID !== tasks[0]!.NodeID) ?? tasks[0]!;
    const r = await logs(m1, `/tasks/${t.ID}/logs?stdout=1&stderr=1`);
    assert.deepEqual(
      r.frames.map((f) => f.text),
      [1, 2, 3].map((i) => `line ${i} of chatty.${t.Slot}.${t.ID}\n`).concat('careful now\n'),
    );
    const missing = await logs(m1, '/services/nope/logs?stdout=1');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /service nope not found/);
    const noStream = await logs(m1, '/services/chatty/logs');
    assert.equal(noStream.status, 400);
    assert.match(noStream.text, /you must choose at least one stream/);
    const onWorker = await logs(w1, '/services/chatty/logs?stdout=1');
    assert.equal(onWorker.status, 503, 'a worker cannot answer for the swarm');
  });

  it('follow sends new lines as they are written, and stops when the client goes', async () => {
    const created = await m1.ok<{ ID: string }>('POST', '/services/create', {
      Name: 'ticker',
      TaskTemplate: { ContainerSpec: { Image: 'sim/ticker:1', Env: ['SHOAL_SIM_LOG_EVERY_MS=200'] } },
      Mode: { Replicated: { Replicas: 2 } },
    });
    await eventually(async () => {
      const ts = await m1.ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ['ticker'] }))}`);
      return ts.filter((t) => t.Status.State === 'running').length === 2;
    }, 'two running ticker tasks');
    const agent = new Agent({ connect: { socketPath: m1.socket } });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('no new ticks from both nodes within 20 s')), 20_000);
    try {
      const res = await request(`http://localhost/services/${created.ID}/logs?stdout=1&follow=1&tail=0&details=1`, { dispatcher: agent, signal: ac.signal });
      assert.equal(res.statusCode, 200);
      const decoder = new MuxDecoder();
      const seen = new Map<string, string[]>();
      for await (const chunk of res.body) {
        for (const f of decoder.push(chunk as Buffer)) {
          const p = parts(`t ${f.payload.toString()}`);
          const node = p.details.get('com.docker.swarm.node.id') ?? '';
          seen.set(node, [...(seen.get(node) ?? []), p.line]);
        }
        // New ticks from both nodes, written after the request (tail=0).
        if (seen.size === 2 && [...seen.values()].every((l) => l.length >= 2)) break;
      }
      assert.ok([...seen.values()].flat().every((l) => /^tick \d+ of ticker\.\d\.[a-z0-9]+\n$/.test(l)), JSON.stringify([...seen]));
    } finally {
      clearTimeout(timer);
      ac.abort();
      await agent.close().catch(() => undefined);
    }
    // The streams to the worker end with the client: the worker says so, the daemons keep serving and logged no failure.
    await eventually(
      async () => (await w1.logLines()).some((l) => l['msg'] === 'served logs' && l['follow'] === true && l['endedEarly'] === true),
      "the worker's follow stream ended when the client went away",
    );
    const again = await logs(m1, '/services/chatty/logs?stdout=1&stderr=1&tail=1');
    assert.equal(again.frames.length, 2, `${again.status} ${again.text} ${JSON.stringify(again.frames)}`);
    const failures = (await m1.logLines()).filter((l) => l['msg'] === 'p2p stream handler failed' || l['msg'] === 'logs response failed');
    assert.deepEqual(failures, []);
  });

  it('a peer that is not a manager of the swarm cannot read a node\'s logs', async () => {
    const stranger = await P2PHost.create({
      privateKey: await loadOrCreateIdentity(join(c.root, 'stranger.key')),
      listenHost: '127.0.0.1',
      listenPort: 0,
      logger: createLogger({ level: 'silent' }),
      guard: () => ({ allow: false, reason: 'test' }),
    });
    try {
      // The reset can arrive while the stream is being opened or at the first read: either way, nothing is read.
      await assert.rejects(
        async () => {
          const s = await stranger.openStream({ addr: toMultiaddr(parseHostPort(w1.addr)) }, PROTOCOL_LOGS);
          s.send({ type: 'request', taskIds: tasks.map((t) => t.ID), follow: false, stdout: true, stderr: true });
          await s.read();
        },
        /reset|refused|closed/i,
        'the worker resets the stream',
      );
    } finally {
      await stranger.stop();
    }
    await eventually(
      async () => (await w1.logLines()).some((l) => l['msg'] === 'refused an inbound p2p stream' && l['protocol'] === PROTOCOL_LOGS),
      'the worker logged the refusal',
    );
  });

  it('shoal service logs prints name.slot.id@node    | line, stderr lines on stderr', async () => {
    const r = await shoal(m1, ['service', 'logs', 'chatty']);
    assert.equal(r.code, 0, r.stderr);
    const expected = tasks.flatMap((t) => [1, 2, 3].map((i) => `chatty.${t.Slot}.${t.ID.slice(0, 12)}@${hostnames.get(t.NodeID!)}    | line ${i} of chatty.${t.Slot}.${t.ID}`));
    assert.deepEqual(r.stdout.split('\n').filter((l) => l !== '').sort(), expected.sort());
    assert.deepEqual(
      r.stderr.split('\n').filter((l) => l !== '').sort(),
      tasks.map((t) => `chatty.${t.Slot}.${t.ID.slice(0, 12)}@${hostnames.get(t.NodeID!)}    | careful now`).sort(),
    );

    const t = tasks[0]!;
    const raw = await shoal(m1, ['service', 'logs', '--raw', '--tail', '1', '-t', t.ID]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(raw.stdout, '');
    assert.match(raw.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z careful now\n$/);
    const noIds = await shoal(m1, ['service', 'logs', '--no-task-ids', '--no-resolve', '--tail', '1', 'chatty']);
    assert.deepEqual(noIds.stderr.split('\n').filter((l) => l !== '').sort(), tasks.map((x) => `${serviceId}.${x.Slot}@${x.NodeID}    | careful now`).sort());
    const missing = await shoal(m1, ['service', 'logs', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such task or service: nope/);
  });

  it('shoal service logs -f keeps printing new lines until interrupted', async () => {
    const child = spawn(process.execPath, [MAIN, '-H', m1.hostArg, 'service', 'logs', '-f', '--tail', '0', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => out.split('\n').filter((l) => / {4}\| tick \d+ of ticker\./.test(l)).length >= 3, 'three new ticks printed', 20_000);
    } finally {
      child.kill('SIGINT');
    }
    await exited;
    assert.match(out.split('\n')[0] ?? '', /^ticker\.[12]\.[a-z0-9]{12}@\S+ {4}\| tick \d+ of ticker\.[12]\.[a-z0-9]{25}$/);
  });
});
