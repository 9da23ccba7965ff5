import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessages } from '../../../manager/raft/codec.js';
import { P2PTransport, RAFT_PROTOCOL } from '../../../manager/raft/p2p-transport.js';
import { EntryType, type Message, MessageType, msg } from '../../../manager/raft/types.js';
import { createLogger } from '../../../shared/logger.js';
import type { PeerTarget } from '../../../shared/p2p/host.js';
import { eventually, makeHost, stopAllHosts, type TestHost } from './hosts.js';

const quiet = createLogger({ level: 'silent' });
// Real hosts on loopback: a message, close or reset that never arrives must
// fail the test, not hang it; the hosts such a test left open are stopped
// afterwards so that the file's process can still exit.
const LIMIT = { timeout: 60_000 };
after(stopAllHosts);

const app = (from: string, to: string, index: number): Message =>
  msg({ type: MessageType.App, from, to, term: 1, index, entries: [{ term: 1, index: index + 1, type: EntryType.Normal, data: new Uint8Array([index & 0xff]) }] });

/** Two hosts, a and b, each with a transport; b records what it receives. */
async function pair(body: (a: TestHost, b: TestHost, ta: P2PTransport, tb: P2PTransport, got: Message[], book: Map<string, PeerTarget>) => Promise<void>): Promise<void> {
  const [a, b] = await Promise.all([makeHost(), makeHost()]);
  const book = new Map<string, PeerTarget>([
    ['a', a.target],
    ['b', b.target],
  ]);
  const ta = new P2PTransport(a.host, { resolve: (id) => book.get(id), logger: quiet, maxQueuedFrames: 2 });
  const tb = new P2PTransport(b.host, { resolve: (id) => book.get(id), logger: quiet });
  const got: Message[] = [];
  tb.setHandler((m) => got.push(m));
  try {
    await body(a, b, ta, tb, got, book);
  } finally {
    await ta.close();
    await tb.close();
    await a.host.stop();
    await b.host.stop();
  }
}

test('the messages of one send() to one peer travel as one frame and arrive in order', LIMIT, async () => {
  await pair(async (_a, _b, ta, tb, got) => {
    ta.send([app('a', 'b', 0), app('a', 'b', 1), app('a', 'b', 2)]);
    await eventually(() => got.length === 3, 'three messages');
    assert.deepEqual(got.map((m) => m.index), [0, 1, 2]);
    assert.deepEqual([...got[2]!.entries[0]!.data], [2]);
    const s = ta.stats();
    assert.equal(s.framesSent, 1);
    assert.equal(s.messagesSent, 3);
    assert.equal(tb.stats().framesReceived, 1);
    assert.ok(tb.reachable('a'), 'heard from a');
    assert.ok(ta.reachable('b'), 'connected to b');
    // Later sends reuse the stream.
    for (let i = 3; i < 50; i++) ta.send([app('a', 'b', i)]);
    await eventually(() => got.length === 50, 'fifty messages');
    assert.deepEqual(got.map((m) => m.index), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(ta.stats().streamsOpened, 1);
  });
});

test('send never throws: unknown peers and a full queue drop messages and count them', LIMIT, async () => {
  await pair(async (_a, _b, ta, _tb, got) => {
    ta.send([app('a', 'nobody', 0)]);
    assert.equal(ta.stats().droppedUnreachable, 1);
    assert.equal(ta.reachable('nobody'), false);
    // The first send starts connecting; the queue (2 frames here) fills while it does.
    for (let i = 0; i < 10; i++) ta.send([app('a', 'b', i)]);
    assert.equal(ta.stats().droppedOverflow, 8);
    await eventually(() => got.length === 2, 'the two queued messages');
    assert.deepEqual(got.map((m) => m.index), [0, 1]);
  });
});

test('malformed frames and messages from the wrong sender are dropped; the stream survives', LIMIT, async () => {
  await pair(async (a, b, _ta, tb, got, book) => {
    // a's connection will claim to be "c", whom the address book knows as another peer.
    book.set('c', { peerId: b.host.peerId, addr: b.target.addr });
    // Raw access: a writes whatever it likes on a raft stream to b.
    const s = await a.host.openStream(b.target, RAFT_PROTOCOL);
    s.send('not binary');
    s.send(new Uint8Array([1, 2, 3]));
    s.send(encodeMessages([app('c', 'b', 7)]));
    s.send(encodeMessages([app('a', 'b', 8)]));
    await eventually(() => got.length === 1, 'the honest message');
    assert.equal(got[0]!.index, 8);
    const st = tb.stats();
    assert.equal(st.malformedFrames, 2);
    assert.equal(st.rejectedMessages, 1);
    assert.equal(st.messagesReceived, 1);
    await s.close();
  });
});

test('a peer that restarts elsewhere is reached again after backoff', LIMIT, async () => {
  await pair(async (a, b, ta, _tb, got, book) => {
    ta.send([app('a', 'b', 0)]);
    await eventually(() => got.length === 1, 'first delivery');
    // b's machine goes away; a new host with the same key comes up on another port.
    await b.host.stop();
    await eventually(() => {
      ta.send([app('a', 'b', 1)]);
      return ta.stats().streamFailures > 0;
    }, 'the sender to notice');
    const b2 = await makeHost({ privateKey: b.key });
    const tb2 = new P2PTransport(b2.host, { resolve: (id) => book.get(id), logger: quiet });
    const got2: Message[] = [];
    tb2.setHandler((m) => got2.push(m));
    try {
      book.set('b', b2.target);
      assert.equal(b2.host.peerId, b.host.peerId);
      assert.notEqual(b2.target.addr, b.target.addr);
      await eventually(() => {
        ta.send([app('a', 'b', 2)]);
        return got2.length > 0;
      }, 'delivery to the new host');
      assert.equal(got2[0]!.index, 2);
      assert.ok(ta.stats().streamsOpened >= 2);
      assert.ok(a.host.isConnected(b2.host.peerId));
    } finally {
      await tb2.close();
      await b2.host.stop();
    }
  });
});
