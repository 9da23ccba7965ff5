// What the containers' resolver says to one query: pure, so every case is
// tested without sockets. Names of the network are answered here; anything
// else is handed back to the caller to forward upstream (unless the network is
// internal, which has no way out: SERVFAIL, as Docker answers there).
import {
  CLASS_IN,
  DnsFormatError,
  encodeMessage,
  parseHeaderId,
  parseMessage,
  RCODE,
  TCP_LIMIT,
  TYPE,
  UDP_PLAIN_LIMIT,
  type DnsMessage,
  type DnsRecord,
} from './message.js';
import { normaliseName, reverseNameToIp, type ZoneIndex } from './zone.js';

/** Docker's embedded DNS gives its records a TTL of 600 s (libnetwork resolver.go respTTL). */
export const RECORD_TTL = 600;
/** The largest UDP payload we accept to send when a client advertises more (a common EDNS choice avoiding fragmentation trouble). */
export const MAX_UDP_PAYLOAD = 4096;

export type Transport = 'udp' | 'tcp';

export type Decision = { kind: 'reply'; message: DnsMessage } | { kind: 'forward' };

export type PacketOutcome =
  | { kind: 'reply'; packet: Buffer }
  /** Not ours: forward the packet unchanged; `query` is what to answer SERVFAIL to if that fails. */
  | { kind: 'forward'; query: DnsMessage }
  /** Not something to answer (a response, or too short to carry an ID). */
  | { kind: 'drop' };

function replyTo(query: DnsMessage, rcode: number, authoritative: boolean): DnsMessage {
  const opt = query.additionals.find((r) => r.type === TYPE.OPT);
  return {
    id: query.id,
    qr: true,
    opcode: query.opcode,
    aa: authoritative,
    tc: false,
    rd: query.rd,
    // Recursion is offered: whatever is not ours goes upstream.
    ra: true,
    rcode,
    questions: query.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: opt ? [{ name: '', type: TYPE.OPT, class: MAX_UDP_PAYLOAD, ttl: 0, data: { kind: 'raw', bytes: new Uint8Array(0) } }] : [],
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The answer to a parsed query, or that it is not ours. */
export function answer(query: DnsMessage, zone: ZoneIndex, random: () => number = Math.random): Decision {
  if (query.opcode !== 0) return { kind: 'reply', message: replyTo(query, RCODE.NOTIMP, false) };
  if (query.questions.length !== 1) return { kind: 'reply', message: replyTo(query, RCODE.FORMERR, false) };
  const q = query.questions[0]!;
  const notOurs = (): Decision => (zone.internal ? { kind: 'reply', message: replyTo(query, RCODE.SERVFAIL, false) } : { kind: 'forward' });
  if (q.class !== CLASS_IN) return notOurs();

  if (q.type === TYPE.PTR) {
    const ip = reverseNameToIp(q.name);
    const target = ip === undefined ? undefined : zone.reverse.get(ip);
    if (target === undefined) return notOurs();
    const msg = replyTo(query, RCODE.NOERROR, true);
    msg.answers.push({ name: q.name, type: TYPE.PTR, class: CLASS_IN, ttl: RECORD_TTL, data: { kind: 'name', name: target } });
    return { kind: 'reply', message: msg };
  }

  const records = zone.names.get(normaliseName(q.name));
  if (records === undefined) return notOurs();
  const msg = replyTo(query, RCODE.NOERROR, true);
  // Overlay names are IPv4 only: AAAA and other types get "no data" (NOERROR, empty),
  // so clients use the A answer instead of waiting on an upstream that cannot know.
  if (q.type === TYPE.A || q.type === TYPE.ANY) {
    const ips = records.shuffle ? shuffled(records.ips, random) : records.ips;
    msg.answers = ips.map(
      (ip): DnsRecord => ({ name: q.name, type: TYPE.A, class: CLASS_IN, ttl: RECORD_TTL, data: { kind: 'ipv4', address: ip } }),
    );
  }
  return { kind: 'reply', message: msg };
}

/** How large a reply may be: 512 bytes over UDP unless the query's EDNS record offers more. */
export function replySizeLimit(query: DnsMessage | undefined, transport: Transport): number {
  if (transport === 'tcp') return TCP_LIMIT;
  const opt = query?.additionals.find((r) => r.type === TYPE.OPT);
  if (!opt) return UDP_PLAIN_LIMIT;
  return Math.min(Math.max(opt.class, UDP_PLAIN_LIMIT), MAX_UDP_PAYLOAD);
}

/** An error reply (SERVFAIL after forwarding failed, say) to a parsed query. */
export function failurePacket(query: DnsMessage, rcode: number, transport: Transport): Buffer {
  return encodeMessage(replyTo(query, rcode, false), replySizeLimit(query, transport));
}

/** From the bytes a client sent to the bytes to send back (or what to do instead). */
export function answerPacket(packet: Uint8Array, zone: ZoneIndex, transport: Transport, random: () => number = Math.random): PacketOutcome {
  let query: DnsMessage;
  try {
    query = parseMessage(packet);
  } catch (err) {
    if (!(err instanceof DnsFormatError)) throw err;
    const header = parseHeaderId(packet);
    if (header === undefined || (packet[2]! & 0x80) !== 0) return { kind: 'drop' };
    const formErr: DnsMessage = {
      id: header.id,
      qr: true,
      opcode: header.opcode,
      aa: false,
      tc: false,
      rd: header.rd,
      ra: true,
      rcode: RCODE.FORMERR,
      questions: [],
      answers: [],
      authorities: [],
      additionals: [],
    };
    return { kind: 'reply', packet: encodeMessage(formErr) };
  }
  // Never answer a response: two resolvers pointed at each other would loop forever.
  if (query.qr) return { kind: 'drop' };
  const decision = answer(query, zone, random);
  if (decision.kind === 'forward') return { kind: 'forward', query };
  return { kind: 'reply', packet: encodeMessage(decision.message, replySizeLimit(query, transport)) };
}
