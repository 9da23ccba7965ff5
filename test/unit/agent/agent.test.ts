// The worker agent with a scripted executor and virtual time: Docker's task
// states driven by assignments and desired state, stop with the task's signal
// and grace period, removal, health polling, coalesced reports, and a restart
// that re-attaches to running tasks instead of starting them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { Agent } from '../../../worker/agent/agent.js';
import { FakeExecutor, FakeSink, full, inc, settle, task } from './fixtures.js';

const log = createLogger({ level: 'silent' });

interface Harness {
  dir: string;
  clock: ManualClock;
  x: FakeExecutor;
  sink: FakeSink;
  agent: Agent;
  /** Advance past the reporter's window and let everything settle. */
  flush(ms?: number): Promise<void>;
  restart(): Promise<void>;
  done(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-agent-'));
  const clock = new ManualClock(1_700_000_000_000);
  const x = new FakeExecutor();
  const sink = new FakeSink();
  const open = async (): Promise<Agent> => {
    const a = await Agent.open({ executor: x, dataDir: dir, clock, logger: log });
    a.setSink(sink);
    return a;
  };
  const h: Harness = {
    dir,
    clock,
    x,
    sink,
    agent: await open(),
    async flush(ms = 50) {
      await settle();
      clock.advance(ms);
      await settle();
    },
    async restart() {
      await h.agent.close();
      h.agent = await open();
      await settle();
    },
    async done() {
      await h.agent.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

function stateOf(a: Agent, id: string): string | undefined {
  return a.tasks().find((t) => t.task.ID === id)?.status.State;
}

test('an assigned task goes accepted, preparing, ready, starting, running, with one report per window', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('t1')]));
  await settle();
  assert.equal(stateOf(h.agent, 't1'), 'running');
  assert.deepEqual(h.x.ops('t1'), ['prepare', 'start', 'wait']);
  assert.deepEqual(h.sink.sent, [], 'nothing before the reporter window ends');
  await h.flush();
  assert.deepEqual(h.sink.states('t1'), ['running'], 'the states within one window coalesce into the last');
  assert.equal(h.sink.last('t1')?.status.Message, 'started');
  // The process exits on its own.
  h.x.exit('t1', 0);
  await h.flush();
  assert.deepEqual(h.sink.states('t1'), ['running', 'complete']);
  assert.equal(h.sink.last('t1')?.status.ContainerStatus?.ExitCode, 0);
  await h.done();
});

test('desired ready prepares without starting; desired running then starts', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('t1', 'ready')]));
  await h.flush();
  assert.equal(stateOf(h.agent, 't1'), 'ready');
  assert.deepEqual(h.x.ops('t1'), ['prepare']);
  h.agent.onAssignments(inc([task('t1', 'running')]));
  await h.flush();
  assert.equal(stateOf(h.agent, 't1'), 'running');
  assert.deepEqual(h.sink.states('t1'), ['ready', 'running']);
  await h.done();
});

test('a failing prepare rejects the task with the error; a failing start fails it; a non-zero exit fails it', async () => {
  const h = await harness();
  h.x.failPrepare.set('bad-image', 'image sim/app:2: manifest unknown');
  h.x.failStart.set('bad-start', 'exec format error');
  h.agent.onAssignments(full([task('bad-image'), task('bad-start'), task('crash')]));
  await h.flush();
  const rej = h.sink.last('bad-image')!;
  assert.deepEqual([rej.status.State, rej.status.Err], ['rejected', 'image sim/app:2: manifest unknown']);
  assert.deepEqual(h.x.ops('bad-image'), ['prepare'], 'never started');
  assert.deepEqual([h.sink.last('bad-start')?.status.State, h.sink.last('bad-start')?.status.Err], ['failed', 'exec format error']);
  h.x.exit('crash', 3, 'out of cheese');
  await h.flush();
  const crash = h.sink.last('crash')!;
  assert.equal(crash.status.State, 'failed');
  assert.equal(crash.status.ContainerStatus?.ExitCode, 3);
  assert.equal(crash.status.Err, 'task: non-zero exit (3): out of cheese');
  await h.done();
});

test('desired shutdown stops the task with its StopSignal and StopGracePeriod, then reports shutdown', async () => {
  const h = await harness();
  const custom = task('custom', 'running', { StopSignal: 'SIGINT', StopGracePeriod: 2.5e9 });
  h.agent.onAssignments(full([custom, task('plain')]));
  await h.flush();
  h.x.stopExitCode = 143;
  h.agent.onAssignments(inc([{ ...custom, DesiredState: 'shutdown' }, task('plain', 'shutdown')]));
  await h.flush();
  assert.deepEqual(
    h.x.calls.filter((c) => c.op === 'stop'),
    [
      { op: 'stop', id: 'custom', signal: 'SIGINT', graceMs: 2500 },
      { op: 'stop', id: 'plain', signal: 'SIGTERM', graceMs: 10_000 },
    ],
  );
  for (const id of ['custom', 'plain']) {
    assert.equal(h.sink.last(id)?.status.State, 'shutdown', `${id} is shut down, whatever its exit code`);
  }
  assert.deepEqual(h.x.ops('plain'), ['prepare', 'start', 'wait', 'stop'], 'stopped tasks are kept until removed (task history)');
  await h.done();
});

test('desired shutdown before the task ran: shutdown without stopping anything', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('t1', 'ready')]));
  await h.flush();
  h.agent.onAssignments(inc([task('t1', 'shutdown')]));
  await h.flush();
  assert.equal(stateOf(h.agent, 't1'), 'shutdown');
  assert.deepEqual(h.x.ops('t1'), ['prepare']);
  await h.done();
});

test('a task removed from the assignments is stopped, removed and forgotten; desired remove removes but waits for the deletion', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('gone'), task('rm')]));
  await h.flush();
  h.agent.onAssignments(inc([task('rm', 'remove')], ['gone']));
  await h.flush();
  assert.deepEqual(h.x.ops('gone'), ['prepare', 'start', 'wait', 'stop', 'remove']);
  assert.deepEqual(h.x.ops('rm'), ['prepare', 'start', 'wait', 'stop', 'remove']);
  assert.deepEqual(
    h.agent.tasks().map((t) => [t.task.ID, t.status.State, t.removed]),
    [['rm', 'shutdown', true]],
  );
  // A full set without it: gone for good.
  h.agent.onAssignments(full([]));
  await h.flush();
  assert.deepEqual(h.agent.tasks(), []);
  assert.deepEqual(h.x.ops('rm'), ['prepare', 'start', 'wait', 'stop', 'remove'], 'not removed twice');
  await h.done();
});

test('health is polled while a task runs: starting first, then what the executor says; unhealthy ends the task', async () => {
  const h = await harness();
  const hc = { HealthCheck: { Test: ['CMD', 'true'], Interval: 5e9 } };
  h.agent.onAssignments(full([task('hc', 'running', hc), task('plain')]));
  await h.flush();
  assert.equal(h.sink.last('hc')?.health, 'starting');
  assert.equal(h.sink.last('plain')?.health, undefined, 'no healthcheck, no health');
  h.x.healthOf.set('hc', 'healthy');
  await h.flush(1000); // polled every second while starting
  await h.flush();
  assert.equal(h.sink.last('hc')?.health, 'healthy');
  const polls = (id: string): number => h.x.calls.filter((c) => c.op === 'health' && c.id === id).length;
  const before = polls('hc');
  for (let i = 0; i < 4; i++) await h.flush(1000);
  // The executor runs the checks itself; the runner reads the result at most a second apart.
  assert.equal(polls('hc'), before + 4, 'read every second, not at the 5 s check interval');
  assert.equal(polls('plain'), 1, 'asked once: the executor has no healthcheck for it, so it is not asked again');
  h.x.healthOf.set('hc', 'unhealthy');
  await h.flush(1000);
  await h.flush();
  assert.equal(h.sink.last('hc')?.health, 'unhealthy');
  // swarmkit ends an unhealthy container; the task fails and the restart policy replaces it.
  assert.ok(h.x.ops('hc').includes('stop'), 'the unhealthy container is stopped');
  assert.equal(stateOf(h.agent, 'hc'), 'failed');
  assert.equal(h.sink.last('hc')?.status.Err, 'unhealthy container');
  const after = polls('hc');
  await h.flush(60_000);
  assert.equal(polls('hc'), after, 'polling ends with the task');
  await h.done();
});

test('a sink that refuses keeps the reports (one per task) until it is writable again', async () => {
  const h = await harness();
  h.sink.accept = false;
  h.agent.onAssignments(full([task('a'), task('b')]));
  await h.flush();
  assert.equal(h.sink.sent.length, 0);
  h.x.exit('a', 0);
  await h.flush();
  h.sink.accept = true;
  h.agent.onWritable();
  assert.deepEqual(h.sink.sent.flat().map((r) => [r.taskId, r.status.State]).sort(), [
    ['a', 'complete'],
    ['b', 'running'],
  ]);
  await h.done();
});

test('after a reconnect, the full set says what the store missed, and the agent reports it again', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('t1')]));
  await h.flush();
  const sent = h.sink.sent.length;
  h.agent.onConnected();
  // The new leader's store still says assigned (the old leader died with the report).
  h.agent.onAssignments(full([task('t1')]));
  await h.flush();
  assert.deepEqual(h.sink.sent.slice(sent).flat().map((r) => r.status.State), ['running']);
  // A store that already knows says nothing new: no report.
  h.agent.onAssignments(full([task('t1', 'running', {}, 'running')]));
  await h.flush();
  assert.equal(h.sink.sent.length, sent + 1);
  await h.done();
});

test('a full set arriving in chunks is applied once complete; tasks missing from it are removed', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('old')]));
  await h.flush();
  h.agent.onAssignments({ type: 'assignments', full: true, last: false, tasks: [task('n1')], removed: [] });
  await h.flush();
  assert.deepEqual(h.x.ops('old'), ['prepare', 'start', 'wait'], 'not yet: the set is incomplete');
  h.agent.onAssignments({ type: 'assignments', full: true, last: true, tasks: [task('n2')], removed: [] });
  await h.flush();
  assert.deepEqual(h.agent.tasks().map((t) => t.task.ID).sort(), ['n1', 'n2']);
  assert.deepEqual(h.x.ops('old'), ['prepare', 'start', 'wait', 'stop', 'remove']);
  await h.done();
});

test('records survive a restart: running tasks are re-attached, not started again; exits meanwhile are reported', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('keeps'), task('ends'), task('prep', 'ready')]));
  await h.flush();
  await h.agent.close();
  const saved = JSON.parse(await readFile(join(h.dir, 'tasks.json'), 'utf8')) as { tasks: Array<{ task: { ID: string } }> };
  assert.equal(saved.tasks.length, 3);
  // While the agent is down, one process exits.
  h.x.exit('ends', 7);
  const calls = h.x.calls.length;
  await h.restart();
  await h.flush();
  const after = h.x.calls.slice(calls).map((c) => `${c.op}:${c.id}`);
  assert.ok(!after.includes('start:keeps') && !after.includes('prepare:keeps'), `no restart of a running task: ${after.join(' ')}`);
  assert.ok(after.includes('wait:keeps'), 're-attached');
  assert.equal(stateOf(h.agent, 'keeps'), 'running');
  assert.equal(stateOf(h.agent, 'ends'), 'failed');
  assert.equal(h.sink.last('ends')?.status.ContainerStatus?.ExitCode, 7);
  assert.equal(stateOf(h.agent, 'prep'), 'ready');
  // The leader's assignments then carry on from there.
  h.agent.onAssignments(full([task('keeps', 'running', {}, 'running'), task('prep')]));
  await h.flush();
  assert.equal(stateOf(h.agent, 'prep'), 'running');
  assert.equal(h.x.calls.filter((c) => c.op === 'start' && c.id === 'keeps').length, 1);
  await h.done();
});

test('a task the store says runs but this node has no record of: re-attached if the executor runs it, failed if not', async () => {
  const h = await harness();
  h.x.adopt('alive');
  h.agent.onAssignments(full([task('alive', 'running', {}, 'running'), task('lost', 'running', {}, 'running')]));
  await h.flush();
  assert.equal(stateOf(h.agent, 'alive'), 'running');
  assert.deepEqual(h.x.ops('alive'), ['wait']);
  assert.equal(stateOf(h.agent, 'lost'), 'failed');
  assert.match(h.sink.last('lost')?.status.Err ?? '', /no such container/);
  await h.done();
});

test('after the first full set, processes of tasks nobody assigns any more are stopped and removed', async () => {
  const h = await harness();
  h.x.adopt('orphan');
  h.agent.onAssignments(full([task('t1')]));
  await h.flush();
  assert.deepEqual(h.x.ops('orphan'), ['stop', 'remove']);
  await h.done();
});

test('leave stops and removes every task and the records', async () => {
  const h = await harness();
  h.agent.onAssignments(full([task('a'), task('b', 'ready')]));
  await h.flush();
  await h.agent.leave();
  assert.deepEqual(await h.x.running(), []);
  assert.deepEqual(h.x.ops('a').slice(-2), ['stop', 'remove']);
  await assert.rejects(readFile(join(h.dir, 'tasks.json')), /ENOENT/);
  await rm(h.dir, { recursive: true, force: true });
});
