// `shoal info` and `shoal version` against a fake daemon, and without one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VERSION } from '../../../shared/version.js';
import { FakeDaemon, shoal } from './fake-daemon.js';

const INFO = {
  ID: 'daemon-id',
  Name: 'host-1',
  ServerVersion: VERSION,
  OSType: 'linux',
  Architecture: 'x86_64',
  NCPU: 2,
  MemTotal: 4 * 1024 ** 3,
  DockerRootDir: '/var/lib/shoal',
  Swarm: { NodeID: 'n1', NodeAddr: '10.0.0.1', LocalNodeState: 'active', ControlAvailable: false, Error: '', RemoteManagers: [{ NodeID: 'm', Addr: '10.0.0.9:2377' }] },
};

const SERVER_VERSION = {
  Platform: { Name: 'shoal' },
  Components: [{ Name: 'Engine', Version: VERSION, Details: { NodeVersion: 'v24.0.0' } }],
  Version: VERSION,
  ApiVersion: '1.56',
  MinAPIVersion: '1.24',
  Os: 'linux',
  Arch: 'amd64',
};

test('shoal info prints the daemon\'s report like docker info, or its raw JSON', async (t) => {
  const daemon = await FakeDaemon.start({ 'GET /info': { body: INFO } });
  t.after(() => daemon.stop());
  const res = await shoal(daemon.host, 'info');
  assert.equal(res.stderr, '');
  assert.equal(
    res.stdout,
    [
      'Client:',
      ` Version:    ${VERSION}`,
      '',
      'Server:',
      ` Server Version: ${VERSION}`,
      ' Swarm: active',
      '  NodeID: n1',
      '  Is Manager: false',
      '  Node Address: 10.0.0.1',
      '  Manager Addresses:',
      '   10.0.0.9:2377',
      ' OSType: linux',
      ' Architecture: x86_64',
      ' CPUs: 2',
      ' Total Memory: 4GiB',
      ' Name: host-1',
      ' ID: daemon-id',
      ' Shoal Root Dir: /var/lib/shoal',
      ' Debug Mode: false',
      '',
      '',
    ].join('\n'),
  );
  const json = await shoal(daemon.host, 'info', '-f', 'json');
  assert.deepEqual(JSON.parse(json.stdout), INFO);
  assert.deepEqual(daemon.calls, ['GET /info', 'GET /info']);
});

test('shoal version shows client and server; --format json gives both objects', async (t) => {
  const daemon = await FakeDaemon.start({ 'GET /version': { body: SERVER_VERSION } });
  t.after(() => daemon.stop());
  const res = await shoal(daemon.host, 'version');
  assert.equal(res.code, 0);
  assert.match(res.stdout, /^Client:\n Version: {11}\S+\n/);
  assert.match(res.stdout, /\n\nServer: shoal\n Engine:\n {2}Version: {10}\S+\n {2}API version: {6}1\.56 \(minimum version 1\.24\)\n {2}Node version: {5}v24\.0\.0\n {2}OS\/Arch: {10}linux\/amd64\n$/);
  const json = await shoal(daemon.host, 'version', '--format', 'json');
  const parsed: { Client: Record<string, string>; Server: unknown } = JSON.parse(json.stdout);
  assert.equal(parsed.Client['Version'], VERSION);
  assert.deepEqual(parsed.Server, SERVER_VERSION);
  assert.deepEqual(daemon.calls, ['GET /version', 'GET /version']);
});

test('without a daemon: version prints the client part, then how to start the daemon; exit 1', async () => {
  // Started and stopped: its socket path is one nobody listens on.
  const daemon = await FakeDaemon.start({});
  await daemon.stop();
  const res = await shoal(daemon.host, 'version');
  assert.equal(res.code, 1);
  assert.match(res.stdout, /^Client:\n Version:/);
  assert.doesNotMatch(res.stdout, /Server/);
  const hint = `Cannot connect to the shoal daemon at ${daemon.host}. Is the shoal daemon running? (start it with: shoal daemon)\n`;
  assert.equal(res.stderr, hint);

  const json = await shoal(daemon.host, 'version', '--format', 'json');
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { Server: unknown }).Server, null);

  for (const args of [['info'], ['node', 'ls'], ['swarm', 'leave']]) {
    const other = await shoal(daemon.host, ...args);
    assert.equal(other.code, 1, args.join(' '));
    assert.equal(other.stderr, hint, args.join(' '));
  }
});

test('a bad -H address is refused before any request', async () => {
  const res = await shoal('ssh://somewhere', 'node', 'ls');
  assert.equal(res.code, 1);
  assert.equal(res.stderr, 'invalid daemon address "ssh://somewhere": unsupported form (use unix:///path/to/shoal.sock or tcp://HOST:PORT)\n');
});
