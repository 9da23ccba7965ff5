import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLASS_IN,
  DnsFormatError,
  encodeMessage,
  parseMessage,
  RCODE,
  TYPE,
  type DnsMessage,
  type DnsRecord,
} from '../../../worker/network/dns/message.js';
import { query } from './helpers.js';

const a = (name: string, address: string): DnsRecord => ({ name, type: TYPE.A, class: CLASS_IN, ttl: 600, data: { kind: 'ipv4', address } });

function reply(q: DnsMessage, answers: DnsRecord[]): DnsMessage {
  return { ...q, qr: true, aa: true, ra: true, answers };
}

describe('dns message codec', () => {
  test('a query round-trips with its flags, question and EDNS record', () => {
    const q = query('Web.Example', TYPE.AAAA, { edns: 1232, id: 0xbeef });
    const back = parseMessage(encodeMessage(q));
    assert.deepEqual(back, q);
  });

  test('a reply with A and PTR records round-trips', () => {
    const q = query('web', TYPE.A, { id: 7 });
    const r: DnsMessage = {
      ...reply(q, [a('web', '10.0.1.2'), a('web', '10.0.1.3')]),
      additionals: [{ name: '5.1.0.10.in-addr.arpa', type: TYPE.PTR, class: CLASS_IN, ttl: 600, data: { kind: 'name', name: 'web.1.abc.front' } }],
      rcode: RCODE.NOERROR,
    };
    assert.deepEqual(parseMessage(encodeMessage(r)), r);
  });

  test('repeated names are written as pointers to the first occurrence', () => {
    const q = query('tasks.web.front', TYPE.A);
    const one = encodeMessage(reply(q, [a('tasks.web.front', '10.0.0.1')]));
    const two = encodeMessage(reply(q, [a('tasks.web.front', '10.0.0.1'), a('TASKS.web.front', '10.0.0.2')]));
    // Each answer after the question costs 2 (pointer) + 10 (type, class, ttl, length) + 4 (address).
    assert.equal(two.length - one.length, 16);
    // The answer's name is a pointer to the question name at offset 12.
    const answerAt = 12 + 'tasks.web.front'.length + 2 + 4;
    assert.deepEqual([two[answerAt], two[answerAt + 1]], [0xc0, 12]);
  });

  test('a shared suffix is compressed too and reads back whole', () => {
    const q = query('web.front', TYPE.PTR);
    const r = reply(q, [{ name: 'web.front', type: TYPE.PTR, class: CLASS_IN, ttl: 1, data: { kind: 'name', name: 'web.1.x.front' } }]);
    const bytes = encodeMessage(r);
    const uncompressed = 12 + (11 + 4) + (11 + 10 + 15);
    assert.ok(bytes.length < uncompressed, `expected compression, got ${bytes.length} bytes`);
    assert.deepEqual(parseMessage(bytes).answers[0]!.data, { kind: 'name', name: 'web.1.x.front' });
  });

  test('reads pointers written by other encoders', () => {
    // Header, question "a.b" A IN, answer name = pointer to offset 12, A 1.2.3.4.
    const bytes = Buffer.from([
      0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
      1, 0x61, 1, 0x62, 0, 0, 1, 0, 1,
      0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4,
    ]);
    const m = parseMessage(bytes);
    assert.equal(m.answers[0]!.name, 'a.b');
    assert.deepEqual(m.answers[0]!.data, { kind: 'ipv4', address: '1.2.3.4' });
    assert.equal(m.answers[0]!.ttl, 60);
  });

  test('rejects pointer loops, forward pointers and cut-off messages', () => {
    const header = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    // A name that is a pointer to itself.
    assert.throws(() => parseMessage(Buffer.from([...header, 0xc0, 12, 0, 1, 0, 1])), DnsFormatError);
    // A pointer forward, past itself.
    assert.throws(() => parseMessage(Buffer.from([...header, 0xc0, 20, 0, 1, 0, 1, 0, 0, 0, 0])), DnsFormatError);
    // A label longer than the message.
    assert.throws(() => parseMessage(Buffer.from([...header, 5, 0x61])), DnsFormatError);
    assert.throws(() => parseMessage(Buffer.from([0, 1, 0])), DnsFormatError);
  });

  test('names longer than 255 bytes or labels longer than 63 are refused', () => {
    assert.throws(() => encodeMessage(query('x'.repeat(64))), DnsFormatError);
    assert.throws(() => encodeMessage(query(Array(130).fill('ab').join('.'))), DnsFormatError);
    const long = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...Array(5).fill([63, ...Array(63).fill(0x61)]).flat(), 0, 0, 1, 0, 1]);
    assert.throws(() => parseMessage(long), /longer than 255/);
  });

  test('a trailing dot and escaped characters survive a round trip', () => {
    const m = parseMessage(encodeMessage(query('web.front.')));
    assert.equal(m.questions[0]!.name, 'web.front');
    const odd = parseMessage(encodeMessage(query('a\\.b.c')));
    assert.equal(odd.questions[0]!.name, 'a\\.b.c');
  });

  test('records beyond the size limit are dropped whole and TC is set; OPT stays', () => {
    const q = query('tasks.big', TYPE.A, { edns: 512 });
    const answers = Array.from({ length: 100 }, (_, i) => a('tasks.big', `10.0.${i >> 8}.${i & 255}`));
    const r: DnsMessage = { ...reply(q, answers), additionals: q.additionals };
    const bytes = encodeMessage(r, 512);
    assert.ok(bytes.length <= 512, `${bytes.length} bytes`);
    const back = parseMessage(bytes);
    assert.equal(back.tc, true);
    // 512 - 12 (header) - 15 (question) - 11 (OPT) = 474 bytes = 29 answers of 16 bytes.
    assert.equal(back.answers.length, 29);
    assert.equal(back.additionals.length, 1);
    assert.equal(back.additionals[0]!.type, TYPE.OPT);
    const all = parseMessage(encodeMessage(r));
    assert.equal(all.tc, false);
    assert.equal(all.answers.length, 100);
  });
});
