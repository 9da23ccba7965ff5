import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { NetworkInterfaceInfo } from 'node:os';
import { InvalidArgumentError } from '../../../shared/errors.js';
import { resolveAdvertise } from '../../../cli/daemon/advertise.js';

// resolveAdvertise reads os.networkInterfaces(); the tests give it interfaces of their own
// through the CommonJS export, which syncBuiltinESMExports() makes the ESM binding follow.
const os = createRequire(import.meta.url)('node:os') as { networkInterfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> };

function v4(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` };
}
function v6(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: `${address}/64`, scopeid: 0 };
}

function withInterfaces<T>(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>, fn: () => T): T {
  const original = os.networkInterfaces;
  os.networkInterfaces = () => ifaces;
  syncBuiltinESMExports();
  try {
    return fn();
  } finally {
    os.networkInterfaces = original;
    syncBuiltinESMExports();
  }
}

const LISTEN_ANY = { host: '0.0.0.0', port: 2377 };
const HOST = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v6('fe80::1'), v4('192.168.1.10')],
  eth6: [v6('fd00::6')],
};

test('an explicit address wins; without a port it takes the listen port', () => {
  withInterfaces(HOST, () => {
    assert.deepEqual(resolveAdvertise('10.1.2.3', LISTEN_ANY), { host: '10.1.2.3', port: 2377 });
    assert.deepEqual(resolveAdvertise('10.1.2.3:4000', LISTEN_ANY), { host: '10.1.2.3', port: 4000 });
    assert.deepEqual(resolveAdvertise('10.1.2.3', { host: '0.0.0.0', port: 5000 }), { host: '10.1.2.3', port: 5000 });
    assert.deepEqual(resolveAdvertise('[fd00::9]:4000', LISTEN_ANY), { host: 'fd00::9', port: 4000 });
    assert.deepEqual(resolveAdvertise('mgr-1.example', LISTEN_ANY), { host: 'mgr-1.example', port: 2377 }, 'not an interface: a name');
    assert.throws(() => resolveAdvertise('10.1.2.3:99999', LISTEN_ANY), InvalidArgumentError);
  });
});

test('an interface name stands for its address, IPv4 first', () => {
  withInterfaces(HOST, () => {
    assert.deepEqual(resolveAdvertise('eth0', LISTEN_ANY), { host: '192.168.1.10', port: 2377 });
    assert.deepEqual(resolveAdvertise('eth0:4000', LISTEN_ANY), { host: '192.168.1.10', port: 4000 });
    assert.deepEqual(resolveAdvertise('lo', LISTEN_ANY), { host: '127.0.0.1', port: 2377 });
  });
});

test('an interface with only an IPv6 address', () => {
  withInterfaces(HOST, () => {
    assert.deepEqual(resolveAdvertise('eth6', LISTEN_ANY), { host: 'fd00::6', port: 2377 });
    assert.deepEqual(resolveAdvertise('eth6:4000', LISTEN_ANY), { host: 'fd00::6', port: 4000 });
  });
});

test('no --advertise-addr: a specific listen address is advertised as it is', () => {
  withInterfaces({}, () => {
    assert.deepEqual(resolveAdvertise(undefined, { host: '10.0.0.5', port: 2377 }), { host: '10.0.0.5', port: 2377 });
    assert.deepEqual(resolveAdvertise('', { host: '127.0.0.1', port: 0 }), { host: '127.0.0.1', port: 0 }, 'empty is unset');
  });
});

test('listening on every address: the one non-loopback IPv4 address, or a clear error', () => {
  withInterfaces(HOST, () => {
    assert.deepEqual(resolveAdvertise(undefined, LISTEN_ANY), { host: '192.168.1.10', port: 2377 });
    assert.deepEqual(resolveAdvertise(undefined, { host: '::', port: 7000 }), { host: '192.168.1.10', port: 7000 });
  });
  withInterfaces({ lo: HOST.lo, eth6: HOST.eth6 }, () => {
    assert.throws(
      () => resolveAdvertise(undefined, LISTEN_ANY),
      (err: unknown) => err instanceof InvalidArgumentError && /no non-loopback IPv4 address; use --advertise-addr/.test(err.message),
    );
  });
  withInterfaces({ ...HOST, eth1: [v4('10.9.9.9')] }, () => {
    assert.throws(
      () => resolveAdvertise(undefined, LISTEN_ANY),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        /multiple addresses/.test(err.message) &&
        err.message.includes('192.168.1.10 on eth0') &&
        err.message.includes('10.9.9.9 on eth1') &&
        /--advertise-addr$/.test(err.message),
    );
  });
});
