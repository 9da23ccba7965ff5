import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../manager/raft/memory-transport.js';
import { EntryType, type Message, MessageType, msg } from '../../manager/raft/types.js';

function inbox(net: MemoryNetwork, id: string): { got: Message[]; t: ReturnType<MemoryNetwork['transport']> } {
  const got: Message[] = [];
  const t = net.transport(id);
  t.setHandler((m) => got.push(m));
  return { got, t };
}

const hb = (from: string, to: string, term = 1): Message => msg({ type: MessageType.Heartbeat, from, to, term });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('delivery is asynchronous, in order per link, and goes through the codec', async () => {
  const net = new MemoryNetwork();
  const a = inbox(net, 'a');
  const b = inbox(net, 'b');
  const data = new Uint8Array([1, 2, 3]);
  a.t.send([
    msg({ type: MessageType.App, from: 'a', to: 'b', term: 1, entries: [{ term: 1, index: 1, type: EntryType.Normal, data }] }),
    hb('a', 'b', 2),
  ]);
  assert.equal(b.got.length, 0, 'nothing is delivered synchronously');
  await tick();
  assert.deepEqual(b.got.map((m) => m.term), [1, 2]);
  // A decoded copy, not the sender's object.
  assert.notEqual(b.got[0]!.entries[0]!.data, data);
  assert.deepEqual([...b.got[0]!.entries[0]!.data], [1, 2, 3]);
  assert.equal(a.got.length, 0);
});

test('partition, isolate and heal', async () => {
  const net = new MemoryNetwork();
  const a = inbox(net, 'a');
  const b = inbox(net, 'b');
  const c = inbox(net, 'c');
  net.partition('a', 'b');
  a.t.send([hb('a', 'b'), hb('a', 'c')]);
  b.t.send([hb('b', 'a')]);
  await tick();
  assert.equal(b.got.length, 0);
  assert.equal(a.got.length, 0);
  assert.equal(c.got.length, 1);

  net.heal();
  net.isolate('c');
  a.t.send([hb('a', 'b'), hb('a', 'c')]);
  c.t.send([hb('c', 'a')]);
  await tick();
  assert.equal(b.got.length, 1);
  assert.equal(c.got.length, 1);
  assert.equal(a.got.length, 0);

  // A partition made while a frame is queued loses the frame.
  net.heal();
  a.t.send([hb('a', 'b')]);
  net.partition('a', 'b');
  await tick();
  assert.equal(b.got.length, 1);
  assert.ok(net.stats.droppedUnreachable >= 4);
});

test('a full link drops frames instead of queueing without bound', async () => {
  const net = new MemoryNetwork({ maxQueuedBytesPerLink: 2000 });
  const a = inbox(net, 'a');
  const b = inbox(net, 'b');
  const big = (i: number): Message =>
    msg({ type: MessageType.App, from: 'a', to: 'b', term: 1, index: i, entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array(500) }] });
  for (let i = 0; i < 10; i++) a.t.send([big(i)]);
  await tick();
  assert.ok(b.got.length >= 1 && b.got.length < 10, `delivered ${b.got.length}`);
  assert.equal(net.stats.droppedOverflow, 10 - b.got.length);
  // Once drained, the link takes frames again.
  a.t.send([big(99)]);
  await tick();
  assert.equal(b.got.at(-1)!.index, 99);
});

test('a closed transport receives nothing, and the id can be reused by a restarted node', async () => {
  const net = new MemoryNetwork();
  const a = inbox(net, 'a');
  const b = inbox(net, 'b');
  assert.throws(() => net.transport('b'), /already has an open transport/);
  a.t.send([hb('a', 'b')]);
  await b.t.close();
  const b2 = inbox(net, 'b');
  await tick();
  // The frame was addressed to the old incarnation: lost, like packets to a crashed process.
  assert.equal(b.got.length, 0);
  assert.equal(b2.got.length, 0);
  a.t.send([hb('a', 'b')]);
  await tick();
  assert.equal(b2.got.length, 1);
});
