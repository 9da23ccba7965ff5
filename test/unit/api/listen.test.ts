import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopbackHost, listen, parseHostSpec } from '../../../manager/api/listen.js';
import { API_VERSION } from '../../../shared/version.js';
import { harness } from './helpers.js';

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function getOverSocket(socketPath: string, path: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { host: 'docker' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-api-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('parseHostSpec: unix sockets and loopback TCP', () => {
  assert.deepEqual(parseHostSpec('unix:///run/shoal/shoal.sock'), { kind: 'unix', path: '/run/shoal/shoal.sock' });
  assert.deepEqual(parseHostSpec('tcp://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHostSpec('tcp://localhost'), { kind: 'tcp', host: 'localhost', port: 2375 });
  assert.deepEqual(parseHostSpec('tcp://[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
});

test('parseHostSpec: TCP off this machine is refused because there is no TLS', () => {
  for (const spec of ['tcp://0.0.0.0:2375', 'tcp://10.0.0.5:2375', 'tcp://[::]:2375', 'tcp://example.com:2375']) {
    assert.throws(() => parseHostSpec(spec), { status: 400, message: /TLS is not implemented, so TCP is only allowed on a loopback address/ }, spec);
  }
});

test('parseHostSpec: other forms get a message showing the accepted ones', () => {
  for (const spec of ['unix://relative.sock', 'http://127.0.0.1:2375', 'fd://', '/run/shoal.sock', 'tcp://127.0.0.1:2375/path']) {
    assert.throws(() => parseHostSpec(spec), { status: 400 }, spec);
  }
});

test('isLoopbackHost', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.example.com']) assert.equal(isLoopbackHost(h), false, h);
});

test('listen on a unix socket: parent dir created, mode 0660, requests answered', async () => {
  await withTempDir(async (dir) => {
    const socketPath = join(dir, 'run', 'shoal', 'api.sock');
    const { server } = harness();
    try {
      assert.equal(await listen(server, `unix://${socketPath}`), `unix://${socketPath}`);
      assert.equal((await stat(socketPath)).mode & 0o777, 0o660);
      const ping = await getOverSocket(socketPath, '/_ping');
      assert.equal(ping.status, 200);
      assert.equal(ping.body, 'OK');
      assert.equal(ping.headers['api-version'], API_VERSION);
      const info = await getOverSocket(socketPath, '/v1.47/info');
      assert.equal(info.status, 200);
      assert.equal(info.headers['content-type'], 'application/json');
      assert.equal(JSON.parse(info.body).Name, 'host-1');
    } finally {
      await server.close();
    }
  });
});

test('listen replaces a stale socket left by a killed daemon', async () => {
  await withTempDir(async (dir) => {
    const socketPath = join(dir, 'api.sock');
    // A child that binds the socket and is then SIGKILLed leaves the file behind.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('ready'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    // A child that dies first never prints: fail then, instead of waiting for 'data' forever.
    const listening = await Promise.race([once(child.stdout, 'data').then(() => true), exited.then(() => false)]);
    assert.ok(listening, 'the socket-binding child exited before listening');
    child.kill('SIGKILL');
    await exited;
    assert.ok((await stat(socketPath)).isSocket());

    const { server } = harness();
    try {
      await listen(server, `unix://${socketPath}`);
      assert.equal((await getOverSocket(socketPath, '/_ping')).status, 200);
    } finally {
      await server.close();
    }
  });
});

test('listen refuses a socket another process is serving, and a path that is not a socket', async () => {
  await withTempDir(async (dir) => {
    const live = join(dir, 'live.sock');
    const other = createServer();
    other.listen(live);
    await once(other, 'listening');
    try {
      const { server } = harness();
      await assert.rejects(listen(server, `unix://${live}`), { status: 400, message: /another process is serving on it/ });
      await server.close();
    } finally {
      other.close();
    }

    const file = join(dir, 'plain-file');
    await writeFile(file, 'keep me');
    const { server } = harness();
    await assert.rejects(listen(server, `unix://${file}`), { status: 400, message: /exists and is not a socket/ });
    await server.close();
    assert.equal((await stat(file)).isFile(), true, 'the file is left alone');
  });
});

test('listen on loopback TCP reports the bound port', async () => {
  const { server } = harness();
  try {
    const address = await listen(server, 'tcp://127.0.0.1:0');
    assert.match(address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${address.slice('tcp://'.length)}/v1.41/version`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ApiVersion: string };
    assert.equal(body.ApiVersion, API_VERSION);
  } finally {
    await server.close();
  }
});

test('listen refuses non-loopback TCP before binding anything', async () => {
  const { server } = harness();
  await assert.rejects(listen(server, 'tcp://0.0.0.0:0'), { status: 400, message: /TLS is not implemented/ });
  assert.equal(server.server.listening, false);
  await server.close();
});
