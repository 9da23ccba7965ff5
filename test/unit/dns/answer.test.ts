import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, answerPacket, RECORD_TTL } from '../../../worker/network/dns/answer.js';
import { encodeMessage, parseMessage, RCODE, TYPE, type DnsMessage } from '../../../worker/network/dns/message.js';
import { buildZoneIndex, type DnsZone, type ZoneIndex } from '../../../worker/network/dns/zone.js';
import { addresses, query } from './helpers.js';

const zone: DnsZone = {
  network: 'front',
  internal: false,
  services: [
    {
      name: 'web',
      endpointMode: 'vip',
      vip: '10.0.1.2',
      backends: [
        { taskId: 'aaa111', slot: 1, ip: '10.0.1.5' },
        { taskId: 'bbb222', slot: 2, ip: '10.0.1.6' },
      ],
      aliases: ['www'],
    },
    {
      name: 'db',
      endpointMode: 'dnsrr',
      backends: [
        { taskId: 'ccc333', slot: 1, ip: '10.0.1.7' },
        { taskId: 'ddd444', slot: 2, ip: '10.0.1.8' },
        { taskId: 'eee555', slot: 3, ip: '10.0.1.9' },
      ],
    },
    { name: 'idle', endpointMode: 'dnsrr', backends: [] },
  ],
};
const index: ZoneIndex = buildZoneIndex(zone);

/** A seeded generator, so shuffles are reproducible. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function replyFor(q: DnsMessage, z: ZoneIndex = index, random = lcg(1)): DnsMessage {
  const d = answer(q, z, random);
  assert.equal(d.kind, 'reply', `expected a local answer for ${q.questions[0]?.name}`);
  return d.kind === 'reply' ? parseMessage(encodeMessage(d.message)) : q;
}

describe('dns answers', () => {
  test('a vip-mode service name gives its VIP, with TTL 600 and the question echoed', () => {
    const q = query('web');
    const r = replyFor(q);
    assert.equal(r.id, q.id);
    assert.equal(r.qr, true);
    assert.equal(r.aa, true);
    assert.equal(r.rcode, RCODE.NOERROR);
    assert.deepEqual(r.questions, q.questions);
    assert.deepEqual(addresses(r), ['10.0.1.2']);
    assert.equal(r.answers[0]!.ttl, RECORD_TTL);
    assert.equal(RECORD_TTL, 600);
  });

  test('tasks.<service> gives every task IP, in varying order', () => {
    assert.deepEqual(addresses(replyFor(query('tasks.web'))).sort(), ['10.0.1.5', '10.0.1.6']);
    const orders = new Set<string>();
    const random = lcg(42);
    for (let i = 0; i < 20; i++) orders.add(addresses(replyFor(query('tasks.db'), index, random)).join(','));
    assert.ok(orders.size > 1, 'answers should rotate between queries');
    for (const o of orders) assert.deepEqual(o.split(',').sort(), ['10.0.1.7', '10.0.1.8', '10.0.1.9']);
  });

  test('a dnsrr service name gives every task IP', () => {
    assert.deepEqual(addresses(replyFor(query('db'))).sort(), ['10.0.1.7', '10.0.1.8', '10.0.1.9']);
  });

  test('aliases, task names and the network suffix resolve as in Docker', () => {
    assert.deepEqual(addresses(replyFor(query('www'))), ['10.0.1.2']);
    assert.deepEqual(addresses(replyFor(query('tasks.www'))).sort(), ['10.0.1.5', '10.0.1.6']);
    assert.deepEqual(addresses(replyFor(query('web.2.bbb222'))), ['10.0.1.6']);
    assert.deepEqual(addresses(replyFor(query('web.front'))), ['10.0.1.2']);
    assert.deepEqual(addresses(replyFor(query('tasks.db.front'))).sort(), ['10.0.1.7', '10.0.1.8', '10.0.1.9']);
    assert.deepEqual(addresses(replyFor(query('web.1.aaa111.front'))), ['10.0.1.5']);
  });

  test('names are case-insensitive, a trailing dot is fine, and the case asked is echoed', () => {
    const r = replyFor(query('TASKS.Web.'));
    assert.deepEqual(addresses(r).sort(), ['10.0.1.5', '10.0.1.6']);
    assert.equal(r.questions[0]!.name, 'TASKS.Web');
    assert.equal(r.answers[0]!.name, 'TASKS.Web');
  });

  test('AAAA and other types for a known name: NOERROR with no answers', () => {
    for (const type of [TYPE.AAAA, TYPE.MX, TYPE.TXT]) {
      const r = replyFor(query('web', type));
      assert.equal(r.rcode, RCODE.NOERROR);
      assert.equal(r.answers.length, 0);
    }
  });

  test('unknown names, and services without ready tasks, are forwarded', () => {
    for (const name of ['example.com', 'idle', 'tasks.idle', 'web.other', 'tasks.', 'front']) {
      assert.equal(answer(query(name), index).kind, 'forward', name);
    }
    assert.equal(answer(query('web.3.zzz'), index).kind, 'forward');
  });

  test('an internal network forwards nothing: SERVFAIL', () => {
    const internal = buildZoneIndex({ ...zone, internal: true });
    const r = replyFor(query('example.com'), internal);
    assert.equal(r.rcode, RCODE.SERVFAIL);
    assert.deepEqual(addresses(replyFor(query('web'), internal)), ['10.0.1.2']);
  });

  test('reverse lookups of task IPs give the task name with the network; others are forwarded', () => {
    const r = replyFor(query('6.1.0.10.in-addr.arpa', TYPE.PTR));
    assert.deepEqual(r.answers[0]!.data, { kind: 'name', name: 'web.2.bbb222.front' });
    assert.equal(answer(query('2.1.0.10.in-addr.arpa', TYPE.PTR), index).kind, 'forward');
    assert.equal(answer(query('1.1.1.1.in-addr.arpa', TYPE.PTR), index).kind, 'forward');
  });

  test('queries with no question or another opcode get FORMERR / NOTIMP', () => {
    assert.equal(replyFor({ ...query('web'), questions: [] }).rcode, RCODE.FORMERR);
    assert.equal(replyFor({ ...query('web'), opcode: 2 }).rcode, RCODE.NOTIMP);
  });

  test('over UDP a big answer is cut to 512 bytes with TC; EDNS raises the limit; TCP carries it all', () => {
    const many = buildZoneIndex({
      network: 'n',
      internal: false,
      services: [
        { name: 'big', endpointMode: 'dnsrr', backends: Array.from({ length: 200 }, (_, i) => ({ taskId: `t${i}`, slot: i + 1, ip: `10.1.${i >> 8}.${i & 255}` })) },
      ],
    });
    const udp = answerPacket(encodeMessage(query('big')), many, 'udp');
    assert.equal(udp.kind, 'reply');
    if (udp.kind !== 'reply') return;
    assert.ok(udp.packet.length <= 512);
    const cut = parseMessage(udp.packet);
    assert.equal(cut.tc, true);
    assert.ok(cut.answers.length > 20 && cut.answers.length < 200);

    const edns = answerPacket(encodeMessage(query('big', TYPE.A, { edns: 4096 })), many, 'udp');
    assert.ok(edns.kind === 'reply' && edns.packet.length <= 4096 && parseMessage(edns.packet).answers.length === 200 && !parseMessage(edns.packet).tc);

    const small = answerPacket(encodeMessage(query('big', TYPE.A, { edns: 100 })), many, 'udp');
    assert.ok(small.kind === 'reply' && small.packet.length <= 512 && small.packet.length > 400, 'EDNS sizes under 512 count as 512');

    const tcp = answerPacket(encodeMessage(query('big')), many, 'tcp');
    assert.ok(tcp.kind === 'reply');
    const all = parseMessage(tcp.packet);
    assert.equal(all.tc, false);
    assert.equal(all.answers.length, 200);
  });

  test('packets: garbage gets FORMERR, responses and runts are dropped, unknown names are forwarded', () => {
    const garbage = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 40, 1]);
    const g = answerPacket(garbage, index, 'udp');
    assert.ok(g.kind === 'reply');
    const m = parseMessage(g.packet);
    assert.equal(m.id, 0xabcd);
    assert.equal(m.rcode, RCODE.FORMERR);

    assert.equal(answerPacket(Buffer.from([1, 2, 3]), index, 'udp').kind, 'drop');
    assert.equal(answerPacket(encodeMessage({ ...query('web'), qr: true }), index, 'udp').kind, 'drop');
    const f = answerPacket(encodeMessage(query('example.org')), index, 'udp');
    assert.equal(f.kind, 'forward');
  });

  test('a query with EDNS gets an OPT record back', () => {
    const r = answerPacket(encodeMessage(query('web', TYPE.A, { edns: 1232 })), index, 'udp');
    assert.ok(r.kind === 'reply');
    const opt = parseMessage(r.packet).additionals.find((x) => x.type === TYPE.OPT);
    assert.ok(opt, 'OPT record expected');
  });

  test('two services sharing an alias answer with both', () => {
    const shared = buildZoneIndex({
      network: 'n',
      internal: false,
      services: [
        { name: 'a', endpointMode: 'vip', vip: '10.2.0.2', backends: [], aliases: ['db'] },
        { name: 'b', endpointMode: 'vip', vip: '10.2.0.3', backends: [], aliases: ['db'] },
      ],
    });
    assert.deepEqual(addresses(replyFor(query('db'), shared)).sort(), ['10.2.0.2', '10.2.0.3']);
  });
});
