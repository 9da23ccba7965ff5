// Forwarding names the overlay does not know to the host's resolvers. The
// daemon does this from its own namespace on the responders' behalf. Like
// Docker, loopback nameservers from the host's resolv.conf are left out: in a
// daemon that runs in its own network namespace they would not be the host's.
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { TCP_LIMIT } from './message.js';

export interface Upstream {
  host: string;
  port: number;
}

export const DNS_PORT = 53;

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('::ffff:127.');
}

/** The non-loopback `nameserver` lines of a resolv.conf, in order. */
export function upstreamsFromResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (!m) continue;
    // A zone index (fe80::1%eth0) names a link in the host's namespace; useless from elsewhere.
    const host = m[1]!;
    if (host.includes('%') || isIP(host) === 0 || isLoopback(host)) continue;
    out.push({ host, port: DNS_PORT });
  }
  return out;
}

/** Sends one query to one upstream over UDP; resolves with the reply or undefined on timeout or error. */
export function queryUdp(upstream: Upstream, packet: Uint8Array, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(upstream.host) === 6 ? 'udp6' : 'udp4');
    const id = packet.length >= 2 ? (packet[0]! << 8) | packet[1]! : -1;
    let done = false;
    const finish = (reply: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('message', (msg, rinfo) => {
      // A connected socket only hears its peer, but a stray reply to an earlier query may still arrive.
      if (rinfo.port !== upstream.port || msg.length < 2 || ((msg[0]! << 8) | msg[1]!) !== id) return;
      finish(msg);
    });
    socket.connect(upstream.port, upstream.host, () => {
      // The timeout or an error may have closed the socket while it connected.
      if (done) return;
      try {
        socket.send(packet, (err) => {
          if (err) finish(undefined);
        });
      } catch {
        finish(undefined);
      }
    });
  });
}

/** Sends one query to one upstream over TCP (two-byte length prefix, RFC 1035 4.2.2). */
export function queryTcp(upstream: Upstream, packet: Uint8Array, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    if (packet.length > TCP_LIMIT) {
      resolve(undefined);
      return;
    }
    const socket = connect({ host: upstream.host, port: upstream.port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (reply: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    socket.on('connect', () => {
      const framed = Buffer.alloc(2 + packet.length);
      framed.writeUInt16BE(packet.length, 0);
      framed.set(packet, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const len = received.readUInt16BE(0);
      if (received.length >= 2 + len) finish(received.subarray(2, 2 + len));
    });
  });
}

export interface ForwarderOptions {
  upstreams: () => Promise<Upstream[]>;
  /** Per upstream; Docker waits 4 s, clients usually retry after 5 s, so less leaves them a second try. */
  timeoutMs?: number;
  /** Queries waiting on upstreams at once; beyond this the client gets SERVFAIL at once rather than memory growing. */
  maxInFlight?: number;
}

/** Tries each upstream in turn; undefined when none answered (the caller answers SERVFAIL). */
export class Forwarder {
  private inFlight = 0;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: ForwarderOptions) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxInFlight = options.maxInFlight ?? 512;
  }

  async forward(packet: Uint8Array, tcp: boolean): Promise<Buffer | undefined> {
    if (this.inFlight >= this.maxInFlight) return undefined;
    this.inFlight++;
    try {
      for (const upstream of await this.options.upstreams()) {
        const reply = tcp ? await queryTcp(upstream, packet, this.timeoutMs) : await queryUdp(upstream, packet, this.timeoutMs);
        if (reply !== undefined) return reply;
      }
      return undefined;
    } finally {
      this.inFlight--;
    }
  }
}
