// Assignments end to end, without a Manager: a store (MemoryStore with a
// perfect-Raft FakeProposer) and the dispatcher on one libp2p host, an agent
// with the sim executor and its session on another, over loopback. Tasks are
// written to the store as the scheduler would leave them; the test watches
// them run, report back, stop and go, and the session survive a restart of
// the agent and a leadership change.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { TaskRecord } from '../../../shared/model/index.js';
import type { ManagerPeer } from '../../../shared/protocol/cluster.js';
import { MAX_DISPATCH_MESSAGE_BYTES, PROTOCOL_DISPATCH, type SessionInfo } from '../../../shared/protocol/dispatch.js';
import { Dispatcher } from '../../../manager/dispatcher/dispatcher.js';
import { HeartbeatTracker } from '../../../manager/dispatcher/heartbeats.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import type { Tx } from '../../../manager/store/tx-builder.js';
import { Agent } from '../../../worker/agent/agent.js';
import { AgentSession } from '../../../worker/agent/session.js';
import { SimExecutor } from '../../../worker/executor/sim/sim-executor.js';
import { eventually, makeHost, stopAllHosts, type TestHost } from '../p2p/hosts.js';
import { clusterDraft, FakeProposer, nodeDraft } from '../store/fixtures.js';
import { taskDraft } from './fixtures.js';

const log = createLogger({ level: 'silent' });
const PERIOD_MS = 200;
// Real hosts on loopback and real timers: what never happens must fail the
// test, not hang it; a rig such a test left behind is destroyed afterwards,
// or its hosts and timers would keep the file's process alive.
const LIMIT = { timeout: 60_000 };
const rigs = new Set<Rig>();
after(async () => {
  for (const r of rigs) await r.destroy();
  await stopAllHosts();
});

interface Worker {
  executor: SimExecutor;
  agent: Agent;
  session: AgentSession;
  updates: SessionInfo[];
  removed: number;
}

class Rig {
  readonly clock = new SystemClock();
  readonly memory = new MemoryStore();
  readonly store = new ReplicatedStore(this.memory, new FakeProposer([this.memory]), this.clock);
  readonly tracker = new HeartbeatTracker();
  dispatcher!: Dispatcher;
  leader!: ManagerPeer;
  worker!: Worker;

  private constructor(
    readonly mgr: TestHost,
    readonly wrk: TestHost,
    readonly dir: string,
  ) {}

  static async create(): Promise<Rig> {
    const r = new Rig(await makeHost(), await makeHost(), await mkdtemp(join(tmpdir(), 'shoal-dispatch-')));
    r.leader = { nodeId: 'm1', peerId: r.mgr.host.peerId, addr: r.mgr.target.addr, raftId: 1 };
    await r.store.update((t) => {
      t.create('cluster', clusterDraft());
      t.create('nodes', nodeDraft('m1', { peer: r.mgr.host.peerId, raftId: 1, role: 'manager' }));
      t.create('nodes', nodeDraft('n1', { peer: r.wrk.host.peerId }));
    });
    r.dispatcher = new Dispatcher({
      memory: r.memory,
      tracker: r.tracker,
      clock: r.clock,
      log,
      leader: () => r.leader,
      managers: () => [r.leader],
      heartbeatPeriodMs: () => PERIOD_MS,
    });
    r.mgr.host.handleStream(PROTOCOL_DISPATCH, (s, ctx) => void r.dispatcher.serve(s, ctx.peerId), { maxMessageBytes: MAX_DISPATCH_MESSAGE_BYTES });
    r.lead();
    rigs.add(r);
    return r;
  }

  lead(): void {
    this.dispatcher.start({ store: this.store, memory: this.memory, clock: this.clock, log });
  }

  /** The worker daemon's side: executor, agent and session on the data root. */
  async startWorker(): Promise<Worker> {
    const executor = await SimExecutor.open({ dataDir: join(this.dir, 'sim'), clock: this.clock, logger: log });
    const agent = await Agent.open({ executor, dataDir: join(this.dir, 'agent'), clock: this.clock, logger: log });
    const w: Worker = { executor, agent, session: undefined!, updates: [], removed: 0 };
    w.session = new AgentSession({
      nodeId: 'n1',
      net: this.wrk.host,
      managers: () => [this.leader],
      local: () => undefined,
      onUpdate: (u) => void w.updates.push(u),
      onManagers: () => undefined,
      onRemoved: () => void w.removed++,
      listener: agent,
      clock: this.clock,
      logger: log,
      initialPeriodMs: PERIOD_MS,
    });
    agent.setSink(w.session);
    w.session.start();
    this.worker = w;
    return w;
  }

  async stopWorker(): Promise<void> {
    const w = this.worker;
    w.session.stop();
    await w.agent.close();
    await w.executor.close();
  }

  task(id: string): TaskRecord | undefined {
    return this.memory.get('tasks', id);
  }

  async write(build: (t: Tx) => unknown): Promise<void> {
    await this.store.update(build);
  }

  async until(id: string, state: TaskRecord['Status']['State'], timeoutMs = 5000): Promise<TaskRecord> {
    await eventually(() => this.task(id)?.Status.State === state, `task ${id} reaches ${state} (it is ${this.task(id)?.Status.State})`, timeoutMs);
    return this.task(id)!;
  }

  async destroy(): Promise<void> {
    if (!rigs.delete(this)) return;
    await this.stopWorker().catch(() => undefined);
    await this.dispatcher.stop();
    await this.wrk.host.stop();
    await this.mgr.host.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

test('tasks placed on the node run and report back; shutdown, deletion, failures and health come through', LIMIT, async () => {
  const r = await Rig.create();
  try {
    await r.write((t) => t.create('tasks', taskDraft('before')));
    const w = await r.startWorker();
    await r.until('before', 'running');
    assert.equal(w.updates[0]?.heartbeatPeriodMs, PERIOD_MS);
    assert.equal(r.dispatcher.sessionCount(), 1);

    await r.write((t) => {
      t.create('tasks', taskDraft('after'));
      t.create('tasks', taskDraft('crash', { env: ['SHOAL_SIM_RUN_MS=100', 'SHOAL_SIM_EXIT_CODE=3'] }));
      t.create('tasks', taskDraft('badimage', { env: ['SHOAL_SIM_PREPARE_ERROR=image sim/app:2: manifest unknown'] }));
      t.create('tasks', taskDraft('hc', { env: ['SHOAL_SIM_HEALTH=healthy-after-300'], container: { HealthCheck: { Test: ['CMD', 'true'], Interval: 100e6 } } }));
      t.create('tasks', taskDraft('job', { DesiredState: 'complete', env: ['SHOAL_SIM_RUN_MS=50'] }));
      t.create('tasks', taskDraft('pending', { Status: { Timestamp: 'x', State: 'pending', Message: 'no suitable node' } }));
    });
    await r.until('after', 'running');
    const crash = await r.until('crash', 'failed');
    assert.equal(crash.Status.ContainerStatus?.ExitCode, 3);
    assert.equal(crash.Status.Err, 'task: non-zero exit (3)');
    assert.equal((await r.until('badimage', 'rejected')).Status.Err, 'image sim/app:2: manifest unknown');
    await r.until('job', 'complete');
    await eventually(() => r.task('hc')?.Internal.Health === 'healthy', 'the healthcheck task becomes healthy');
    assert.equal(r.task('hc')?.Status.State, 'running');
    assert.equal(r.task('pending')?.Status.State, 'pending', 'a task the scheduler has not placed is not the agent\'s');
    assert.equal(r.tracker.heard('n1'), true, 'heartbeats reach the tracker');

    // Desired shutdown: stopped and reported.
    const before = r.task('before')!;
    await r.write((t) => t.update('tasks', { ...before, DesiredState: 'shutdown' }, before.Version.Index));
    await r.until('before', 'shutdown');
    assert.ok(!(await w.executor.running()).includes('before'));
    // Deleted from the store: stopped, removed, forgotten by the agent.
    await r.write((t) => t.delete('tasks', 'after'));
    await eventually(() => !w.agent.tasks().some((x) => x.task.ID === 'after'), 'the agent forgets the deleted task');
    assert.ok(!(await w.executor.running()).includes('after'));
    const stats = r.dispatcher.statusStats()!;
    assert.ok(stats.proposals < stats.written, `reports are batched: ${stats.written} task writes in ${stats.proposals} proposals`);
  } finally {
    await r.destroy();
  }
});

test('a restarted agent re-attaches to its running tasks instead of starting them again', LIMIT, async () => {
  const r = await Rig.create();
  try {
    await r.write((t) => {
      t.create('tasks', taskDraft('a'));
      t.create('tasks', taskDraft('b'));
    });
    await r.startWorker();
    const a = await r.until('a', 'running');
    await r.until('b', 'running');
    await r.stopWorker();
    await eventually(() => r.dispatcher.sessionCount() === 0, 'the old session ends');
    const w = await r.startWorker();
    assert.deepEqual((await w.executor.running()).sort(), ['a', 'b'], 'still running before any session');
    await eventually(() => r.dispatcher.sessionCount() === 1 && w.session.connected, 'the new session is up');
    // A change after the restart still goes through.
    const b = r.task('b')!;
    await r.write((t) => t.update('tasks', { ...b, DesiredState: 'shutdown' }, b.Version.Index));
    await r.until('b', 'shutdown');
    assert.equal(r.task('a')?.Status.Timestamp, a.Status.Timestamp, 'a was not started again');
    assert.equal(w.agent.tasks().find((x) => x.task.ID === 'a')?.status.State, 'running');
  } finally {
    await r.destroy();
  }
});

test('when the dispatcher stops leading, sessions end; when it leads again, the agent comes back and catches up', LIMIT, async () => {
  const r = await Rig.create();
  try {
    const w = await r.startWorker();
    await eventually(() => w.session.connected, 'session up');
    await r.dispatcher.stop();
    await eventually(() => !w.session.connected, 'the agent sees the session end');
    // Written while nobody leads; the next leader's full set carries it.
    await r.write((t) => t.create('tasks', taskDraft('meanwhile')));
    r.lead();
    await r.until('meanwhile', 'running');
    assert.equal(r.dispatcher.sessionCount(), 1);
  } finally {
    await r.destroy();
  }
});

test('a node whose record is deleted is told so, and its session ends', LIMIT, async () => {
  const r = await Rig.create();
  try {
    const w = await r.startWorker();
    await eventually(() => w.session.connected, 'session up');
    await r.write((t) => t.delete('nodes', 'n1'));
    await eventually(() => w.removed === 1, 'the agent hears it was removed');
    assert.equal(r.dispatcher.sessionCount(), 0);
  } finally {
    await r.destroy();
  }
});
