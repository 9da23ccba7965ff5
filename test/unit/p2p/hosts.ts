// Hosts on loopback for the p2p tests, with their log lines captured.
import { createServer } from 'node:net';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { createLogger } from '../../../shared/logger.js';
import { P2PHost, type P2PHostOptions, type PeerTarget } from '../../../shared/p2p/host.js';

export interface TestHost {
  host: P2PHost;
  key: PrivateKey;
  target: PeerTarget;
  lines: Record<string, unknown>[];
}

/** Every host made here, so a file can stop what a timed-out test left running (see stopAllHosts). */
const made = new Set<P2PHost>();

export async function makeHost(opts: Partial<P2PHostOptions> = {}): Promise<TestHost> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (chunk: string) => void lines.push(JSON.parse(chunk)) } });
  const key = opts.privateKey ?? (await generateKeyPair('Ed25519'));
  const host = await P2PHost.create({
    privateKey: key,
    listenHost: '127.0.0.1',
    listenPort: 0,
    logger,
    guard: () => ({ allow: true }),
    ...opts,
  });
  made.add(host);
  return { host, key, target: { peerId: host.peerId, addr: host.listenAddrs()[0]! }, lines };
}

/**
 * Stop every host still running. For a file's after() hook: a test that timed
 * out never reached its own cleanup, and its open hosts would keep the file's
 * process alive, so the run would hang after all rather than fail.
 */
export async function stopAllHosts(): Promise<void> {
  const hosts = [...made];
  made.clear();
  for (const h of hosts.reverse()) await h.stop();
}

export async function withHosts(n: number, body: (hosts: TestHost[]) => Promise<void>, opts: Partial<P2PHostOptions>[] = []): Promise<void> {
  const hosts = await Promise.all(Array.from({ length: n }, (_, i) => makeHost(opts[i])));
  try {
    await body(hosts);
  } finally {
    // One at a time, callers (later hosts) first: a libp2p node stopping after
    // the peer it dialled has gone, or concurrently with it, waits out a
    // 500 ms TCP close timeout.
    for (const h of [...hosts].reverse()) await h.host.stop();
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Poll until cond holds; fail after the deadline. */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Promise.withResolvers, which the project's ES2023 lib does not declare. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (err: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
