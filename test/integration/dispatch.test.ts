// Node sessions over /shoal/dispatch/1 between real daemon processes started
// with `--executor sim`: every node keeps one stream with the leader, which
// carries heartbeats (liveness), the session info (role changes drive
// promotion and demotion, the heartbeat period follows the swarm spec) and
// removal; sessions follow the leader through a kill -9. (Task assignments
// end to end are covered in-process by test/unit/dispatch/end-to-end.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import type { Node, Swarm } from '../../shared/model/index.js';
import { DaemonCluster, DaemonProcess, eventually, freePort, MAIN, ms } from '../fixtures/daemons.js';

type Info = { Swarm: { NodeID: string; LocalNodeState: string; ControlAvailable: boolean } };

describe('node sessions with the dispatcher (real daemons, sim executor)', { timeout: 240_000 }, () => {
  let c: DaemonCluster;
  const ids = new Map<string, string>();
  const d = (name: string): DaemonProcess => c.get(name);
  const managers = (): DaemonProcess[] => ['m1', 'm2', 'm3'].map(d).filter((x) => x.running);

  async function nodes(): Promise<Node[]> {
    return eventually(async () => {
      for (const m of managers()) {
        const r = await m.api<Node[]>('GET', '/nodes');
        if (r.status === 200) return r.body;
      }
      return undefined;
    }, 'a manager that answers');
  }

  async function leader(): Promise<DaemonProcess> {
    return eventually(async () => {
      for (const m of managers()) {
        const r = await m.api<Node[]>('GET', '/nodes');
        const l = r.status === 200 ? r.body.find((n) => n.ManagerStatus?.Leader) : undefined;
        if (l && l.ID === ids.get(m.name)) return m;
      }
      return undefined;
    }, 'the leader');
  }

  /** The leader's log says it started a session for the node. */
  async function sessionLogged(on: DaemonProcess, node: string, after = 0): Promise<boolean> {
    return (await on.logLines()).some((l) => l['msg'] === 'node session started' && l['node'] === node && Number(l['time']) >= after);
  }

  before(async () => {
    c = await DaemonCluster.create('shoal-dispatch-', { extraArgs: ['--executor', 'sim'] });
    const m1 = await c.add('m1');
    await m1.ok('POST', '/swarm/init', { ListenAddr: m1.addr, AdvertiseAddr: m1.addr, Spec: { Dispatcher: { HeartbeatPeriod: ms(500) } } });
    const tokens = (await m1.ok<Swarm>('GET', '/swarm')).JoinTokens;
    for (const [name, token] of [['m2', tokens.Manager], ['m3', tokens.Manager], ['w1', tokens.Worker], ['w2', tokens.Worker]] as const) {
      const x = await c.add(name);
      await x.ok('POST', '/swarm/join', { ListenAddr: x.addr, AdvertiseAddr: x.addr, RemoteAddrs: [m1.addr], JoinToken: token });
    }
    for (const x of c.daemons.values()) ids.set(x.name, (await x.ok<Info>('GET', '/info')).Swarm.NodeID);
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c.dumpLogs()}\n`);
    await c.destroy();
  });

  it('every node, the leader included, keeps a session: all five ready, each session started on the leader', async () => {
    await eventually(async () => {
      const ns = await nodes();
      return ns.length === 5 && ns.every((n) => n.Status.State === 'ready');
    }, 'five ready nodes');
    const l = await leader();
    for (const name of ['m1', 'm2', 'm3', 'w1', 'w2']) {
      await eventually(() => sessionLogged(l, ids.get(name)!), `the leader started a session for ${name}`);
    }
    // Each daemon runs the simulated runtime, and says so.
    for (const x of c.daemons.values()) {
      const ready = (await x.logLines()).find((line) => line['msg'] === 'shoal daemon ready');
      assert.equal(ready?.['executor'], 'sim', x.name);
    }
  });

  it('promotion and demotion travel over the session', async () => {
    const w2 = d('w2');
    const id = ids.get('w2')!;
    const l = await leader();
    let n = await l.ok<Node>('GET', `/nodes/${id}`);
    await l.ok('POST', `/nodes/${id}/update?version=${n.Version.Index}`, { ...n.Spec, Role: 'manager' });
    await eventually(async () => (await w2.ok<Info>('GET', '/info')).Swarm.ControlAvailable, 'w2 runs a manager after its promotion', 30_000);
    await eventually(async () => (await nodes()).find((x) => x.ID === id)?.ManagerStatus?.Reachability === 'reachable', 'w2 is a reachable manager', 30_000);
    n = await l.ok<Node>('GET', `/nodes/${id}`);
    await l.ok('POST', `/nodes/${id}/update?version=${n.Version.Index}`, { ...n.Spec, Role: 'worker' });
    await eventually(async () => !(await w2.ok<Info>('GET', '/info')).Swarm.ControlAvailable, 'w2 stops its manager after the demotion', 30_000);
    await eventually(async () => (await nodes()).find((x) => x.ID === id)?.Status.State === 'ready', 'w2 is a ready worker again');
  });

  it('the heartbeat period follows the swarm spec: a killed worker is down three periods later, and ready when it returns', async () => {
    const l = await leader();
    const sw = await l.ok<Swarm>('GET', '/swarm');
    await l.ok('POST', `/swarm/update?version=${sw.Version.Index}`, { ...sw.Spec, Dispatcher: { HeartbeatPeriod: ms(300) } });
    const w1 = d('w1');
    const id = ids.get('w1')!;
    // The new period reaches the worker through its session.
    await eventually(
      async () => (await w1.logLines()).some((line) => line['msg'] === 'heartbeat period changed' && line['heartbeatPeriodMs'] === 300),
      'w1 heartbeats every 300 ms',
    );
    const killedAt = await w1.kill9();
    await eventually(async () => (await nodes()).find((x) => x.ID === id)?.Status.State === 'down', 'w1 is marked down', 15_000);
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs < 6_000, `down after ${tookMs} ms (three 300 ms periods, plus the leader's reconcile step)`);
    const restartedAt = Date.now();
    await w1.start();
    await eventually(async () => (await nodes()).find((x) => x.ID === id)?.Status.State === 'ready', 'w1 is ready again after its restart');
    await eventually(() => sessionLogged(l, id, restartedAt), 'the restarted worker opened a new session');
    const info = await w1.ok<Info>('GET', '/info');
    assert.deepEqual([info.Swarm.NodeID, info.Swarm.LocalNodeState], [id, 'active']);
  });

  it('sessions follow a new leader after kill -9 of the old one', async () => {
    const old = await leader();
    const killedAt = await old.kill9();
    const fresh = await leader();
    assert.notEqual(fresh, old);
    for (const name of ['w1', 'w2']) {
      await eventually(() => sessionLogged(fresh, ids.get(name)!, killedAt), `${name} opened a session with the new leader`, 20_000);
    }
    await eventually(async () => (await nodes()).find((x) => x.ID === ids.get(old.name))?.Status.State === 'down', 'the old leader is marked down', 20_000);
    const ns = await nodes();
    for (const name of ['w1', 'w2']) assert.equal(ns.find((x) => x.ID === ids.get(name))?.Status.State, 'ready', `${name} stays ready`);
    await old.start();
    await eventually(async () => (await nodes()).every((x) => x.Status.State === 'ready'), 'the old leader is back and ready', 30_000);
  });

  it('a node removed with node rm --force is told over its session and leaves the swarm', async () => {
    const l = await leader();
    const w2 = d('w2');
    const del = await l.api('DELETE', `/nodes/${ids.get('w2')}?force=true`);
    assert.equal(del.status, 200, del.text);
    await eventually(async () => (await w2.ok<Info>('GET', '/info')).Swarm.LocalNodeState === 'inactive', 'w2 leaves the swarm', 20_000);
  });

  it('--executor takes sim or oci (the default); anything else is refused', async () => {
    const bad = spawnSync(process.execPath, [MAIN, 'daemon', '--data-root', join(c.root, 'bogus'), '--executor', 'runc'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown executor "runc"; use --executor oci or --executor sim/);
    const oci = new DaemonProcess('oci', join(c.root, 'oci'), await freePort());
    c.daemons.set('oci', oci);
    await oci.start();
    const ready = await eventually(async () => (await oci.logLines()).find((l) => l['msg'] === 'shoal daemon ready'), 'the daemon ready');
    assert.equal(ready['executor'], 'oci');
  });
});
