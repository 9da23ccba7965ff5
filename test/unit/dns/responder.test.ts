// The responder's sockets in-process on loopback (no namespace, no root).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/logger.js';
import { encodeMessage, parseMessage, RCODE, TYPE } from '../../../worker/network/dns/message.js';
import { Responder } from '../../../worker/network/dns/responder.js';
import { addresses, fakeUpstream, query, tcpQuery, udpQuery } from './helpers.js';

const log = createLogger({ level: process.env['SHOAL_TEST_LOG'] ?? 'silent' });

describe('dns responder sockets', () => {
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let responder: Responder;
  let port: number;
  let forwardFails = false;

  before(async () => {
    upstream = await fakeUpstream('192.0.2.1');
    const { Forwarder } = await import('../../../worker/network/dns/upstream.js');
    const f = new Forwarder({ upstreams: async () => [{ host: '127.0.0.1', port: upstream.port }], timeoutMs: 500 });
    responder = new Responder({
      listenIp: '127.0.0.1',
      port: 0,
      logger: log,
      forward: (packet, tcp) => (forwardFails ? Promise.resolve(undefined) : f.forward(packet, tcp)),
    });
    responder.setZone({
      network: 'front',
      internal: false,
      services: [{ name: 'web', endpointMode: 'vip', vip: '10.0.1.2', backends: [{ taskId: 't1', slot: 1, ip: '10.0.1.5' }] }],
    });
    port = await responder.listen();
  });

  after(async () => {
    await responder.close();
    await upstream.close();
  });

  test('answers over UDP and TCP on the same port', async () => {
    const u = parseMessage(await udpQuery('127.0.0.1', port, encodeMessage(query('web'))));
    assert.deepEqual(addresses(u), ['10.0.1.2']);
    const t = parseMessage(await tcpQuery('127.0.0.1', port, encodeMessage(query('tasks.web'))));
    assert.deepEqual(addresses(t), ['10.0.1.5']);
  });

  test('a new zone is answered from at once', async () => {
    responder.setZone({
      network: 'front',
      internal: false,
      services: [{ name: 'web', endpointMode: 'dnsrr', backends: [{ taskId: 't1', slot: 1, ip: '10.0.1.5' }, { taskId: 't2', slot: 2, ip: '10.0.1.6' }] }],
    });
    const u = parseMessage(await udpQuery('127.0.0.1', port, encodeMessage(query('web'))));
    assert.deepEqual(addresses(u).sort(), ['10.0.1.5', '10.0.1.6']);
  });

  test('unknown names are forwarded; when no upstream answers the client gets SERVFAIL', async () => {
    const q = query('example.net');
    const r = parseMessage(await udpQuery('127.0.0.1', port, encodeMessage(q)));
    assert.equal(r.id, q.id);
    assert.deepEqual(addresses(r), ['192.0.2.1']);
    assert.ok(upstream.seen.includes('example.net'));

    forwardFails = true;
    try {
      const q2 = query('down.example', TYPE.A);
      const f = parseMessage(await udpQuery('127.0.0.1', port, encodeMessage(q2)));
      assert.equal(f.id, q2.id);
      assert.equal(f.rcode, RCODE.SERVFAIL);
    } finally {
      forwardFails = false;
    }
  });
});
