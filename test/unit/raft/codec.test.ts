import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { decodeMessage, decodeMessages, encodeMessage, encodeMessages, MessageDecodeError, WIRE_VERSION } from '../../../manager/raft/codec.js';
import { EntryType, type Message, MessageType, msg } from '../../../manager/raft/types.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

function normalize(v: unknown): unknown {
  // Compare binaries by content: decoded ones are Buffers, originals may be plain Uint8Arrays.
  if (v instanceof Uint8Array) return { bin: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  }
  return v;
}

const append = msg({
  type: MessageType.App,
  from: 'a',
  to: 'b',
  term: 7,
  index: 41,
  logTerm: 6,
  commit: 40,
  entries: [
    { term: 7, index: 42, type: EntryType.Normal, data: bytes('hello') },
    { term: 7, index: 43, type: EntryType.ConfChange, data: new Uint8Array(0) },
    { term: 7, index: 44, type: EntryType.Normal, data: new Uint8Array([0, 255, 1, 254]) },
  ],
});

const snap = msg({
  type: MessageType.Snap,
  from: 'a',
  to: 'c',
  term: 3,
  chunk: {
    metadata: { index: 100, term: 2, confState: { voters: ['a', 'b', 'c'], learners: ['d'] } },
    offset: 10,
    total: 20,
    data: bytes('0123456789'),
  },
});

test('every optional field and binary round-trips', () => {
  const cases: Message[] = [
    append,
    snap,
    msg({ type: MessageType.SnapAck, from: 'c', to: 'a', term: 3, index: 100, received: 20 }),
    msg({ type: MessageType.Vote, from: 'b', to: 'a', term: 9, index: 5, logTerm: 4, force: true }),
    msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 9, commit: 3, context: bytes('ctx') }),
    msg({ type: MessageType.AppResp, from: 'b', to: 'a', term: 9, index: 5, reject: true, rejectHint: 3, logTerm: 2 }),
  ];
  for (const m of cases) {
    const back = decodeMessage(encodeMessage(m));
    assert.deepEqual(normalize(back), normalize(m), m.type);
    for (const e of back.entries) assert.ok(e.data instanceof Uint8Array);
  }
  // Absent optional fields stay absent rather than becoming undefined-valued keys.
  const hb = decodeMessage(encodeMessage(msg({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1 })));
  assert.deepEqual(Object.keys(hb).sort(), ['commit', 'entries', 'from', 'index', 'logTerm', 'reject', 'rejectHint', 'term', 'to', 'type']);
});

test('a batch frame round-trips in order', () => {
  const batch = [append, snap, msg({ type: MessageType.HeartbeatResp, from: 'b', to: 'a', term: 7 })];
  const back = decodeMessages(encodeMessages(batch));
  assert.deepEqual(back.map(normalize), batch.map(normalize));
  assert.deepEqual(decodeMessages(encodeMessages([])), []);
});

test('local message types are never encoded', () => {
  assert.throws(() => encodeMessage(msg({ type: MessageType.Prop, from: 'a' })), /local message/);
});

test('malformed frames are rejected with an error naming the problem', () => {
  const packr = new Packr({ useRecords: false });
  const good = (): unknown[] => [WIRE_VERSION, 'App', 'a', 'b', 1, 0, 0, Buffer.alloc(0), 0, false, 0];
  // One entry record as the codec lays it out: term f64, index f64, type u8, length u32, data.
  const entryBlob = (o: { term?: number; index?: number; type?: number; length?: number }): Buffer => {
    const b = Buffer.alloc(21 + 2);
    b.writeDoubleBE(o.term ?? 1, 0);
    b.writeDoubleBE(o.index ?? 1, 8);
    b.writeUInt8(o.type ?? 0, 16);
    b.writeUInt32BE(o.length ?? 2, 17);
    return b;
  };
  const bad = (mutate: (f: unknown[]) => void): Uint8Array => {
    const f = good();
    mutate(f);
    return packr.pack(f);
  };
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([0x93, 0x01]), /not valid msgpack/],
    [packr.pack({ type: 'App' }), /expected an array/],
    [bad((f) => (f[0] = 99)), /wire version 99/],
    [bad((f) => (f[1] = 'Bogus')), /unknown message type "Bogus"/],
    [bad((f) => (f[1] = 'Prop')), /local message type/],
    [bad((f) => (f[2] = 5)), /from must be a string/],
    [bad((f) => (f[4] = '1')), /term must be a non-negative integer/],
    [bad((f) => (f[5] = -1)), /index must be a non-negative integer/],
    [bad((f) => (f[6] = 1.5)), /logTerm must be a non-negative integer/],
    [bad((f) => (f[7] = [])), /entries must be binary/],
    [bad((f) => (f[7] = Buffer.alloc(20))), /entry 0: truncated header/],
    [bad((f) => (f[7] = entryBlob({ type: 7 }))), /entry 0: unknown entry type 7/],
    [bad((f) => (f[7] = entryBlob({ term: -1 }))), /entry 0: term must be a non-negative integer/],
    [bad((f) => (f[7] = entryBlob({ index: 0.5 }))), /entry 0: index must be a non-negative integer/],
    [bad((f) => (f[7] = Buffer.concat([entryBlob({}), entryBlob({ length: 100 })]))), /entry 1: data of 100 bytes runs past/],
    [bad((f) => (f[9] = 0)), /reject must be a boolean/],
    [bad((f) => f.push([[1, 1, ['a'], []], 5, 4, Buffer.alloc(1)])), /exceeds total/],
    [bad((f) => f.push(null, null, null, 'ctx')), /context must be binary/],
    [bad((f) => f.splice(3)), /expected 11 to 15 fields/],
  ];
  for (const [frame, re] of cases) {
    assert.throws(
      () => decodeMessage(frame),
      (err: unknown) => err instanceof MessageDecodeError && re.test(err.message) && err.code === 'bad_message',
      re.source,
    );
  }
  assert.throws(() => decodeMessages(packr.pack([good(), 'x'])), /message 1: expected an array/);
});
