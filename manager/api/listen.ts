// Where the API listens: `unix:///path.sock` (the default, like dockerd) or
// `tcp://127.0.0.1:PORT`. There is no TLS yet, so TCP is refused unless it stays on this
// machine (DESIGN.md section 4).

import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../../shared/errors.js';

export type HostSpec = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** dockerd's default plain-TCP port. */
const DEFAULT_TCP_PORT = 2375;

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

export function parseHostSpec(spec: string): HostSpec {
  if (spec.startsWith('unix://')) {
    const path = spec.slice('unix://'.length);
    if (!isAbsolute(path)) {
      throw new InvalidArgumentError(`invalid API address ${JSON.stringify(spec)}: the socket path must be absolute, e.g. unix:///run/shoal.sock`);
    }
    return { kind: 'unix', path };
  }
  if (spec.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new InvalidArgumentError(`invalid API address ${JSON.stringify(spec)}: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:2375`);
    }
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.username !== '') {
      throw new InvalidArgumentError(`invalid API address ${JSON.stringify(spec)}: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:2375`);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '' || !isLoopbackHost(host)) {
      throw new InvalidArgumentError(
        `refusing to serve the API on ${spec}: TLS is not implemented, so TCP is only allowed on a loopback address (127.0.0.1, ::1 or localhost); use a unix socket or a loopback address`,
      );
    }
    return { kind: 'tcp', host, port: url.port === '' ? DEFAULT_TCP_PORT : Number(url.port) };
  }
  throw new InvalidArgumentError(`invalid API address ${JSON.stringify(spec)}: use unix:///path/to.sock or tcp://127.0.0.1:PORT`);
}

/** True when something accepts connections on the socket (another daemon is running). */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new InvalidArgumentError(`cannot listen on ${path}: the path exists and is not a socket; remove it or choose another path`);
  }
  if (await socketIsLive(path)) {
    throw new InvalidArgumentError(`cannot listen on ${path}: another process is serving on it (is a shoal daemon already running?)`);
  }
  // Left behind by a daemon that did not shut down cleanly.
  await unlink(path);
}

/**
 * Starts serving. Returns the address actually bound, in the same form as the input
 * (useful with tcp://127.0.0.1:0).
 */
export async function listen(server: FastifyInstance, hostSpec: string): Promise<string> {
  const spec = parseHostSpec(hostSpec);
  if (spec.kind === 'unix') {
    await prepareSocketPath(spec.path);
    await server.listen({ path: spec.path });
    // Owner and group only: whoever can reach the socket controls the cluster.
    await chmod(spec.path, 0o660);
    return `unix://${spec.path}`;
  }
  await server.listen({ host: spec.host, port: spec.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : spec.port;
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  return `tcp://${host}:${port}`;
}
