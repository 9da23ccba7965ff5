import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SWARM_PORT,
  formatHostPort,
  fromMultiaddr,
  hostOfMultiaddr,
  parseHostPort,
  toMultiaddr,
} from '../../../shared/addr.js';
import { InvalidArgumentError } from '../../../shared/errors.js';

test('parseHostPort: IPv4, names and [IPv6], with and without a port', () => {
  assert.deepEqual(parseHostPort('10.0.0.1:4000'), { host: '10.0.0.1', port: 4000 });
  assert.deepEqual(parseHostPort('10.0.0.1'), { host: '10.0.0.1', port: DEFAULT_SWARM_PORT });
  assert.deepEqual(parseHostPort('10.0.0.1', 9000), { host: '10.0.0.1', port: 9000 });
  assert.deepEqual(parseHostPort('mgr-1.example:2377'), { host: 'mgr-1.example', port: 2377 });
  assert.deepEqual(parseHostPort('[::1]:4000'), { host: '::1', port: 4000 });
  assert.deepEqual(parseHostPort('[fe80::1]'), { host: 'fe80::1', port: DEFAULT_SWARM_PORT });
  assert.deepEqual(parseHostPort('  tcp://127.0.0.1:0 '), { host: '127.0.0.1', port: 0 }, 'tcp:// and blanks are dropped; 0 is an ephemeral port');
  assert.deepEqual(parseHostPort('0.0.0.0:65535'), { host: '0.0.0.0', port: 65535 });
});

test('parseHostPort: rejects what is not HOST[:PORT] with InvalidArgumentError', () => {
  for (const bad of ['', ':2377', '::1', '1.2.3.4:5:6', 'tcp://', 'h:65536', 'h:-1', 'h:abc', 'h:', 'h:0x50', 'h:1e3', 'h: 80', 'h:80.5', '[::1]:', '[::1]:x']) {
    assert.throws(() => parseHostPort(bad), InvalidArgumentError, `accepted ${JSON.stringify(bad)}`);
  }
});

test('formatHostPort brackets IPv6 and round-trips through parseHostPort', () => {
  assert.equal(formatHostPort({ host: '10.0.0.1', port: 2377 }), '10.0.0.1:2377');
  assert.equal(formatHostPort({ host: '::1', port: 2377 }), '[::1]:2377');
  for (const hp of [
    { host: '10.0.0.1', port: 1 },
    { host: '::1', port: 4000 },
    { host: 'node-7', port: 2377 },
  ]) {
    assert.deepEqual(parseHostPort(formatHostPort(hp)), hp);
  }
});

test('toMultiaddr picks ip4, ip6 or dns, and fromMultiaddr reads them back', () => {
  assert.equal(toMultiaddr({ host: '10.0.0.1', port: 2377 }), '/ip4/10.0.0.1/tcp/2377');
  assert.equal(toMultiaddr({ host: '::1', port: 2377 }), '/ip6/::1/tcp/2377');
  assert.equal(toMultiaddr({ host: 'mgr-1', port: 2377 }), '/dns/mgr-1/tcp/2377');
  for (const hp of [
    { host: '10.0.0.1', port: 2377 },
    { host: '::1', port: 40000 },
    { host: 'mgr-1', port: 1 },
  ]) {
    assert.deepEqual(fromMultiaddr(toMultiaddr(hp)), hp);
  }
  // A peer id suffix is ignored; dns4/dns6 are understood.
  assert.deepEqual(fromMultiaddr('/ip4/10.0.0.2/tcp/4000/p2p/12D3KooWabc'), { host: '10.0.0.2', port: 4000 });
  assert.deepEqual(fromMultiaddr('/dns4/h/tcp/5'), { host: 'h', port: 5 });
  assert.equal(hostOfMultiaddr('/ip6/fe80::2/tcp/2377'), 'fe80::2');
});

test('fromMultiaddr rejects addresses it cannot dial over TCP', () => {
  for (const bad of ['', '10.0.0.1:2377', '/ip4/10.0.0.1/udp/2377', '/unix/tmp/sock', '/ip4/10.0.0.1']) {
    assert.throws(() => fromMultiaddr(bad), InvalidArgumentError, `accepted ${JSON.stringify(bad)}`);
  }
});
