// The manager's broker: tasks from the store (history included), one stream per node,
// lines merged by time across nodes, a down node as a warning, and a followed service's new tasks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogBroker } from '../../../manager/logs/broker.js';
import type { LogEvent, LogNode, LogsQuery } from '../../../manager/logs/types.js';
import type { Draft } from '../../../manager/store/transaction.js';
import type { MessageStream } from '../../../shared/p2p/host.js';
import type { TaskRecord, TaskState } from '../../../shared/model/index.js';
import { PROTOCOL_LOGS } from '../../../shared/protocol/logs.js';
import { serveLogStream } from '../../../worker/agent/log-server.js';
import { localStreamPair } from '../../../worker/agent/local-stream.js';
import { FakeExecutor, task as agentTask } from '../agent/fixtures.js';
import { Harness, silent } from '../orchestrator/harness.js';

const at = (s: number): string => new Date(Date.UTC(2024, 4, 1, 12, 0, s)).toISOString();
const ALL: LogsQuery = { follow: false, stdout: true, stderr: true };

function taskDraft(id: string, node: string, state: TaskState = 'running', slot = 1): Draft<TaskRecord> {
  return {
    ID: id,
    Name: `web.${slot}`,
    ServiceID: 'web',
    Slot: slot,
    NodeID: node,
    Spec: { ContainerSpec: { Image: 'sim/app:1' } },
    Status: { Timestamp: at(0), State: state, Message: state },
    DesiredState: state === 'running' ? 'running' : 'shutdown',
    Internal: { SpecVersion: 1 },
  };
}

/** A swarm of nodes n1..n3, each with its own scripted executor, reached through in-process streams. */
async function setup(): Promise<{ h: Harness; nodes: Map<string, FakeExecutor>; opened: string[]; broker: LogBroker }> {
  const h = new Harness();
  await h.seed({ nodes: ['n1', 'n2', 'n3'] });
  await h.createService('web', { Mode: { Replicated: { Replicas: 2 } } });
  const nodes = new Map(['n1', 'n2', 'n3'].map((n) => [n, new FakeExecutor()]));
  const opened: string[] = [];
  const open = (node: LogNode): Promise<MessageStream> => {
    opened.push(node.nodeId);
    const [mine, theirs] = localStreamPair(node.peerId, 'manager', { protocol: PROTOCOL_LOGS });
    void serveLogStream(theirs, nodes.get(node.nodeId)!, { logger: silent, batchDelayMs: 1 });
    return Promise.resolve(mine);
  };
  return { h, nodes, opened, broker: new LogBroker({ store: h.store, open, logger: silent }) };
}

/** Poll until `cond` holds; fail saying what did not happen. */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function collect(events: AsyncIterable<LogEvent>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of events) out.push(e.kind === 'warning' ? `warning: ${e.message}` : `${e.nodeId}/${e.taskId}/${e.stream}: ${Buffer.from(e.line).toString().trimEnd()}`);
  return out;
}

describe('log broker', () => {
  it('asks each node once for its tasks, history included, and merges their lines by time', async () => {
    const { h, nodes, opened, broker } = await setup();
    await h.store.update((t) => {
      t.tasks.create(taskDraft('t1', 'n1'));
      t.tasks.create(taskDraft('t2', 'n2', 'running', 2));
      t.tasks.create(taskDraft('old1', 'n1', 'shutdown'));
      t.tasks.create({ ...taskDraft('pending', 'n1', 'pending'), NodeID: undefined });
    });
    const n1 = nodes.get('n1')!;
    const n2 = nodes.get('n2')!;
    for (const id of ['t1', 'old1']) void n1.start(agentTask(id));
    void n2.start(agentTask('t2'));
    n1.write('old1', 'stdout', 'old line\n', at(1));
    n2.write('t2', 'stdout', 't2 first\n', at(2));
    n1.write('t1', 'stderr', 't1 err\n', at(3));
    n2.write('t2', 'stdout', 't2 second\n', at(4));

    const lines = await collect(await broker.open({ kind: 'service', ref: 'web' }, ALL, new AbortController().signal));
    assert.deepEqual(lines, ['n1/old1/stdout: old line', 'n2/t2/stdout: t2 first', 'n1/t1/stderr: t1 err', 'n2/t2/stdout: t2 second']);
    assert.deepEqual(opened.sort(), ['n1', 'n2'], 'one stream per node that ran a task; none for the pending task');

    const one = await collect(await broker.open({ kind: 'task', ref: 't2' }, { ...ALL, tail: 1 }, new AbortController().signal));
    assert.deepEqual(one, ['n2/t2/stdout: t2 second']);
  });

  it('a down node is a warning and the other nodes still answer', async () => {
    const { h, nodes, opened, broker } = await setup();
    await h.store.update((t) => {
      t.tasks.create(taskDraft('t1', 'n1'));
      t.tasks.create(taskDraft('t3', 'n3', 'running', 2));
      t.tasks.create(taskDraft('gone', 'n9', 'shutdown'));
    });
    await h.updateNode('n3', (n) => ({ ...n, Status: { ...n.Status, State: 'down' } }));
    void nodes.get('n1')!.start(agentTask('t1'));
    nodes.get('n1')!.write('t1', 'stdout', 'still here\n', at(1));
    const lines = await collect(await broker.open({ kind: 'service', ref: 'web' }, ALL, new AbortController().signal));
    assert.deepEqual(lines.filter((l) => l.startsWith('warning')).sort(), ['warning: node host-n3 is not available', 'warning: node n9 is not available']);
    assert.deepEqual(lines.filter((l) => !l.startsWith('warning')), ['n1/t1/stdout: still here']);
    assert.deepEqual(opened, ['n1']);
  });

  it('a node that cannot be reached is a warning', async () => {
    const h = new Harness();
    await h.seed({ nodes: ['n1'] });
    await h.createService('web', {});
    await h.store.update((t) => t.tasks.create(taskDraft('t1', 'n1')));
    const broker = new LogBroker({ store: h.store, open: () => Promise.reject(new Error('cannot reach node host-n1: connection refused')), logger: silent });
    const lines = await collect(await broker.open({ kind: 'task', ref: 't1' }, ALL, new AbortController().signal));
    assert.deepEqual(lines, ['warning: node host-n1 is not available (cannot reach node host-n1: connection refused)']);
  });

  it('an unknown target fails before any line, with the API’s 404', async () => {
    const { broker } = await setup();
    await assert.rejects(broker.open({ kind: 'service', ref: 'nope' }, ALL, new AbortController().signal), { status: 404, message: 'service nope not found' } as object);
    await assert.rejects(broker.open({ kind: 'task', ref: 'nope' }, ALL, new AbortController().signal), { status: 404 } as object);
  });

  it('following a service: new lines as they come, new tasks as they start, and everything stops on abort', async () => {
    const { h, nodes, broker } = await setup();
    await h.store.update((t) => t.tasks.create(taskDraft('t1', 'n1')));
    void nodes.get('n1')!.start(agentTask('t1'));
    const ac = new AbortController();
    const seen: string[] = [];
    const events = await broker.open({ kind: 'service', ref: 'web' }, { ...ALL, follow: true }, ac.signal);
    const done = (async () => {
      for await (const e of events) seen.push(e.kind === 'warning' ? `warning: ${e.message}` : `${e.nodeId}/${e.taskId}: ${Buffer.from(e.line).toString().trimEnd()}`);
    })();
    nodes.get('n1')!.write('t1', 'stdout', 'one\n', at(1));
    await until(() => seen.includes('n1/t1: one'), 'the first line arrives while following');
    // A task assigned to n2 after the request: picked up once its container exists (ready and on).
    await h.store.update((t) => t.tasks.create(taskDraft('t2', 'n2', 'assigned', 2)));
    void nodes.get('n2')!.start(agentTask('t2'));
    nodes.get('n2')!.write('t2', 'stdout', 'two\n', at(2));
    const t2 = h.memory.get('tasks', 't2')!;
    await h.store.update((t) => t.tasks.update({ ...t2, Status: { ...t2.Status, State: 'running' } }));
    await until(() => seen.includes('n2/t2: two'), "the new task's line arrives");
    nodes.get('n1')!.write('t1', 'stdout', 'three\n', at(3));
    await until(() => seen.includes('n1/t1: three'), 'a later line of the first task arrives');
    ac.abort();
    await done;
    assert.deepEqual(seen, ['n1/t1: one', 'n2/t2: two', 'n1/t1: three']);
    assert.equal(h.memory.watchers, 0, 'the store watch was closed');
  });
});
