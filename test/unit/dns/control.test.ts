import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ControlProtocolError,
  encodeLine,
  LineSplitter,
  parseFromResponder,
  parseToResponder,
  type ToResponder,
} from '../../../worker/network/dns/control.js';
import { zoneFromServices } from '../../../worker/network/dns/zone.js';

describe('dns control protocol', () => {
  test('a zone built from the network state round-trips through a line', () => {
    const zone = zoneFromServices('front', false, [
      {
        id: 's1',
        name: 'web',
        endpointMode: 'vip',
        vip: '10.0.1.2',
        backends: [{ taskId: 't1', slot: 1, ip: '10.0.1.5' }],
        ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' }],
      },
    ]);
    const msg: ToResponder = { type: 'zone', zone };
    const line = encodeLine(msg);
    assert.ok(line.endsWith('\n'));
    assert.deepEqual(parseToResponder(line.trim()), msg);
    assert.ok(!line.includes('ports'), 'the responder gets only what it answers from');
  });

  test('invalid messages are refused with what is wrong', () => {
    assert.throws(() => parseToResponder('{"type":"zone","zone":{"network":"n","internal":false,"services":[{"name":"x","endpointMode":"vip","vip":"nope","backends":[]}]}}'), /vip is not an IPv4/);
    assert.throws(() => parseToResponder('{"type":"zone","zone":{"network":"n","internal":false,"services":[{"name":"x","endpointMode":"rr","backends":[]}]}}'), /endpointMode/);
    assert.throws(() => parseToResponder('{"type":"other"}'), ControlProtocolError);
    assert.throws(() => parseToResponder('not json'), /not JSON/);
    assert.throws(() => parseFromResponder('{"type":"ready","port":70000}'), /port/);
    assert.deepEqual(parseFromResponder('{"type":"forward","id":3,"packet":"AAE=","tcp":false}'), { type: 'forward', id: 3, packet: 'AAE=', tcp: false });
    assert.deepEqual(parseToResponder('{"type":"forwarded","id":3,"packet":null}'), { type: 'forwarded', id: 3, packet: null });
  });

  test('the line splitter joins chunks, splits several lines, and bounds a line', () => {
    const s = new LineSplitter(16);
    assert.deepEqual(s.push(Buffer.from('ab')), []);
    assert.deepEqual(s.push(Buffer.from('c\nde\n\nf')), ['abc', 'de']);
    assert.deepEqual(s.push(Buffer.from('g\n')), ['fg']);
    assert.throws(() => s.push(Buffer.from('x'.repeat(17))), /longer than 16/);
  });
});
