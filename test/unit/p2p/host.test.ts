import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { isShoalError, NotFoundError, UnavailableError } from '../../../shared/errors.js';
import {
  FrameTooLargeError,
  P2PTimeoutError,
  PeerIdentityError,
  PeerUnreachableError,
  ProtocolUnsupportedError,
  RemoteError,
  StreamClosedError,
} from '../../../shared/p2p/errors.js';
import type { MessageStream } from '../../../shared/p2p/host.js';
import { closedPort, deferred, eventually, makeHost, stopAllHosts, withHosts } from './hosts.js';

const ECHO = '/test/echo/1';
// Real hosts on loopback: a message, close or reset that never arrives must
// fail the test, not hang it; the hosts such a test left open are stopped
// afterwards so that the file's process can still exit.
const LIMIT = { timeout: 60_000 };
after(stopAllHosts);

test('listen addresses carry the real port', LIMIT, async () => {
  await withHosts(1, async ([a]) => {
    const addrs = a!.host.listenAddrs();
    assert.ok(addrs.length > 0);
    for (const addr of addrs) {
      assert.match(addr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
      assert.notEqual(addr, '/ip4/127.0.0.1/tcp/0');
    }
  });
});

test('request/response round-trips values and names the authenticated caller', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    server!.host.handleRequest<{ n: number; blob: Uint8Array }, unknown>(ECHO, async (req, ctx) => ({
      doubled: req.n * 2,
      blob: req.blob,
      caller: ctx.peerId,
      protocol: ctx.protocol,
    }));
    const res = await client!.host.request(server!.target, ECHO, { n: 21, blob: new Uint8Array([1, 2, 3]) });
    assert.deepEqual(res, { doubled: 42, blob: Buffer.from([1, 2, 3]), caller: client!.host.peerId, protocol: ECHO });
    // Many at once over the same connection.
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => client!.host.request(server!.target, ECHO, { n: i, blob: new Uint8Array() })));
    assert.deepEqual(
      many.map((r) => (r as { doubled: number }).doubled),
      Array.from({ length: 50 }, (_, i) => i * 2),
    );
    assert.ok(client!.host.isConnected(server!.host.peerId));
    assert.ok(server!.host.connectedPeers().includes(client!.host.peerId));
  });
});

test('dialling a bare address learns the peer id from the handshake', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    server!.host.handleRequest(ECHO, async () => 'hello');
    const { response, peerId } = await client!.host.requestWithPeer({ addr: server!.target.addr }, ECHO, {});
    assert.equal(response, 'hello');
    assert.equal(peerId, server!.host.peerId);
  });
});

test('a remote ShoalError keeps its status and code; other errors stay private', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    server!.host.handleRequest('/test/notfound/1', async () => {
      throw new NotFoundError('service web not found');
    });
    server!.host.handleRequest('/test/bug/1', async () => {
      throw new TypeError('secret internal detail');
    });
    await assert.rejects(client!.host.request(server!.target, '/test/notfound/1', {}), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.ok(isShoalError(err));
      assert.equal(err.status, 404);
      assert.equal(err.code, 'not_found');
      assert.equal(err.message, 'service web not found');
      return true;
    });
    await assert.rejects(client!.host.request(server!.target, '/test/bug/1', {}), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.status, 500);
      assert.equal(err.code, 'internal');
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
    assert.ok(server!.lines.some((l) => l['level'] === 50 && l['protocol'] === '/test/bug/1'), 'the bug is logged where it happened');
  });
});

test('a request times out with a timeout error when the handler does not answer', LIMIT, async () => {
  let release!: () => void;
  const never = new Promise<void>((r) => (release = r));
  await withHosts(2, async ([server, client]) => {
    server!.host.handleRequest('/test/slow/1', async () => {
      await never;
      return 'late';
    });
    server!.host.handleRequest('/test/handler-deadline/1', async () => {
      await never;
      return 'late';
    }, { timeoutMs: 100 });
    const started = Date.now();
    await assert.rejects(client!.host.request(server!.target, '/test/slow/1', {}, { timeoutMs: 200, peerLabel: 'manager' }), (err: unknown) => {
      assert.ok(err instanceof P2PTimeoutError);
      assert.equal(err.status, 504);
      assert.match(err.message, /manager at \/ip4\/127\.0\.0\.1\/tcp\/\d+/);
      return true;
    });
    assert.ok(Date.now() - started < 2_000);
    // The server's own deadline answers the caller, who need not wait out its own.
    await assert.rejects(client!.host.request(server!.target, '/test/handler-deadline/1', {}, { timeoutMs: 5_000 }), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.code, 'timeout');
      assert.equal(err.status, 504);
      return true;
    });
    // A caller's own abort wins over the timeout.
    const ac = new AbortController();
    const pending = client!.host.request(server!.target, '/test/slow/1', {}, { signal: ac.signal });
    ac.abort(new Error('caller gave up'));
    await assert.rejects(pending, /caller gave up/);
  });
  release();
});

test('an oversized request is refused with 413 and the host keeps serving', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    server!.host.handleRequest<{ data: Uint8Array }, number>('/test/small/1', async (req) => req.data.byteLength, { maxRequestBytes: 1024 });
    await assert.rejects(client!.host.request(server!.target, '/test/small/1', { data: new Uint8Array(64 * 1024) }), (err: unknown) => {
      assert.ok(err instanceof RemoteError, `got ${String(err)}`);
      assert.equal(err.status, 413);
      assert.equal(err.code, 'frame_too_large');
      assert.match(err.message, /limit of 1024 bytes for \/test\/small\/1/);
      return true;
    });
    assert.equal(await client!.host.request(server!.target, '/test/small/1', { data: new Uint8Array(100) }), 100);
    assert.ok(server!.lines.some((l) => l['level'] === 40 && l['protocol'] === '/test/small/1'));
  });
});

test('an oversized response is refused by the caller', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    server!.host.handleRequest('/test/big/1', async () => new Uint8Array(64 * 1024));
    await assert.rejects(client!.host.request(server!.target, '/test/big/1', {}, { maxResponseBytes: 1024 }), FrameTooLargeError);
    assert.equal((await client!.host.request<object, Uint8Array>(server!.target, '/test/big/1', {})).byteLength, 64 * 1024);
  });
});

test('the guard refuses a stream before its handler runs, and says so in the log', LIMIT, async () => {
  let calls = 0;
  let clientId = '';
  await withHosts(
    2,
    async ([server, client]) => {
      clientId = client!.host.peerId;
      server!.host.handleRequest('/test/secret/1', async () => {
        calls++;
        return 'secret';
      });
      server!.host.handleRequest(ECHO, async () => 'public');
      await assert.rejects(client!.host.request(server!.target, '/test/secret/1', {}), (err: unknown) => {
        assert.ok(err instanceof StreamClosedError, `got ${String(err)}`);
        assert.match(err.message, /reset by the peer/);
        return true;
      });
      assert.equal(calls, 0);
      const warn = server!.lines.find((l) => l['msg'] === 'refused an inbound p2p stream');
      assert.ok(warn, 'a warning is logged');
      assert.equal(warn['peer'], clientId);
      assert.equal(warn['protocol'], '/test/secret/1');
      assert.equal(warn['reason'], 'workers may not read secrets');
      // Other protocols on the same connection are unaffected.
      assert.equal(await client!.host.request(server!.target, ECHO, {}), 'public');
    },
    [{ guard: (peer, protocol) => (protocol === '/test/secret/1' && peer === clientId ? { allow: false, reason: 'workers may not read secrets' } : { allow: true }) }],
  );
});

test('the connection guard refuses banned peers outright', LIMIT, async () => {
  let banned = '';
  await withHosts(
    2,
    async ([server, client]) => {
      banned = client!.host.peerId;
      server!.host.handleRequest(ECHO, async () => 'hi');
      await assert.rejects(client!.host.request(server!.target, ECHO, {}, { timeoutMs: 3_000 }), (err: unknown) => isShoalError(err));
      assert.equal(server!.host.isConnected(banned), false);
    },
    [{ connectionGuard: (peer) => peer !== banned }],
  );
});

test('dial failures say who could not be reached and why', LIMIT, async () => {
  await withHosts(2, async ([a, b]) => {
    const port = await closedPort();
    await assert.rejects(a!.host.request({ addr: `/ip4/127.0.0.1/tcp/${port}` }, ECHO, {}, { peerLabel: 'manager' }), (err: unknown) => {
      assert.ok(err instanceof PeerUnreachableError);
      assert.equal(err.message.startsWith(`cannot reach manager at /ip4/127.0.0.1/tcp/${port}: connection refused`), true, err.message);
      return true;
    });
    // The right address, but someone else's key: refused by the Noise handshake.
    await assert.rejects(a!.host.request({ addr: b!.target.addr, peerId: a!.host.peerId.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }, ECHO, {}), (err: unknown) => isShoalError(err));
    const c = await makeHost();
    try {
      await assert.rejects(a!.host.request({ addr: b!.target.addr, peerId: c.host.peerId }, ECHO, {}), PeerIdentityError);
    } finally {
      await c.host.stop();
    }
    await assert.rejects(a!.host.request(b!.target, '/test/unknown/1', {}), ProtocolUnsupportedError);
    await assert.rejects(a!.host.request({ addr: 'not-a-multiaddr' }, ECHO, {}), /invalid peer address/);
    // Something that is not a shoal daemon answers on the port.
    const junk = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve));
    try {
      const { port: junkPort } = junk.address() as AddressInfo;
      await assert.rejects(a!.host.request({ addr: `/ip4/127.0.0.1/tcp/${junkPort}` }, ECHO, {}), (err: unknown) => {
        assert.ok(err instanceof PeerUnreachableError);
        assert.match(err.message, /handshake failed \(is a shoal daemon listening on that port\?\)/);
        return true;
      });
    } finally {
      junk.close();
    }
  });
});

test('streams carry messages both ways, in order, and close cleanly from either end', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    const serverDone = deferred<string[]>();
    server!.host.handleStream('/test/chat/1', (s, ctx) => {
      void (async () => {
        const seen: string[] = [];
        s.send({ hello: ctx.peerId });
        for await (const m of s) {
          seen.push(String(m));
          s.send(`ack ${String(m)}`);
        }
        await s.close();
        serverDone.resolve(seen);
      })().catch(serverDone.reject);
    });
    const s = await client!.host.openStream(server!.target, '/test/chat/1');
    assert.equal(s.remotePeer, server!.host.peerId);
    const first = await s.read();
    assert.deepEqual(first, { done: false, value: { hello: client!.host.peerId } });
    for (let i = 0; i < 100; i++) s.send(`m${i}`);
    const acks: unknown[] = [];
    for (let i = 0; i < 100; i++) acks.push((await s.read()).value);
    assert.deepEqual(acks, Array.from({ length: 100 }, (_, i) => `ack m${i}`));
    await s.close();
    assert.deepEqual(await serverDone.promise, Array.from({ length: 100 }, (_, i) => `m${i}`));
    assert.deepEqual(await s.read(), { done: true, value: undefined });
    assert.equal(s.writable, false);
    assert.throws(() => s.send('after close'), StreamClosedError);
  });
});

test('a fast sender honouring backpressure gets everything through to a slow reader', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    const received = deferred<number[]>();
    server!.host.handleStream('/test/bulk/1', (s) => {
      void (async () => {
        const got: number[] = [];
        for await (const m of s) {
          got.push((m as { i: number }).i);
          if (got.length % 50 === 0) await new Promise((r) => setImmediate(r));
        }
        await s.close();
        received.resolve(got);
      })().catch(received.reject);
    });
    const s = await client!.host.openStream(server!.target, '/test/bulk/1');
    const pad = new Uint8Array(64 * 1024);
    let waits = 0;
    for (let i = 0; i < 400; i++) {
      if (!s.send({ i, pad })) {
        waits++;
        await s.onDrain();
      }
    }
    await s.close();
    assert.deepEqual(await received.promise, Array.from({ length: 400 }, (_, i) => i));
    assert.ok(waits > 0, '25 MiB cannot go out without the send buffer filling at least once');
  });
});

test('an oversized message resets a stream; the reader sees a typed error', LIMIT, async () => {
  await withHosts(2, async ([server, client]) => {
    const serverErr = deferred<unknown>();
    server!.host.handleStream(
      '/test/limited/1',
      (s) => {
        void (async () => {
          for await (const _ of s) {
            // draining
          }
        })().then(() => serverErr.resolve(undefined), serverErr.resolve);
      },
      { maxMessageBytes: 1024 },
    );
    const s: MessageStream = await client!.host.openStream(server!.target, '/test/limited/1');
    s.send(new Uint8Array(10));
    s.send(new Uint8Array(4096));
    assert.ok((await serverErr.promise) instanceof FrameTooLargeError);
    await eventually(() => !s.writable, 'the client side to see the reset');
  });
});

test('hangUp drops the connection and the stream sees it; a stopped host refuses work', LIMIT, async () => {
  const [a, b] = await Promise.all([makeHost(), makeHost()]);
  try {
    const ended = deferred<unknown>();
    b.host.handleStream('/test/idle/1', (s) => {
      void (async () => {
        for await (const _ of s) {
          // nothing is sent
        }
      })().then(() => ended.resolve('clean'), ended.resolve);
    });
    const s = await a.host.openStream(b.target, '/test/idle/1');
    await eventually(() => b.host.isConnected(a.host.peerId), 'b to see the connection');
    await a.host.hangUp(b.host.peerId);
    assert.equal(a.host.isConnected(b.host.peerId), false);
    await ended.promise;
    await eventually(() => !s.writable, 'the stream to close');
    assert.throws(() => b.host.handleStream('/test/idle/1', () => undefined), /already registered/);
    await a.host.stop();
    await assert.rejects(a.host.request(b.target, ECHO, {}), UnavailableError);
  } finally {
    await a.host.stop();
    await b.host.stop();
  }
});
