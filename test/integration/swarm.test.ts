// The daemon's acceptance: real daemon processes on loopback forming a swarm
// of three managers and two workers, surviving kill -9 of the leader and the
// loss of quorum, refusing bad joins, and shrugging off bad API requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { createLogger } from '../../shared/logger.js';
import type { Node, Swarm } from '../../shared/model/index.js';
import { P2PHost } from '../../shared/p2p/host.js';
import { loadOrCreateIdentity } from '../../shared/p2p/identity.js';
import { PROTOCOL_JOIN } from '../../shared/protocol/cluster.js';
import { DaemonCluster, eventually, ms, type DaemonProcess } from './daemon-harness.js';

const managerNames = ['m1', 'm2', 'm3'];

function leaderOf(nodes: Node[]): Node | undefined {
  const leaders = nodes.filter((n) => n.ManagerStatus?.Leader === true);
  return leaders.length === 1 ? leaders[0] : undefined;
}

describe('a swarm of three managers and two workers', { timeout: 240_000 }, () => {
  let c: DaemonCluster;
  let tokens: Swarm['JoinTokens'];

  const m = (name: string): DaemonProcess => c.get(name);
  const running = (): DaemonProcess[] => managerNames.map(m).filter((d) => d.running);

  /** The daemon that leads, as the running managers agree on it. */
  async function leaderDaemon(): Promise<DaemonProcess> {
    return eventually(async () => {
      for (const d of running()) {
        const r = await d.api<Node[]>('GET', '/nodes');
        if (r.status !== 200) continue;
        const leader = leaderOf(r.body);
        const self = await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info');
        if (leader && leader.ID === self.Swarm.NodeID) return d;
      }
      return undefined;
    }, 'a leader among the running managers');
  }

  before(async () => {
    c = await DaemonCluster.create();
    for (const name of [...managerNames, 'w1', 'w2']) await c.add(name);
    const id = await m('m1').ok<string>('POST', '/swarm/init', {
      ListenAddr: m('m1').addr,
      AdvertiseAddr: m('m1').addr,
      Spec: { Dispatcher: { HeartbeatPeriod: ms(500) } },
    });
    assert.match(id, /^[a-z0-9]{25}$/);
    tokens = (await m('m1').ok<Swarm>('GET', '/swarm')).JoinTokens;
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c.dumpLogs()}\n`);
    await c.destroy();
  });

  it('forms: node ls shows five nodes, three managers, one Leader', async () => {
    for (const name of ['m2', 'm3']) {
      await m(name).ok('POST', '/swarm/join', { ListenAddr: m(name).addr, AdvertiseAddr: m(name).addr, RemoteAddrs: [m('m1').addr], JoinToken: tokens.Manager });
    }
    for (const name of ['w1', 'w2']) {
      await m(name).ok('POST', '/swarm/join', { ListenAddr: m(name).addr, AdvertiseAddr: m(name).addr, RemoteAddrs: [m('m1').addr], JoinToken: tokens.Worker });
    }
    for (const d of [m('m1'), m('m2'), m('m3')]) {
      const nodes = await eventually(async () => {
        const r = await d.api<Node[]>('GET', '/nodes');
        if (r.status !== 200 || r.body.length !== 5) return undefined;
        const managers = r.body.filter((n) => n.ManagerStatus !== undefined);
        const allReachable = managers.every((n) => n.ManagerStatus?.Reachability === 'reachable');
        const allReady = r.body.every((n) => n.Status.State === 'ready');
        return managers.length === 3 && allReachable && allReady && leaderOf(r.body) ? r.body : undefined;
      }, `${d.name} sees 5 ready nodes, 3 reachable managers and one leader`);
      assert.equal(nodes.filter((n) => n.Spec.Role === 'worker').length, 2);
    }
    // Workers refuse cluster reads with Docker's message.
    const r = await m('w1').api<{ message: string }>('GET', '/nodes');
    assert.equal(r.status, 503);
    assert.match(r.body.message, /Worker nodes can't be used to view or modify cluster state/);
  });

  it('a worker stopped with SIGTERM and started again resumes its membership', async () => {
    const w = m('w2');
    const id = (await w.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID;
    await w.stop();
    await w.start();
    const info = await w.ok<{ Swarm: { NodeID: string; LocalNodeState: string; ControlAvailable: boolean } }>('GET', '/info');
    assert.deepEqual([info.Swarm.NodeID, info.Swarm.LocalNodeState, info.Swarm.ControlAvailable], [id, 'active', false]);
    await eventually(async () => {
      const nodes = await m('m1').ok<Node[]>('GET', '/nodes');
      return nodes.length === 5 && nodes.find((n) => n.ID === id)?.Status.State === 'ready';
    }, 'the restarted worker is the same node and Ready');
  });

  it('survives kill -9 of the leader with every acknowledged write, and the killed manager rejoins', async () => {
    const leader = await leaderDaemon();
    const writer = running().find((d) => d !== leader)!;
    const target = (await writer.ok<Node[]>('GET', '/nodes')).find((n) => n.Description.Hostname && n.Spec.Role === 'worker')!;
    // Writes through a follower, which forwards to the leader.
    for (let i = 0; i < 10; i++) {
      const n = await writer.ok<Node>('GET', `/nodes/${target.ID}`);
      const res = await writer.api('POST', `/nodes/${target.ID}/update?version=${n.Version.Index}`, {
        ...n.Spec,
        Labels: { ...n.Spec.Labels, [`k${i}`]: `v${i}` },
      });
      assert.equal(res.status, 200, res.text);
    }
    const killedId = (await leader.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID;
    await leader.kill9();
    const newLeader = await leaderDaemon();
    assert.notEqual(newLeader, leader);
    for (const d of running()) {
      const n = await eventually(async () => {
        const r = await d.api<Node>('GET', `/nodes/${target.ID}`);
        return r.status === 200 ? r.body : undefined;
      }, `${d.name} answers after the failover`);
      for (let i = 0; i < 10; i++) assert.equal(n.Spec.Labels?.[`k${i}`], `v${i}`, `${d.name} has label k${i}`);
    }
    // Heartbeats stop: the survivors mark the killed manager down and unreachable.
    await eventually(async () => {
      const nodes = await newLeader.ok<Node[]>('GET', '/nodes');
      const dead = nodes.filter((x) => x.Status.State === 'down');
      return dead.length === 1 && dead[0]!.ID === killedId && dead[0]!.ManagerStatus?.Reachability === 'unreachable';
    }, 'the killed manager is Down and Unreachable after 3 missed heartbeats');
    // The cluster keeps taking writes without the old leader.
    const n = await newLeader.ok<Node>('GET', `/nodes/${target.ID}`);
    await newLeader.ok('POST', `/nodes/${target.ID}/update?version=${n.Version.Index}`, { ...n.Spec, Labels: { ...n.Spec.Labels, after: 'failover' } });

    await leader.start();
    const seen = await eventually(async () => {
      const r = await leader.api<Node[]>('GET', '/nodes');
      if (r.status !== 200) return undefined;
      const t = r.body.find((x) => x.ID === target.ID);
      const managers = r.body.filter((x) => x.ManagerStatus);
      return t?.Spec.Labels?.['after'] === 'failover' && managers.every((x) => x.ManagerStatus?.Reachability === 'reachable') && leaderOf(r.body)
        ? r.body
        : undefined;
    }, 'the restarted manager catches up and sees every manager reachable');
    assert.equal(seen.length, 5);
    await eventually(async () => (await newLeader.ok<Node[]>('GET', '/nodes')).every((x) => x.Status.State === 'ready'), 'the restarted manager is Ready again');
  });

  it('refuses writes without a quorum, with a clear error, and recovers when a manager returns', async () => {
    const survivor = m('m1');
    const victims = [m('m2'), m('m3')];
    for (const v of victims) await v.kill9();
    const target = (await eventually(async () => {
      const r = await survivor.api<Node[]>('GET', '/nodes');
      return r.status === 200 ? r.body : undefined;
    }, 'a stale-free read before quorum is noticed', 5_000).catch(() => undefined))?.find((x) => x.Spec.Role === 'worker');
    const refusal = await eventually(async () => {
      const id = target?.ID ?? 'w1';
      const r = await survivor.api<{ message: string }>('POST', `/nodes/${id}/update?version=1`, { Role: 'worker', Availability: 'active' });
      return r.status === 503 ? r.body : undefined;
    }, 'the lone manager refuses writes with 503', 30_000);
    assert.match(refusal.message, /does not have a leader|too few managers/);
    await victims[0]!.start();
    await eventually(async () => {
      const r = await survivor.api<Node[]>('GET', '/nodes');
      if (r.status !== 200) return undefined;
      const w = r.body.find((x) => x.Spec.Role === 'worker')!;
      const u = await survivor.api('POST', `/nodes/${w.ID}/update?version=${w.Version.Index}`, { ...w.Spec, Labels: { ...w.Spec.Labels, quorum: 'back' } });
      return u.status === 200;
    }, 'writes succeed once a second manager is back', 30_000);
    await victims[1]!.start();
  });

  it('rejects joins with a wrong or rotated-away token, and logs the rejection', async () => {
    const leader = await leaderDaemon();
    const stranger = await c.add('stranger');
    const join = (token: string): Promise<{ status: number; body: { message: string } }> =>
      stranger.api<{ message: string }>('POST', '/swarm/join', { ListenAddr: stranger.addr, AdvertiseAddr: stranger.addr, RemoteAddrs: [leader.addr], JoinToken: token });

    const garbage = await join('SWMTKN-1-nope');
    assert.equal(garbage.status, 400);
    assert.match(garbage.body.message, /invalid join token/i);

    const wrongSecret = tokens.Worker.replace(/-[a-z0-9]+$/, '-0000000000000000000000000');
    const wrong = await join(wrongSecret);
    assert.ok(wrong.status >= 400 && wrong.status < 500, `wrong secret: ${wrong.status} ${JSON.stringify(wrong.body)}`);
    await eventually(async () => /join rejected/.test(await leader.logs()), 'the rejection is logged by the manager');

    const sw = await leader.ok<Swarm>('GET', '/swarm');
    await leader.ok('POST', `/swarm/update?version=${sw.Version.Index}&rotateWorkerToken=true`, sw.Spec);
    const rotated = await leader.ok<Swarm>('GET', '/swarm');
    assert.notEqual(rotated.JoinTokens.Worker, tokens.Worker);
    const old = await join(tokens.Worker);
    assert.ok(old.status >= 400 && old.status < 500, `rotated-away token: ${old.status}`);
    assert.match(old.body.message, /token/i);

    // The new token works.
    await stranger.ok('POST', '/swarm/join', { ListenAddr: stranger.addr, AdvertiseAddr: stranger.addr, RemoteAddrs: [leader.addr], JoinToken: rotated.JoinTokens.Worker });
    const info = await stranger.ok<{ Swarm: { LocalNodeState: string; ControlAvailable: boolean } }>('GET', '/info');
    assert.equal(info.Swarm.LocalNodeState, 'active');
    assert.equal(info.Swarm.ControlAvailable, false);
  });

  it('refuses a peer without a token and a worker speaking raft, and logs both', async () => {
    const leader = await leaderDaemon();
    const leaderInfo = await leader.ok<{ ID: string }>('GET', '/info');
    const target = { peerId: leaderInfo.ID, addr: `/ip4/127.0.0.1/tcp/${leader.port}` };
    const logger = createLogger({ level: 'silent' });
    const refuseAll = (): { allow: false; reason: string } => ({ allow: false, reason: 'test peer serves nothing' });

    // A stranger opening the join protocol with no token at all.
    const strangerKey = await loadOrCreateIdentity(join(c.root, 'stranger-no-token.key'));
    const stranger = await P2PHost.create({ privateKey: strangerKey, listenHost: '127.0.0.1', listenPort: 0, logger, guard: refuseAll });
    try {
      await assert.rejects(
        stranger.request(target, PROTOCOL_JOIN, {
          token: '',
          nonce: new Uint8Array(32),
          hostname: 'intruder',
          advertiseAddr: '/ip4/127.0.0.1/tcp/1',
          availability: 'active',
          platform: { Architecture: 'x86_64', OS: 'linux' },
          resources: { NanoCPUs: 0, MemoryBytes: 0 },
          engineVersion: '0',
          engineLabels: {},
        }, { timeoutMs: 5000 }),
        /invalid join token/,
      );
      await eventually(async () => (await leader.logs()).includes(stranger.peerId) && /join rejected/.test(await leader.logs()), 'the tokenless join is logged');
    } finally {
      await stranger.stop();
    }

    // A worker's own identity trying the manager-only raft protocol.
    const workerKey = await loadOrCreateIdentity(join(m('w1').dataRoot, 'identity.key'));
    const impostor = await P2PHost.create({ privateKey: workerKey, listenHost: '127.0.0.1', listenPort: 0, logger, guard: refuseAll });
    try {
      await assert.rejects(impostor.request(target, '/shoal/raft/1', { hello: 1 }, { timeoutMs: 5000 }));
      await eventually(async () => {
        const lines = (await leader.logs()).split('\n').filter((l) => l.includes('/shoal/raft/1') && l.includes(impostor.peerId));
        return lines.some((l) => /refused/.test(l) && /worker/.test(l));
      }, 'the refused raft stream from a worker is logged with the reason');
    } finally {
      await impostor.stop();
    }
  });

  it('answers malformed and oversized API requests with 4xx and stays up', async () => {
    const d = m('m1');
    const bad = await d.api('POST', '/swarm/join', '{"RemoteAddrs": [');
    assert.equal(bad.status, 400);
    const wrongType = await d.api('POST', '/swarm/join', { RemoteAddrs: 'not-a-list', JoinToken: 5 });
    assert.equal(wrongType.status, 400);
    assert.equal(await d.statusForDeclaredBody('POST', '/swarm/init', 4 << 20), 413);
    const node = (await d.ok<Node[]>('GET', '/nodes'))[0]!;
    const noVersion = await d.api('POST', `/nodes/${node.ID}/update`, node.Spec);
    assert.equal(noVersion.status, 400);
    const badRole = await d.api('POST', `/nodes/${node.ID}/update?version=${node.Version.Index}`, { ...node.Spec, Role: 'king' });
    assert.equal(badRole.status, 400);
    const stale = await d.api<{ message: string }>('POST', `/nodes/${node.ID}/update?version=1`, node.Spec);
    assert.equal(stale.status, 409);
    assert.equal((await d.api('GET', '/nodes/doesnotexist')).status, 404);
    assert.equal((await d.api('GET', '/_ping')).status, 200);
  });
});
