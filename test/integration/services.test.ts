// Services across a multi-host swarm, on the simulated runtime: real daemon
// processes (3 managers, drained so they run nothing, and 3 workers) driven
// through the Docker API. Placement, scaling, draining, node loss, global
// services, rolling updates (success, pause, rollback, continue,
// start-first), a leader kill mid-update, pending explanations and jobs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node, Service, ServiceSpec, Swarm, Task } from '../../shared/model/index.js';
import { DaemonCluster, eventually, ms, type DaemonProcess } from './daemon-harness.js';

const IMAGE = 'sim/app:1';

function spec(name: string, over: Partial<ServiceSpec> = {}, env: string[] = []): ServiceSpec {
  return {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Env: env }, RestartPolicy: { Condition: 'any', Delay: ms(100) } },
    Mode: { Replicated: { Replicas: 1 } },
    ...over,
  };
}

describe('services on a swarm of 3 managers and 3 workers (sim executor)', { timeout: 600_000 }, () => {
  let c: DaemonCluster;
  let tokens: Swarm['JoinTokens'];
  const workers: DaemonProcess[] = [];
  const nodeIdOf = new Map<DaemonProcess, string>();

  const managers = (): DaemonProcess[] => ['m1', 'm2', 'm3'].map((n) => c.get(n)).filter((d) => d.running);
  /** Any running manager that answers. */
  async function api(): Promise<DaemonProcess> {
    return eventually(async () => {
      for (const d of managers()) if ((await d.api('GET', '/nodes')).status === 200) return d;
      return undefined;
    }, 'a manager that answers');
  }

  async function tasksOf(service: string): Promise<Task[]> {
    const d = await api();
    return d.ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  }

  const running = (ts: Task[]): Task[] => ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');

  function perNode(ts: Task[]): Map<string, number> {
    const m = new Map<string, number>();
    for (const t of ts) m.set(t.NodeID ?? '', (m.get(t.NodeID ?? '') ?? 0) + 1);
    return m;
  }

  async function create(s: ServiceSpec): Promise<string> {
    const d = await api();
    const r = await d.ok<{ ID: string }>('POST', '/services/create', s);
    return r.ID;
  }

  async function inspect(id: string): Promise<Service> {
    return (await api()).ok<Service>('GET', `/services/${id}`);
  }

  async function update(id: string, change: (s: ServiceSpec) => ServiceSpec, query = ''): Promise<void> {
    const svc = await inspect(id);
    await (await api()).ok('POST', `/services/${id}/update?version=${svc.Version.Index}${query}`, change(svc.Spec));
  }

  async function convergedRunning(service: string, n: number, what: string, timeoutMs = 60_000): Promise<Task[]> {
    return eventually(async () => {
      const r = running(await tasksOf(service));
      return r.length === n ? r : undefined;
    }, what, timeoutMs);
  }

  before(async () => {
    c = await DaemonCluster.create('shoal-svc-', { extraArgs: ['--executor', 'sim'] });
    const m1 = await c.add('m1');
    await m1.ok('POST', '/swarm/init', {
      ListenAddr: m1.addr,
      AdvertiseAddr: m1.addr,
      Availability: 'drain',
      Spec: { Dispatcher: { HeartbeatPeriod: ms(500) } },
    });
    tokens = (await m1.ok<Swarm>('GET', '/swarm')).JoinTokens;
    for (const name of ['m2', 'm3']) {
      const d = await c.add(name);
      await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Manager, Availability: 'drain' });
    }
    for (const name of ['w1', 'w2', 'w3']) {
      const d = await c.add(name);
      await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Worker });
      workers.push(d);
      nodeIdOf.set(d, (await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID);
    }
    await eventually(async () => {
      const nodes = await m1.ok<Node[]>('GET', '/nodes');
      return nodes.length === 6 && nodes.every((n) => n.Status.State === 'ready') ? true : undefined;
    }, 'six ready nodes');
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c.dumpLogs()}\n`);
    await c.destroy();
  });

  it('spreads 30 replicas 10/10/10, scales to 60 and to 6', async () => {
    const id = await create(spec('web', { Mode: { Replicated: { Replicas: 30 } } }));
    let r = await convergedRunning(id, 30, '30 running replicas');
    assert.deepEqual([...perNode(r).values()].sort(), [10, 10, 10]);
    await update(id, (s) => ({ ...s, Mode: { Replicated: { Replicas: 60 } } }));
    r = await convergedRunning(id, 60, '60 running replicas');
    assert.deepEqual([...perNode(r).values()].sort(), [20, 20, 20]);
    await update(id, (s) => ({ ...s, Mode: { Replicated: { Replicas: 6 } } }));
    r = await convergedRunning(id, 6, '6 running replicas');
    assert.deepEqual([...perNode(r).values()].sort(), [2, 2, 2]);
    await (await api()).ok('DELETE', `/services/${id}`);
  });

  it('honours constraints and placement preferences, and explains a task it cannot place', async () => {
    const d = await api();
    // w1 and w2 in zone a, w3 in zone b.
    for (const [w, zone] of [[workers[0]!, 'a'], [workers[1]!, 'a'], [workers[2]!, 'b']] as const) {
      const n = await d.ok<Node>('GET', `/nodes/${nodeIdOf.get(w)}`);
      await d.ok('POST', `/nodes/${n.ID}/update?version=${n.Version.Index}`, { ...n.Spec, Labels: { ...n.Spec.Labels, zone } });
    }
    const onlyB = await create(spec('only-b', { Mode: { Replicated: { Replicas: 4 } }, TaskTemplate: { ...spec('x').TaskTemplate, Placement: { Constraints: ['node.labels.zone==b'] } } }));
    const b = await convergedRunning(onlyB, 4, 'four tasks in zone b');
    assert.ok(b.every((t) => t.NodeID === nodeIdOf.get(workers[2]!)), 'all on w3');

    const spread = await create(spec('spread', { Mode: { Replicated: { Replicas: 6 } }, TaskTemplate: { ...spec('x').TaskTemplate, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] } } }));
    const s = await convergedRunning(spread, 6, 'six spread tasks');
    const inB = s.filter((t) => t.NodeID === nodeIdOf.get(workers[2]!)).length;
    assert.equal(inB, 3, 'half the tasks in zone b (one node), half in zone a (two nodes)');

    const impossible = await create(spec('nowhere', { TaskTemplate: { ...spec('x').TaskTemplate, Placement: { Constraints: ['node.labels.zone==mars'] } } }));
    const pending = await eventually(async () => {
      const ts = await tasksOf(impossible);
      return ts.length === 1 && ts[0]!.Status.State === 'pending' && (ts[0]!.Status.Err ?? '').length > 0 ? ts[0] : undefined;
    }, 'a pending task with an explanation');
    assert.match(pending.Status.Err ?? '', /no suitable node \(.*constraints? .*not satisfied on \d+ nodes?/);
    for (const id of [onlyB, spread, impossible]) await (await api()).ok('DELETE', `/services/${id}`);
  });

  it('moves the tasks of a drained node, and replaces those of a killed worker', async () => {
    const id = await create(spec('mover', { Mode: { Replicated: { Replicas: 9 } } }));
    await convergedRunning(id, 9, 'nine running');
    const d = await api();
    const w1 = nodeIdOf.get(workers[0]!)!;
    const n = await d.ok<Node>('GET', `/nodes/${w1}`);
    await d.ok('POST', `/nodes/${w1}/update?version=${n.Version.Index}`, { ...n.Spec, Availability: 'drain' });
    await eventually(async () => {
      const r = running(await tasksOf(id));
      return r.length === 9 && r.every((t) => t.NodeID !== w1);
    }, 'nine running, none on the drained node');
    const back = await d.ok<Node>('GET', `/nodes/${w1}`);
    await d.ok('POST', `/nodes/${w1}/update?version=${back.Version.Index}`, { ...back.Spec, Availability: 'active' });

    const victim = workers[1]!;
    const victimId = nodeIdOf.get(victim)!;
    await victim.kill9();
    await eventually(async () => {
      const r = running(await tasksOf(id));
      return r.length === 9 && r.every((t) => t.NodeID !== victimId);
    }, 'tasks of the killed worker replaced after the heartbeat timeout', 60_000);
    await victim.start();
    await eventually(async () => (await (await api()).ok<Node>('GET', `/nodes/${victimId}`)).Status.State === 'ready', 'the worker is back');
    await (await api()).ok('DELETE', `/services/${id}`);
  });

  it('runs a global service on every eligible node, including one that joins', async () => {
    const id = await create(spec('agent', { Mode: { Global: {} } }));
    await convergedRunning(id, 3, 'one task per worker');
    const w4 = await c.add('w4');
    await w4.ok('POST', '/swarm/join', { ListenAddr: w4.addr, AdvertiseAddr: w4.addr, RemoteAddrs: [c.get('m1').addr], JoinToken: tokens.Worker });
    const r = await convergedRunning(id, 4, 'a task on the new worker too');
    assert.equal(new Set(r.map((t) => t.NodeID)).size, 4);
    await (await api()).ok('DELETE', `/services/${id}`);
    await w4.ok('POST', '/swarm/leave', '');
  });

  it('runs a job to completion', async () => {
    const id = await create({
      ...spec('batch', {}, ['SHOAL_SIM_RUN_MS=200']),
      Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } },
    });
    await eventually(async () => (await tasksOf(id)).filter((t) => t.Status.State === 'complete').length === 5, 'five completions', 60_000);
    const ts = await tasksOf(id);
    assert.equal(ts.filter((t) => t.Status.State === 'complete').length, 5);
    await (await api()).ok('DELETE', `/services/${id}`);
  });

  describe('rolling updates of 30 replicas, parallelism 5', () => {
    const updateConfig = (failureAction: 'pause' | 'rollback' | 'continue', order: 'stop-first' | 'start-first' = 'stop-first') => ({
      Parallelism: 5,
      Delay: ms(50),
      FailureAction: failureAction,
      Monitor: ms(500),
      MaxFailureRatio: 0,
      Order: order,
    });
    const bad = ['SHOAL_SIM_RUN_MS=100', 'SHOAL_SIM_EXIT_CODE=1'];

    async function updateState(id: string, states: string[], what: string, timeoutMs = 120_000): Promise<Service> {
      return eventually(async () => {
        const s = await inspect(id);
        return s.UpdateStatus?.State !== undefined && states.includes(s.UpdateStatus.State) ? s : undefined;
      }, what, timeoutMs);
    }

    it('succeeds: every replica ends on the new image', async () => {
      const id = await create(spec('roll', { Mode: { Replicated: { Replicas: 30 } }, UpdateConfig: updateConfig('pause') }));
      await convergedRunning(id, 30, '30 running');
      await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: 'sim/app:2' } } }));
      await updateState(id, ['completed'], 'the update completes');
      const r = await convergedRunning(id, 30, '30 running after the update');
      assert.ok(r.every((t) => t.Spec.ContainerSpec?.Image === 'sim/app:2'));
      await (await api()).ok('DELETE', `/services/${id}`);
    });

    it('pauses on a failing version with FailureAction pause', async () => {
      const id = await create(spec('pauser', { Mode: { Replicated: { Replicas: 30 } }, UpdateConfig: updateConfig('pause') }));
      await convergedRunning(id, 30, '30 running');
      await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: 'sim/app:bad', Env: bad } } }));
      const s = await updateState(id, ['paused'], 'the update pauses');
      assert.match(s.UpdateStatus?.Message ?? '', /paused/);
      await (await api()).ok('DELETE', `/services/${id}`);
    });

    it('rolls back to the old spec with FailureAction rollback', async () => {
      const id = await create(spec('roller', { Mode: { Replicated: { Replicas: 30 } }, UpdateConfig: updateConfig('rollback') }));
      await convergedRunning(id, 30, '30 running');
      await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: 'sim/app:bad', Env: bad } } }));
      const s = await updateState(id, ['rollback_completed'], 'the rollback completes');
      assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, IMAGE);
      const r = await convergedRunning(id, 30, '30 running on the old image');
      assert.ok(r.every((t) => t.Spec.ContainerSpec?.Image === IMAGE));
      await (await api()).ok('DELETE', `/services/${id}`);
    });

    it('carries on past failures with FailureAction continue', async () => {
      const id = await create(spec('stubborn', { Mode: { Replicated: { Replicas: 30 } }, UpdateConfig: updateConfig('continue') }));
      await convergedRunning(id, 30, '30 running');
      await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: 'sim/app:bad', Env: bad } } }));
      await updateState(id, ['completed'], 'the update goes through to the end');
      await (await api()).ok('DELETE', `/services/${id}`);
    });

    it('start-first never drops below 30 running', async () => {
      const id = await create(spec('steady', { Mode: { Replicated: { Replicas: 30 } }, UpdateConfig: updateConfig('pause', 'start-first') }));
      await convergedRunning(id, 30, '30 running');
      await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: 'sim/app:2' } } }));
      let minimum = Infinity;
      await eventually(async () => {
        const ts = await tasksOf(id);
        minimum = Math.min(minimum, ts.filter((t) => t.Status.State === 'running').length);
        const s = await inspect(id);
        return s.UpdateStatus?.State === 'completed' && running(ts).every((t) => t.Spec.ContainerSpec?.Image === 'sim/app:2');
      }, 'the start-first update completes', 120_000);
      assert.ok(minimum >= 30, `at least 30 running throughout (saw ${minimum})`);
      await (await api()).ok('DELETE', `/services/${id}`);
    });

    it('completes when the leader is killed mid-update', async () => {
      const id = await create(spec('survivor', { Mode: { Replicated: { Replicas: 30 } }, UpdateConfig: { ...updateConfig('pause'), Delay: ms(300) } }));
      await convergedRunning(id, 30, '30 running');
      await update(id, (s) => ({ ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: { ...s.TaskTemplate.ContainerSpec!, Image: 'sim/app:3' } } }));
      await eventually(async () => (await tasksOf(id)).some((t) => t.Spec.ContainerSpec?.Image === 'sim/app:3' && t.Status.State === 'running'), 'the update under way');
      let leader: DaemonProcess | undefined;
      for (const d of managers()) {
        const nodes = await d.ok<Node[]>('GET', '/nodes');
        const self = (await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info')).Swarm.NodeID;
        if (nodes.find((n) => n.ID === self)?.ManagerStatus?.Leader) leader = d;
      }
      assert.ok(leader, 'found the leader');
      await leader.kill9();
      await updateState(id, ['completed'], 'the update completes under the new leader');
      const r = await convergedRunning(id, 30, '30 running on the new image');
      assert.ok(r.every((t) => t.Spec.ContainerSpec?.Image === 'sim/app:3'));
      await leader.start();
    });
  });
});
