// Small DNS client pieces for the resolver tests: build a query, send it over
// UDP or TCP, read the A records of a reply.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { CLASS_IN, encodeMessage, parseMessage, TYPE, type DnsMessage, type DnsRecord } from '../../../worker/network/dns/message.js';

let nextId = 1;

export function query(name: string, type: number = TYPE.A, opts: { edns?: number; id?: number } = {}): DnsMessage {
  return {
    id: opts.id ?? nextId++ & 0xffff,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: true,
    ra: false,
    rcode: 0,
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals:
      opts.edns === undefined ? [] : [{ name: '', type: TYPE.OPT, class: opts.edns, ttl: 0, data: { kind: 'raw', bytes: new Uint8Array(0) } }],
  };
}

export function addresses(msg: DnsMessage): string[] {
  return msg.answers.flatMap((r: DnsRecord) => (r.data.kind === 'ipv4' ? [r.data.address] : []));
}

export function udpQuery(host: string, port: number, packet: Uint8Array, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP reply from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(packet, port, host);
  });
}

export function tcpQuery(host: string, port: number, packet: Uint8Array, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP reply from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      const framed = Buffer.alloc(packet.length + 2);
      framed.writeUInt16BE(packet.length, 0);
      framed.set(packet, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got.subarray(2, 2 + got.readUInt16BE(0)));
      }
    });
  });
}

/** A fake upstream resolver on loopback: answers every A query with `address`, counting what it saw. */
export async function fakeUpstream(address: string): Promise<{ port: number; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const q = parseMessage(msg);
    seen.push(q.questions[0]?.name ?? '');
    const reply: DnsMessage = {
      ...q,
      qr: true,
      ra: true,
      answers: q.questions.map((x) => ({ name: x.name, type: TYPE.A, class: CLASS_IN, ttl: 30, data: { kind: 'ipv4', address } })),
    };
    socket.send(encodeMessage(reply), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, seen, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}
