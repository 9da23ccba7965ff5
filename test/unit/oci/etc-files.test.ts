// /etc/hostname, /etc/hosts and /etc/resolv.conf as Docker writes them (etc-files.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FALLBACK_NAMESERVERS, hostnameFile, hostsFile, resolvConfFile } from '../../../worker/executor/oci/etc-files.js';

test('hostname and hosts', () => {
  assert.equal(hostnameFile('web-1'), 'web-1\n');
  const hosts = hostsFile('web-1', ['10.0.0.5 db db.local', 'cache:10.0.0.6', ''], ['10.0.1.2']).split('\n');
  assert.equal(hosts[0], '127.0.0.1\tlocalhost');
  assert.ok(hosts.includes('::1\tlocalhost ip6-localhost ip6-loopback'));
  assert.ok(hosts.includes('10.0.1.2\tweb-1'));
  assert.ok(hosts.includes('10.0.0.5\tdb db.local'));
  assert.ok(hosts.includes('10.0.0.6\tcache'));
  assert.ok(hostsFile('h', undefined).endsWith('ff02::2\tip6-allrouters\n'));
});

test("resolv.conf: the host's without loopback resolvers, Docker's fallback when none is left", () => {
  const host = '# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1 # corp\nsearch corp.example\noptions edns0 trust-ad\n';
  assert.equal(resolvConfFile(host, undefined), 'search corp.example\nnameserver 10.1.1.1\noptions edns0 trust-ad\n');
  assert.equal(resolvConfFile('nameserver 127.0.0.1\nnameserver ::1\n', undefined), FALLBACK_NAMESERVERS.map((n) => `nameserver ${n}\n`).join(''));
  assert.equal(resolvConfFile(undefined, undefined), FALLBACK_NAMESERVERS.map((n) => `nameserver ${n}\n`).join(''));
});

test('DNSConfig fields replace the host ones they name', () => {
  const host = 'nameserver 10.1.1.1\nsearch corp.example\noptions ndots:2\n';
  assert.equal(resolvConfFile(host, { Nameservers: ['1.1.1.1'] }), 'search corp.example\nnameserver 1.1.1.1\noptions ndots:2\n');
  assert.equal(resolvConfFile(host, { Search: ['a.b', 'c.d'], Options: ['timeout:1'] }), 'search a.b c.d\nnameserver 10.1.1.1\noptions timeout:1\n');
});
