// One agent's session on the leader: the full set then increments, what is
// and is not worth telling the agent, and bounded memory when the agent does
// not read (changes coalesce per task; past the limit, a full set instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { MessageStream } from '../../../shared/p2p/host.js';
import { parseManagerMessage, type AssignmentsMessage, type ManagerMessage } from '../../../shared/protocol/dispatch.js';
import { NodeSession } from '../../../manager/dispatcher/node-session.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { localStreamPair } from '../../../worker/agent/local-stream.js';
import { FakeProposer, nodeDraft } from '../store/fixtures.js';
import { taskDraft } from './fixtures.js';

const log = createLogger({ level: 'silent' });

async function setup(opts: { highWater?: number; maxDirty?: number; chunk?: number } = {}) {
  const clock = new ManualClock(0);
  const memory = new MemoryStore();
  const store = new ReplicatedStore(memory, new FakeProposer([memory]), clock);
  await store.update((t) => t.create('nodes', nodeDraft('n1')));
  const [agentEnd, managerEnd] = localStreamPair('mgr', 'agent', { highWater: opts.highWater ?? 1000 });
  const session = new NodeSession({
    nodeId: 'n1',
    peerId: 'peer-n1',
    stream: managerEnd,
    view: memory,
    info: () => ({ role: 'worker', raftId: 0, managers: [], heartbeatPeriodMs: 5000 }),
    log,
    now: 0,
    ...(opts.maxDirty !== undefined ? { maxDirty: opts.maxDirty } : {}),
    ...(opts.chunk !== undefined ? { chunk: opts.chunk } : {}),
  });
  /** Store writes, each followed by the change notice the dispatcher would give. */
  const write = async (build: Parameters<ReplicatedStore['update']>[0]): Promise<void> => {
    const r = await store.update(build);
    for (const o of r.objects) session.taskChanged(o.ID);
  };
  return { memory, store, session, inbox: new Inbox(agentEnd), write };
}

/** The agent's end, read by the test: next() waits for a message, drain() takes what has arrived. */
class Inbox {
  private pending: Promise<IteratorResult<unknown, undefined>> | undefined;
  constructor(private readonly end: MessageStream) {}

  async next(): Promise<ManagerMessage | undefined> {
    this.pending ??= this.end.read();
    const r = await this.pending;
    this.pending = undefined;
    return r.done ? undefined : parseManagerMessage(r.value);
  }

  async drain(): Promise<ManagerMessage[]> {
    const out: ManagerMessage[] = [];
    for (;;) {
      this.pending ??= this.end.read();
      const r = await Promise.race([this.pending, new Promise<'idle'>((resolve) => setImmediate(() => resolve('idle')))]);
      if (r === 'idle') return out;
      this.pending = undefined;
      if (r.done) return out;
      out.push(parseManagerMessage(r.value));
    }
  }
}

const assignments = (ms: ManagerMessage[]): AssignmentsMessage[] => ms.filter((m): m is AssignmentsMessage => m.type === 'assignments');

test('session info, then the full set in chunks (assigned and later only), then nothing until something changes', async () => {
  const s = await setup({ chunk: 2 });
  await s.write((t) => {
    for (const id of ['a', 'b', 'c']) t.create('tasks', taskDraft(id));
    t.create('tasks', taskDraft('pending', { Status: { Timestamp: 'x', State: 'pending', Message: '' } }));
    t.create('tasks', taskDraft('elsewhere', { NodeID: 'n2' }));
  });
  s.session.pump();
  const got = await s.inbox.drain();
  assert.equal(got[0]?.type, 'session');
  const a = assignments(got);
  assert.deepEqual(
    a.map((m) => [m.full, m.last, m.tasks.map((t) => t.ID)]),
    [
      [true, false, ['a', 'b']],
      [true, true, ['c']],
    ],
  );
  assert.equal((a[0]!.tasks[0] as unknown as Record<string, unknown>)['Internal'], undefined, 'Internal stays on the managers');
  s.session.pump();
  assert.deepEqual(await s.inbox.drain(), []);
});

test('an empty node still gets a (empty) full set, so the agent knows it runs nothing', async () => {
  const s = await setup();
  s.session.pump();
  const a = assignments(await s.inbox.drain());
  assert.deepEqual(a, [{ type: 'assignments', full: true, last: true, tasks: [], removed: [] }]);
});

test('increments: desired-state changes are sent, the agent\'s own status reports are not echoed, removals are', async () => {
  const s = await setup();
  await s.write((t) => {
    t.create('tasks', taskDraft('a'));
    t.create('tasks', taskDraft('b'));
    t.create('tasks', taskDraft('c'));
  });
  s.session.pump();
  await s.inbox.drain();
  const a = s.memory.get('tasks', 'a')!;
  const b = s.memory.get('tasks', 'b')!;
  const c = s.memory.get('tasks', 'c')!;
  await s.write((t) => {
    t.update('tasks', { ...a, Status: { Timestamp: 'y', State: 'running', Message: 'started' } }, a.Version.Index);
    t.update('tasks', { ...b, DesiredState: 'shutdown' }, b.Version.Index);
    t.update('tasks', { ...c, NodeID: 'n2' }, c.Version.Index);
    t.create('tasks', taskDraft('d'));
    t.create('tasks', taskDraft('never-here', { NodeID: 'n2' }));
  });
  s.session.pump();
  const inc = assignments(await s.inbox.drain());
  assert.equal(inc.length, 1);
  assert.deepEqual([inc[0]!.full, inc[0]!.tasks.map((t) => t.ID).sort(), inc[0]!.removed], [false, ['b', 'd'], ['c']]);
  assert.equal(inc[0]!.tasks.find((t) => t.ID === 'b')?.DesiredState, 'shutdown');
  await s.write((t) => t.delete('tasks', 'b'));
  s.session.pump();
  assert.deepEqual(assignments(await s.inbox.drain()).map((m) => m.removed), [['b']]);
  assert.equal(s.session.backlog.known, 2);
});

test('a heartbeat is answered with the info even when unchanged; a possible change is sent only when real', async () => {
  const s = await setup();
  s.session.pump();
  await s.inbox.drain();
  s.session.infoMayHaveChanged();
  s.session.pump();
  assert.deepEqual(await s.inbox.drain(), []);
  s.session.heartbeat(10);
  s.session.pump();
  assert.deepEqual((await s.inbox.drain()).map((m) => m.type), ['session']);
  assert.equal(s.session.lastSeen, 10);
});

test('an agent that does not read costs one entry per changed task, and past the limit a full set replaces them', async () => {
  const s = await setup({ highWater: 2, maxDirty: 50, chunk: 10 });
  await s.write((t) => {
    for (let i = 0; i < 30; i++) t.create('tasks', taskDraft(`t${i}`));
  });
  s.session.pump(); // info and the first chunk fill the agent's window
  // Many changes to the same few tasks: one entry each.
  for (let round = 0; round < 5; round++) {
    await s.write((t) => {
      for (let i = 0; i < 5; i++) {
        const cur = s.memory.get('tasks', `t${i}`)!;
        t.update('tasks', { ...cur, Spec: { ...cur.Spec, ForceUpdate: round } }, cur.Version.Index);
      }
    });
  }
  assert.equal(s.session.backlog.changed, 5);
  // More distinct changes than the limit: the list is dropped for a full set.
  await s.write((t) => {
    for (let i = 30; i < 90; i++) t.create('tasks', taskDraft(`t${i}`));
  });
  assert.deepEqual([s.session.backlog.changed, s.session.backlog.fullSetDue], [0, true]);

  // The agent reads again: the first full set finishes, then a second one has everything as it is now.
  const got: AssignmentsMessage[] = [];
  for (;;) {
    const m = await s.inbox.next();
    if (m === undefined) break;
    if (m.type !== 'assignments') continue;
    got.push(m);
    if (got.filter((x) => x.full && x.last).length === 2) break;
  }
  const lastFull = got.slice(got.findIndex((m) => m.full && m.last) + 1);
  assert.ok(lastFull.every((m) => m.full));
  const ids = lastFull.flatMap((m) => m.tasks.map((t) => t.ID));
  assert.equal(ids.length, 90);
  assert.equal(lastFull.flatMap((m) => m.tasks).find((t) => t.ID === 't0')?.Spec.ForceUpdate, 4);
  s.session.pump();
  assert.deepEqual(await s.inbox.drain(), []);
});

test('finish sends last words and closes; nothing is sent after', async () => {
  const s = await setup();
  s.session.finish({ type: 'removed' });
  const got = await s.inbox.drain();
  assert.deepEqual(got, [{ type: 'removed' }]);
  assert.equal(await s.inbox.next(), undefined, 'closed');
  s.session.heartbeat(1);
  s.session.pump();
  assert.equal(s.session.closed, true);
});
