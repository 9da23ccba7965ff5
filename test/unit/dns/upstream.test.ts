import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { encodeMessage, parseMessage } from '../../../worker/network/dns/message.js';
import { Forwarder, queryTcp, upstreamsFromResolvConf } from '../../../worker/network/dns/upstream.js';
import { addresses, fakeUpstream, query } from './helpers.js';

describe('dns upstream forwarding', () => {
  test('resolv.conf: nameservers in order, loopback and scoped ones left out', () => {
    const text = [
      '# generated',
      'search example.com',
      'nameserver 127.0.0.53',
      'nameserver 10.255.255.53 # main',
      'nameserver ::1',
      'nameserver fe80::1%eth0',
      'nameserver 2001:db8::1',
      'nameserver bogus',
      'options ndots:2',
    ].join('\n');
    assert.deepEqual(upstreamsFromResolvConf(text), [
      { host: '10.255.255.53', port: 53 },
      { host: '2001:db8::1', port: 53 },
    ]);
  });

  test('tries upstreams in turn and returns the first reply', async () => {
    const up = await fakeUpstream('192.0.2.7');
    // A silent UDP socket: the forwarder must time out on it and move on.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    try {
      const f = new Forwarder({
        upstreams: async () => [
          { host: '127.0.0.1', port: silent.address().port },
          { host: '127.0.0.1', port: up.port },
        ],
        timeoutMs: 200,
      });
      const reply = await f.forward(encodeMessage(query('example.org')), false);
      assert.ok(reply);
      assert.deepEqual(addresses(parseMessage(reply)), ['192.0.2.7']);
      assert.deepEqual(up.seen, ['example.org']);
    } finally {
      silent.close();
      await up.close();
    }
  });

  test('no answer from any upstream gives undefined (the responder answers SERVFAIL)', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    try {
      const f = new Forwarder({ upstreams: async () => [{ host: '127.0.0.1', port: silent.address().port }], timeoutMs: 100 });
      assert.equal(await f.forward(encodeMessage(query('x.example')), false), undefined);
      assert.equal(await new Forwarder({ upstreams: async () => [] }).forward(encodeMessage(query('x')), false), undefined);
    } finally {
      silent.close();
    }
  });

  test('TCP queries go upstream over TCP with the length prefix', async () => {
    const server = createServer((sock) => {
      sock.once('data', (chunk: Buffer) => {
        const q = parseMessage(chunk.subarray(2));
        const r = encodeMessage({ ...q, qr: true, answers: [{ name: q.questions[0]!.name, type: 1, class: 1, ttl: 5, data: { kind: 'ipv4', address: '198.51.100.1' } }] });
        const framed = Buffer.alloc(r.length + 2);
        framed.writeUInt16BE(r.length, 0);
        r.copy(framed, 2);
        sock.end(framed);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      const reply = await queryTcp({ host: '127.0.0.1', port }, encodeMessage(query('tcp.example')), 2000);
      assert.ok(reply);
      assert.deepEqual(addresses(parseMessage(reply)), ['198.51.100.1']);
    } finally {
      server.close();
    }
  });
});
