// The sockets of one responder: UDP and TCP on the network's DNS address,
// answering from the current zone and handing the rest to `forward`. It runs
// inside the overlay's namespace (responder-main.ts) and, in tests, in-process.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../../shared/logger.js';
import { answerPacket, failurePacket, type Transport } from './answer.js';
import { RCODE } from './message.js';
import { buildZoneIndex, type DnsZone, type ZoneIndex } from './zone.js';

export interface ResponderOptions {
  listenIp: string;
  /** 53 in production; 0 picks a free port (tests). */
  port: number;
  /** Sends a query upstream; undefined when no upstream answered. */
  forward: (packet: Buffer, tcp: boolean) => Promise<Buffer | undefined>;
  logger: Logger;
  random?: () => number;
  /** Forwarded queries waiting at once; more get SERVFAIL straight away. */
  maxForwards?: number;
  maxTcpConnections?: number;
  /** A TCP client silent this long is disconnected (RFC 7766 suggests seconds, not minutes). */
  tcpIdleMs?: number;
}

export class Responder {
  private zone: ZoneIndex = buildZoneIndex({ network: '', internal: false, services: [] });
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<Socket>();
  private forwards = 0;

  constructor(private readonly options: ResponderOptions) {}

  /** Replaces the records; the next query is answered from these. */
  setZone(zone: DnsZone): void {
    this.zone = buildZoneIndex(zone);
  }

  /** Binds UDP and TCP on the same port; resolves with that port. */
  async listen(): Promise<number> {
    const { listenIp } = this.options;
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    udp.on('message', (msg, rinfo) => {
      void this.handle(msg, 'udp').then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      });
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.options.port, listenIp, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.options.logger.warn({ err }, 'dns udp socket error'));
    this.udp = udp;
    const port = udp.address().port;

    const tcp = createServer((sock) => this.serveTcp(sock));
    tcp.maxConnections = this.options.maxTcpConnections ?? 64;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host: listenIp }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (err) => this.options.logger.warn({ err }, 'dns tcp server error'));
    this.tcp = tcp;
    return port;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }

  private async handle(packet: Buffer, transport: Transport): Promise<Buffer | undefined> {
    try {
      return await this.reply(packet, transport);
    } catch (err) {
      // One bad query must never take the resolver of a whole network down.
      this.options.logger.warn({ err }, 'dns query failed');
      return undefined;
    }
  }

  private async reply(packet: Buffer, transport: Transport): Promise<Buffer | undefined> {
    const outcome = answerPacket(packet, this.zone, transport, this.options.random);
    if (outcome.kind === 'drop') return undefined;
    if (outcome.kind === 'reply') return outcome.packet;
    if (this.forwards >= (this.options.maxForwards ?? 256)) return failurePacket(outcome.query, RCODE.SERVFAIL, transport);
    this.forwards++;
    try {
      const reply = await this.options.forward(packet, transport === 'tcp');
      return reply ?? failurePacket(outcome.query, RCODE.SERVFAIL, transport);
    } catch (err) {
      this.options.logger.warn({ err }, 'dns forward failed');
      return failurePacket(outcome.query, RCODE.SERVFAIL, transport);
    } finally {
      this.forwards--;
    }
  }

  private serveTcp(sock: Socket): void {
    this.connections.add(sock);
    sock.setTimeout(this.options.tcpIdleMs ?? 10_000, () => sock.destroy());
    sock.on('close', () => this.connections.delete(sock));
    sock.on('error', () => sock.destroy());
    let buffered = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const packet = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        void this.handle(Buffer.from(packet), 'tcp').then((reply) => {
          if (!reply || sock.destroyed) return;
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          sock.write(framed);
        });
      }
    });
  }
}
