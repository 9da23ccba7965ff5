// The daemon client: addresses, what goes over the wire, and how failures read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { DaemonClient, DaemonConnectionError, DaemonError, parseDaemonHost } from '../../../cli/http-client.js';
import { FakeDaemon } from './fake-daemon.js';

test('parseDaemonHost understands unix:// and tcp:// addresses', () => {
  assert.deepEqual(parseDaemonHost('unix:///run/shoal/shoal.sock'), {
    display: 'unix:///run/shoal/shoal.sock',
    origin: 'http://localhost',
    socketPath: '/run/shoal/shoal.sock',
  });
  assert.deepEqual(parseDaemonHost('tcp://127.0.0.1:2380'), { display: 'tcp://127.0.0.1:2380', origin: 'http://127.0.0.1:2380' });
  assert.equal(parseDaemonHost('tcp://localhost').origin, 'http://localhost:2375');
  assert.equal(parseDaemonHost('tcp://[::1]:1234').origin, 'http://[::1]:1234');
  assert.equal(parseDaemonHost().socketPath, '/run/shoal/shoal.sock');
  for (const bad of ['unix://relative.sock', 'ssh://host', 'tcp://h:99999', '127.0.0.1:2375', 'tcp://h:1/x']) {
    assert.throws(() => parseDaemonHost(bad), /invalid daemon address .*use unix:\/\/\/path\/to\/shoal\.sock or tcp:\/\/HOST:PORT/, bad);
  }
});

test('requests carry the API version prefix, query and JSON body; answers are parsed', async (t) => {
  const daemon = await FakeDaemon.start({
    'GET /nodes': { body: [{ ID: 'n1' }] },
    'POST /nodes/a b/update': { status: 200 },
  });
  t.after(() => daemon.stop());
  const client = new DaemonClient({ host: daemon.host });
  t.after(() => client.close());

  assert.deepEqual(await client.get('/nodes', { filters: '{"role":["manager"]}', skipped: undefined }), [{ ID: 'n1' }]);
  assert.equal(await client.post('/nodes/a%20b/update', { Role: 'worker' }, { version: 3, force: true }), undefined);

  const [list, update] = daemon.requests;
  assert.equal(list?.apiVersion, '1.56');
  assert.deepEqual(list?.query, { filters: '{"role":["manager"]}' });
  assert.match(String(list?.headers['user-agent']), /^shoal-cli\//);
  assert.equal(update?.method, 'POST');
  assert.equal(update?.path, '/nodes/a b/update');
  assert.deepEqual(update?.query, { version: '3', force: 'true' });
  assert.deepEqual(update?.body, { Role: 'worker' });
  assert.equal(update?.headers['content-type'], 'application/json');
});

test('non-2xx answers become DaemonError with the daemon\'s message and status', async (t) => {
  const daemon = await FakeDaemon.start({
    'GET /swarm': { status: 503, body: { message: 'This node is not a swarm manager.' } },
    'GET /fastify': { status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'body must be object' } },
    'GET /empty': { status: 500 },
    'GET /text': () => ({ status: 502, body: 'upstream broke' }),
  });
  t.after(() => daemon.stop());
  const client = new DaemonClient({ host: daemon.host });
  t.after(() => client.close());

  await assert.rejects(client.get('/swarm'), (err: unknown) => {
    assert.ok(err instanceof DaemonError);
    assert.equal(err.message, 'This node is not a swarm manager.');
    assert.equal(err.status, 503);
    assert.equal(err.code, 'unavailable');
    return true;
  });
  await assert.rejects(client.get('/fastify'), { message: 'body must be object', code: 'invalid_argument' });
  await assert.rejects(client.get('/empty'), { message: 'the daemon answered HTTP 500 with no message' });
  await assert.rejects(client.get('/text'), { message: '"upstream broke"' });
  await assert.rejects(client.get('/nothing-here'), { message: 'page not found', status: 404, code: 'not_found' });
});

test('an absent daemon gets an actionable message (unix socket and TCP)', async (t) => {
  const daemon = await FakeDaemon.start({});
  const missing = daemon.socketPath.replace(/shoal\.sock$/, 'absent.sock');
  t.after(() => daemon.stop());
  const unix = new DaemonClient({ host: `unix://${missing}` });
  t.after(() => unix.close());
  await assert.rejects(unix.get('/info'), (err: unknown) => {
    assert.ok(err instanceof DaemonConnectionError);
    assert.equal(err.message, `Cannot connect to the shoal daemon at unix://${missing}. Is the shoal daemon running? (start it with: shoal daemon)`);
    return true;
  });

  // A port that was just free: nothing listens there any more.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const tcp = new DaemonClient({ host: `tcp://127.0.0.1:${address.port}` });
  t.after(() => tcp.close());
  await assert.rejects(tcp.get('/info'), { message: `Cannot connect to the shoal daemon at tcp://127.0.0.1:${address.port}. Is the shoal daemon running? (start it with: shoal daemon)` });
});

test('a daemon that does not answer times out with a message naming the request', async (t) => {
  const daemon = await FakeDaemon.start({ 'GET /info': { hang: true } });
  t.after(() => daemon.stop());
  const client = new DaemonClient({ host: daemon.host, timeoutMs: 100 });
  t.after(() => client.close());
  await assert.rejects(client.get('/info'), (err: unknown) => {
    assert.ok(err instanceof DaemonConnectionError);
    assert.match(err.message, /^the shoal daemon at unix:\/\/.* did not answer GET \/info within 0\.1s/);
    return true;
  });
});
