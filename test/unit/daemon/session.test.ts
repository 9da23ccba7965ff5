import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { PROTOCOL_SESSION, type ManagerPeer, type SessionRequest, type SessionResponse } from '../../../shared/protocol/cluster.js';
import { AgentSession, type SessionNet, type SessionUpdate } from '../../../worker/agent/session.js';

/** Let the session's awaited requests and their continuations run (no virtual time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function peer(n: number): ManagerPeer {
  return { nodeId: `mgr${n}`, peerId: `peer${n}`, addr: `/ip4/10.0.0.${n}/tcp/2377`, raftId: n };
}

type Answer = SessionResponse | Error | 'hang' | Record<string, unknown>;

interface Call {
  peerId: string;
  protocol: string;
  req: SessionRequest;
  timeoutMs: number | undefined;
}

/** A network where each manager answers what the test set for it. */
class FakeNet implements SessionNet {
  readonly calls: Call[] = [];
  readonly answers = new Map<string, Answer>();
  private readonly hanging: Array<{ resolve: (v: unknown) => void; reject: (err: Error) => void }> = [];

  request<Req, Res>(target: { peerId: string; addr: string }, protocol: string, req: Req, opts?: { timeoutMs?: number }): Promise<Res> {
    this.calls.push({ peerId: target.peerId, protocol, req: req as SessionRequest, timeoutMs: opts?.timeoutMs });
    const a = this.answers.get(target.peerId) ?? new Error(`no route to ${target.peerId}`);
    if (a === 'hang') return new Promise<Res>((resolve, reject) => this.hanging.push({ resolve: (v) => resolve(v as Res), reject }));
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(structuredClone(a) as Res);
  }

  /** Fail every request still waiting (as a closed host would). */
  failHanging(): void {
    for (const h of this.hanging.splice(0)) h.reject(new Error('host stopped'));
  }

  /** Answer every request still waiting. */
  answerHanging(resp: SessionResponse): void {
    for (const h of this.hanging.splice(0)) h.resolve(structuredClone(resp));
  }

  peers(): string[] {
    return this.calls.map((c) => c.peerId);
  }
}

function ok(period: number, managers: ManagerPeer[], role: 'worker' | 'manager' = 'worker', raftId = 0): SessionResponse {
  return { kind: 'ok', role, raftId, managers, heartbeatPeriodMs: period };
}

interface Harness {
  clock: ManualClock;
  net: FakeNet;
  session: AgentSession;
  managers: ManagerPeer[];
  updates: SessionUpdate[];
  managerLists: ManagerPeer[][];
  removed: number;
  local: ((req: SessionRequest) => SessionResponse) | undefined;
}

/** Like the daemon: the manager list is whatever the last answer said. */
function harness(managers: ManagerPeer[], initialPeriodMs = 1000): Harness {
  const clock = new ManualClock(0);
  const net = new FakeNet();
  const h: Harness = { clock, net, managers: [...managers], updates: [], managerLists: [], removed: 0, local: undefined, session: undefined! };
  h.session = new AgentSession({
    nodeId: 'self',
    net,
    managers: () => h.managers,
    local: () => h.local,
    onUpdate: (u) => void h.updates.push(u),
    onManagers: (list) => {
      h.managerLists.push(list);
      h.managers = list;
    },
    onRemoved: () => void h.removed++,
    clock,
    logger: createLogger({ level: 'silent' }),
    initialPeriodMs,
  });
  return h;
}

const [M1, M2, M3] = [peer(1), peer(2), peer(3)];

test('heartbeats the leader, reports what it answers, and beats again after the period it answers with', async () => {
  const h = harness([M1, M2]);
  h.net.answers.set('peer1', ok(5000, [M1, M2], 'manager', 77));
  h.session.start();
  await settle();
  assert.deepEqual(h.net.calls, [{ peerId: 'peer1', protocol: PROTOCOL_SESSION, req: { nodeId: 'self' }, timeoutMs: 1000 }]);
  assert.deepEqual(h.updates, [ok(5000, [M1, M2], 'manager', 77)]);
  assert.deepEqual(h.managerLists, [[M1, M2]]);
  // The manager said 5000 ms, not the initial 1000.
  h.clock.advance(4999);
  await settle();
  assert.equal(h.net.calls.length, 1);
  h.clock.advance(1);
  await settle();
  assert.equal(h.net.calls.length, 2);
  // The period can change from one answer to the next.
  h.net.answers.set('peer1', ok(200, [M1, M2]));
  h.clock.advance(5000);
  await settle();
  assert.equal(h.net.calls.length, 3);
  assert.equal(h.net.calls[2]!.timeoutMs, 5000, 'the request timeout follows the period in force when it was sent');
  h.clock.advance(200);
  await settle();
  assert.equal(h.net.calls.length, 4);
  assert.equal(h.net.calls[3]!.timeoutMs, 1000, 'but never below a second');
  h.session.stop();
});

test('a redirect is followed to the leader at once, and the next beats go straight to it', async () => {
  const h = harness([M1, M2, M3]);
  h.net.answers.set('peer1', { kind: 'redirect', leader: M3, managers: [M1, M2, M3] });
  h.net.answers.set('peer3', ok(1000, [M1, M2, M3]));
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer3'], 'no waiting for the next period');
  assert.equal(h.updates.length, 1);
  assert.equal(h.clock.now(), 0);
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer3', 'peer3']);
  h.session.stop();
});

test('a redirect to a leader the node did not know yet uses the list the redirect carries', async () => {
  const h = harness([M1]);
  h.net.answers.set('peer1', { kind: 'redirect', leader: M2, managers: [M1, M2] });
  h.net.answers.set('peer2', ok(1000, [M1, M2]));
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer2']);
  assert.equal(h.updates.length, 1);
  h.session.stop();
});

test('without a leader the node waits a period and asks again', async () => {
  const h = harness([M1, M2]);
  h.net.answers.set('peer1', { kind: 'redirect', leader: null, managers: [M1, M2, M3] });
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  assert.deepEqual(h.managerLists, [[M1, M2, M3]], 'the manager list is still learnt');
  assert.equal(h.updates.length, 0);
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer1']);
  h.session.stop();
});

test('managers redirecting to each other cannot keep a beat going forever', async () => {
  const h = harness([M1, M2]);
  h.net.answers.set('peer1', { kind: 'redirect', leader: M2, managers: [] });
  h.net.answers.set('peer2', { kind: 'redirect', leader: M1, managers: [] });
  h.session.start();
  await settle();
  assert.equal(h.net.calls.length, 3, 'at most one hop per manager, plus the first request');
  assert.deepEqual(h.managerLists, [], 'an empty list in a redirect does not wipe the known managers');
  h.clock.advance(1000);
  await settle();
  assert.equal(h.net.calls.length, 6, 'and the next period tries again');
  h.session.stop();
});

test('a manager that fails is skipped for the next one, in the same beat and after', async () => {
  const h = harness([M1, M2, M3]);
  h.net.answers.set('peer1', new Error('connection refused'));
  h.net.answers.set('peer2', { kind: 'bogus' }); // an answer that does not validate is a failure too
  h.net.answers.set('peer3', ok(1000, [M1, M2, M3]));
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1', 'peer2', 'peer3']);
  assert.equal(h.updates.length, 1);
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers().slice(3), ['peer3'], 'stays with the manager that answered');
  // That one fails now: the next one in the list (wrapping round) is tried at once.
  h.net.answers.set('peer3', new Error('timeout'));
  h.net.answers.set('peer1', ok(1000, [M1, M2, M3]));
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers().slice(4), ['peer3', 'peer1']);
  h.session.stop();
});

test('when no manager answers, every one is tried once per beat, then again after a period', async () => {
  const h = harness([M1, M2, M3], 2000);
  h.session.start();
  await settle();
  const first = h.net.peers();
  assert.equal(first.length, 4, 'bounded: managers + 1 attempts');
  assert.deepEqual(new Set(first), new Set(['peer1', 'peer2', 'peer3']), 'each manager is tried');
  assert.equal(h.updates.length, 0);
  h.clock.advance(1999);
  await settle();
  assert.equal(h.net.calls.length, 4);
  h.clock.advance(1);
  await settle();
  assert.equal(h.net.calls.length, 8);
  h.session.stop();
});

test('no managers known: nothing is dialled, the session keeps waiting', async () => {
  const h = harness([]);
  h.session.start();
  await settle();
  assert.equal(h.net.calls.length, 0);
  h.managers = [M1];
  h.net.answers.set('peer1', ok(1000, [M1]));
  h.clock.advance(1000);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.session.stop();
});

test('"removed" calls onRemoved once and ends the session', async () => {
  const h = harness([M1, M2]);
  h.net.answers.set('peer1', { kind: 'removed' });
  h.session.start();
  await settle();
  assert.equal(h.removed, 1);
  assert.equal(h.updates.length, 0);
  assert.equal(h.clock.pending(), 0, 'no further heartbeat is scheduled');
  h.clock.advance(60_000);
  await settle();
  assert.equal(h.net.calls.length, 1);
});

test('while this daemon leads, heartbeats are answered in-process', async () => {
  const h = harness([M1]);
  const seen: SessionRequest[] = [];
  h.local = (req) => {
    seen.push(req);
    return ok(300, [M1, M2], 'manager', 5);
  };
  h.session.start();
  await settle();
  assert.deepEqual(seen, [{ nodeId: 'self' }]);
  assert.equal(h.net.calls.length, 0);
  assert.equal(h.updates[0]?.raftId, 5);
  h.clock.advance(300);
  await settle();
  assert.equal(seen.length, 2);
  // Leadership lost: back to the network.
  h.local = undefined;
  h.net.answers.set('peer1', ok(300, [M1]));
  h.clock.advance(300);
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.session.stop();
});

test('stop: no heartbeat after it, not even to the other managers of a failing beat', async () => {
  const h = harness([M1, M2, M3]);
  h.net.answers.set('peer1', 'hang');
  h.session.start();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1']);
  h.session.stop();
  h.net.failHanging();
  await settle();
  assert.deepEqual(h.net.peers(), ['peer1'], 'the failed request is not retried elsewhere');
  assert.equal(h.clock.pending(), 0);

  // And an answer arriving after stop() changes nothing.
  const g = harness([M1]);
  g.net.answers.set('peer1', 'hang');
  g.session.start();
  await settle();
  g.session.stop();
  g.net.answerHanging(ok(1000, [M1], 'manager', 9));
  await settle();
  assert.equal(g.updates.length, 0);
  assert.equal(g.managerLists.length, 0);
  assert.equal(g.clock.pending(), 0);
});
