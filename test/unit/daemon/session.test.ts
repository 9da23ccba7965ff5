// The agent's session with the leader over /shoal/dispatch/1: finding the
// leader (redirects, failing managers), heartbeats answered with the session
// info, leaders that go silent or step down, removal, and the in-process
// stream a leading daemon uses for itself. Managers are scripted at the other
// end of in-process streams; time is a ManualClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { MessageStream } from '../../../shared/p2p/host.js';
import type { ManagerPeer } from '../../../shared/protocol/cluster.js';
import {
  PROTOCOL_DISPATCH,
  parseAgentMessage,
  type AgentMessage,
  type AssignmentsMessage,
  type ManagerMessage,
  type SessionInfo,
} from '../../../shared/protocol/dispatch.js';
import { localStreamPair } from '../../../worker/agent/local-stream.js';
import { AgentSession, type DispatchNet } from '../../../worker/agent/session.js';

/** Let the session's awaited reads and their continuations run (no virtual time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function peer(n: number): ManagerPeer {
  return { nodeId: `mgr${n}`, peerId: `peer${n}`, addr: `/ip4/10.0.0.${n}/tcp/2377`, raftId: n };
}

function info(period: number, managers: ManagerPeer[], role: 'worker' | 'manager' = 'worker', raftId = 0): SessionInfo {
  return { role, raftId, managers, heartbeatPeriodMs: period };
}

/** How a scripted manager treats a session. */
type Behaviour =
  | { kind: 'lead'; info: SessionInfo; mute?: boolean; assignments?: AssignmentsMessage[] }
  | { kind: 'redirect'; leader: ManagerPeer | null; managers: ManagerPeer[] }
  | { kind: 'removed' }
  | { kind: 'refuse'; message: string }
  /** Accepts the stream and never answers. */
  | { kind: 'hang' }
  | Error;

interface Served {
  peerId: string;
  end: MessageStream;
  received: AgentMessage[];
}

/** Managers at the other end of in-process streams, each doing what the test set for it. */
class FakeManagers implements DispatchNet {
  readonly dialled: Array<{ peerId: string; protocol: string; timeoutMs: number | undefined }> = [];
  readonly behaviour = new Map<string, Behaviour>();
  readonly served: Served[] = [];

  openStream(target: { peerId: string; addr: string }, protocol: string, opts?: { timeoutMs?: number }): Promise<MessageStream> {
    this.dialled.push({ peerId: target.peerId, protocol, timeoutMs: opts?.timeoutMs });
    const b = this.behaviour.get(target.peerId) ?? new Error(`no route to ${target.peerId}`);
    if (b instanceof Error) return Promise.reject(b);
    const [agentEnd, managerEnd] = localStreamPair(target.peerId, 'self');
    void serve(managerEnd, b, this.record(target.peerId, managerEnd));
    return Promise.resolve(agentEnd);
  }

  record(peerId: string, end: MessageStream): Served {
    const s: Served = { peerId, end, received: [] };
    this.served.push(s);
    return s;
  }

  peers(): string[] {
    return this.dialled.map((d) => d.peerId);
  }

  heartbeats(): number {
    return this.served.flatMap((s) => s.received).filter((m) => m.type === 'heartbeat').length;
  }
}

async function serve(end: MessageStream, b: Exclude<Behaviour, Error>, served: Served): Promise<void> {
  const send = (m: ManagerMessage): void => void end.send(m);
  try {
    for await (const raw of end) {
      const msg = parseAgentMessage(raw);
      served.received.push(msg);
      if (b.kind === 'hang') continue;
      if (msg.type === 'register') {
        if (b.kind === 'redirect') send({ type: 'redirect', leader: b.leader, managers: b.managers });
        else if (b.kind === 'removed') send({ type: 'removed' });
        else if (b.kind === 'refuse') send({ type: 'error', message: b.message });
        if (b.kind !== 'lead') {
          await end.close();
          continue;
        }
        send({ type: 'session', ...b.info });
        for (const a of b.assignments ?? []) send(a);
      } else if (msg.type === 'heartbeat' && b.kind === 'lead' && !b.mute) {
        send({ type: 'session', ...b.info });
      }
    }
  } catch {
    // The agent reset the stream.
  }
  await end.close();
}

interface Harness {
  clock: ManualClock;
  net: FakeManagers;
  session: AgentSession;
  managers: ManagerPeer[];
  updates: SessionInfo[];
  managerLists: ManagerPeer[][];
  assignments: AssignmentsMessage[];
  connected: number;
  removed: number;
  local: (() => MessageStream | undefined) | undefined;
}

/** Like the daemon: the manager list is whatever the last answer said. */
function harness(managers: ManagerPeer[], initialPeriodMs = 1000): Harness {
  const clock = new ManualClock(0);
  const net = new FakeManagers();
  const h: Harness = {
    clock,
    net,
    managers: [...managers],
    updates: [],
    managerLists: [],
    assignments: [],
    connected: 0,
    removed: 0,
    local: undefined,
    session: undefined!,
  };
  h.session = new AgentSession({
    nodeId: 'self',
    net,
    managers: () => h.managers,
    local: () => h.local?.(),
    onUpdate: (u) => void h.updates.push(u),
    onManagers: (list) => {
      h.managerLists.push(list);
      h.managers = list;
    },
    onRemoved: () => void h.removed++,
    listener: {
      onConnected: () => void h.connected++,
      onAssignments: (m) => void h.assignments.push(m),
      onWritable: () => undefined,
    },
    clock,
    logger: createLogger({ level: 'silent' }),
    initialPeriodMs,
  });
  return h;
}

const [M1, M2, M3] = [peer(1), peer(2), peer(3)];

test('registers with the leader, reports the session info, and heartbeats at the period the leader says', async () => {
  const h = harness([M1, M2]);
  h.net.behaviour.set('peer1', { kind: 'lead', info: info(5000, [M1, M2], 'manager', 77) });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.dialled, [{ peerId: 'peer1', protocol: PROTOCOL_DISPATCH, timeoutMs: 1000 }]);
  assert.deepEqual(h.net.served[0]!.received, [{ type: 'register', nodeId: 'self' }]);
  assert.deepEqual(h.updates, [info(5000, [M1, M2], 'manager', 77)]);
  assert.deepEqual(h.managerLists, [[M1, M2]]);
  assert.equal(h.connected, 1);
  assert.equal(h.session.connected, true);
  // The leader said 5000 ms, not the initial 1000.
  h.clock.advance(4999);
  await settle();
  assert.equal(h.net.heartbeats(), 0);
  h.clock.advance(1);
  await settle();
  assert.equal(h.net.heartbeats(), 1);
  assert.equal(h.updates.length, 2, 'each heartbeat is answered with the session info');
  h.clock.advance(5000);
  await settle();
  assert.equal(h.net.heartbeats(), 2);
  assert.equal(h.net.dialled.length, 1, 'one stream for the whole session');
  h.session.stop();
});

test('a period change takes effect at once', async () => {
  const h = harness([M1]);
  const b: Behaviour = { kind: 'lead', info: info(5000, [M1]) };
  h.net.behaviour.set('peer1', b);
  h.session.start();
  await settle();
  b.info = info(200, [M1]);
  h.clock.advance(5000);
  await settle();
  assert.equal(h.net.heartbeats(), 1);
  assert.equal(h.session.heartbeatPeriodMs, 200);
  h.clock.advance(200);
  await settle();
  assert.equal(h.net.heartbeats(), 2);
  h.session.stop();
});

test('a redirect is followed to the leader at once, and a new session goes straight to it', async () => {
  const h = harness([M1, M2, M3]);
  h.net.behaviour.set('peer1', { kind: 'redirect', leader: M3, managers: [M1, M2, M3] });
  h.net.behaviour.set('peer3', { kind: 'lead', info: info(1000, [M1, M2, M3]) });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer3'], 'no waiting for a period');
  assert.equal(h.updates.length, 1);
  assert.equal(h.clock.now(), 0);
  // The leader ends the session (it stepped down, say): the agent comes straight back to it.
  await h.net.served[1]!.end.close();
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer3', 'peer3']);
  h.session.stop();
});

test('a redirect to a leader the node did not know yet uses the list the redirect carries', async () => {
  const h = harness([M1]);
  h.net.behaviour.set('peer1', { kind: 'redirect', leader: M2, managers: [M1, M2] });
  h.net.behaviour.set('peer2', { kind: 'lead', info: info(1000, [M1, M2]) });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer2']);
  assert.equal(h.updates.length, 1);
  h.session.stop();
});

test('without a leader the node waits a while and asks again', async () => {
  const h = harness([M1, M2]);
  h.net.behaviour.set('peer1', { kind: 'redirect', leader: null, managers: [M1, M2, M3] });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  assert.deepEqual(h.managerLists, [[M1, M2, M3]], 'the manager list is still learnt');
  assert.equal(h.updates.length, 0);
  h.clock.advance(999);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.clock.advance(1);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer1']);
  h.session.stop();
});

test('managers redirecting to each other cannot keep the node dialling forever', async () => {
  const h = harness([M1, M2]);
  h.net.behaviour.set('peer1', { kind: 'redirect', leader: M2, managers: [] });
  h.net.behaviour.set('peer2', { kind: 'redirect', leader: M1, managers: [] });
  h.session.start();
  await settle();
  assert.equal(h.net.dialled.length, 3, 'at most one hop per manager, plus the first');
  assert.deepEqual(h.managerLists, [], 'an empty list in a redirect does not wipe the known managers');
  h.clock.advance(1000);
  await settle();
  assert.equal(h.net.dialled.length, 6, 'and the next round tries again');
  h.session.stop();
});

test('a manager that fails is skipped for the next one, now and later', async () => {
  const h = harness([M1, M2, M3]);
  h.net.behaviour.set('peer1', new Error('connection refused'));
  h.net.behaviour.set('peer2', { kind: 'refuse', message: 'node self belongs to another peer' });
  h.net.behaviour.set('peer3', { kind: 'lead', info: info(1000, [M1, M2, M3]) });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer2', 'peer3']);
  assert.equal(h.updates.length, 1);
  // peer3 goes away: the next manager in the list (wrapping round) is tried at once.
  h.net.behaviour.set('peer3', new Error('connection refused'));
  h.net.behaviour.set('peer1', { kind: 'lead', info: info(1000, [M1, M2, M3]) });
  h.net.served.at(-1)!.end.abort(new Error('peer3 crashed'));
  await settle();
  assert.deepEqual(h.net.peers().slice(3), ['peer3', 'peer1']);
  assert.equal(h.updates.length, 2);
  h.session.stop();
});

test('when no manager answers, each is tried once per round, then again after a while', async () => {
  const h = harness([M1, M2, M3], 2000);
  h.session.start();
  await settle();
  const first = h.net.peers();
  assert.equal(first.length, 4, 'bounded: managers + 1 attempts');
  assert.deepEqual(new Set(first), new Set(['peer1', 'peer2', 'peer3']), 'each manager is tried');
  // Retries come at most a second apart, whatever the period.
  h.clock.advance(999);
  await settle();
  assert.equal(h.net.dialled.length, 4);
  h.clock.advance(1);
  await settle();
  assert.equal(h.net.dialled.length, 8);
  h.session.stop();
});

test('a leader that stops answering heartbeats is given up on, and another manager is tried', async () => {
  const h = harness([M1, M2]);
  const b: Behaviour = { kind: 'lead', info: info(2000, [M1, M2]) };
  h.net.behaviour.set('peer1', b);
  h.net.behaviour.set('peer2', { kind: 'lead', info: info(2000, [M1, M2]) });
  h.session.start();
  await settle();
  // The leader hangs, then cannot be reached at all.
  b.mute = true;
  h.net.behaviour.set('peer1', new Error('connection timed out'));
  h.clock.advance(2000); // the beat
  await settle();
  assert.equal(h.net.heartbeats(), 1);
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.clock.advance(1999);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1'], 'the answer may take up to a period');
  h.clock.advance(1);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer1', 'peer2'], 'the session is dropped; its manager is tried first, then the next');
  assert.equal(h.session.connected, true);
  h.session.stop();
});

test('no managers known: nothing is dialled, the session keeps waiting', async () => {
  const h = harness([]);
  h.session.start();
  await settle();
  assert.equal(h.net.dialled.length, 0);
  h.managers = [M1];
  h.net.behaviour.set('peer1', { kind: 'lead', info: info(1000, [M1]) });
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.session.stop();
});

test('"removed" calls onRemoved once and ends the session', async () => {
  const h = harness([M1, M2]);
  h.net.behaviour.set('peer1', { kind: 'removed' });
  h.session.start();
  await settle();
  assert.equal(h.removed, 1);
  assert.equal(h.updates.length, 0);
  assert.equal(h.clock.pending(), 0, 'nothing more is scheduled');
  h.clock.advance(60_000);
  await settle();
  assert.equal(h.net.dialled.length, 1);
});

test('assignments go to the listener; status reports go out only while a session is up', async () => {
  const h = harness([M1]);
  const full: AssignmentsMessage = { type: 'assignments', full: true, last: true, tasks: [], removed: [] };
  h.net.behaviour.set('peer1', { kind: 'lead', info: info(1000, [M1]), assignments: [full] });
  const report = { taskId: 't1', status: { Timestamp: 'now', State: 'running' as const, Message: 'started' } };
  assert.equal(h.session.sendStatus([report]), false, 'no session yet');
  h.session.start();
  await settle();
  assert.deepEqual(h.assignments, [full]);
  assert.equal(h.session.sendStatus([report]), true);
  await settle();
  assert.deepEqual(h.net.served[0]!.received.at(-1), { type: 'status', reports: [report] });
  h.session.stop();
  assert.equal(h.session.sendStatus([report]), false);
});

test('while this daemon leads, the session runs over the in-process stream it is given', async () => {
  const h = harness([M1]);
  const local: Served[] = [];
  h.local = () => {
    const [agentEnd, managerEnd] = localStreamPair('self-peer', 'self-peer');
    const s: Served = { peerId: 'self-peer', end: managerEnd, received: [] };
    local.push(s);
    void serve(managerEnd, { kind: 'lead', info: info(300, [M1, M2], 'manager', 5) }, s);
    return agentEnd;
  };
  h.session.start();
  await settle();
  assert.equal(local.length, 1);
  assert.equal(h.net.dialled.length, 0);
  assert.equal(h.updates[0]?.raftId, 5);
  h.clock.advance(300);
  await settle();
  assert.equal(local[0]!.received.filter((m) => m.type === 'heartbeat').length, 1);
  // Leadership lost: the local dispatcher closes, and the network is used from then on.
  h.local = undefined;
  h.net.behaviour.set('peer1', { kind: 'lead', info: info(300, [M1]) });
  await local[0]!.end.close();
  h.clock.advance(300);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.session.stop();
});

test('stop: nothing is dialled after it, not even the other managers of a failing round', async () => {
  const h = harness([M1, M2, M3]);
  h.net.behaviour.set('peer1', { kind: 'hang' });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.session.stop();
  await settle();
  h.clock.advance(10_000);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  assert.equal(h.clock.pending(), 0);
  assert.equal(h.updates.length, 0);
});
