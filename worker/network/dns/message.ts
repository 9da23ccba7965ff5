// A minimal DNS message codec (RFC 1035, plus the EDNS OPT record of RFC 6891):
// enough to read the queries containers send and to write A/AAAA/PTR answers.
// Names are compressed on write and pointers are followed on read, since every
// real resolver sends and expects both.

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Plain DNS over UDP without EDNS (RFC 1035 4.2.1). */
export const UDP_PLAIN_LIMIT = 512;
/** A TCP message carries a 16-bit length. */
export const TCP_LIMIT = 65535;

const HEADER_SIZE = 12;
const MAX_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;

export type RecordData =
  | { kind: 'ipv4'; address: string }
  | { kind: 'name'; name: string }
  | { kind: 'raw'; bytes: Uint8Array };

export interface DnsQuestion {
  /** Without a trailing dot; the root is ''. Case kept as sent (0x20 randomisation must be echoed). */
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  /** For OPT this field holds the sender's UDP payload size (RFC 6891 6.1.2). */
  class: number;
  ttl: number;
  data: RecordData;
}

export interface DnsMessage {
  id: number;
  /** True for a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** The bytes are not a DNS message we can read. */
export class DnsFormatError extends Error {
  override readonly name = 'DnsFormatError';
}

// ---------------------------------------------------------------------------
// Reading

class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DnsFormatError(`message ends early at byte ${this.pos} (needs ${n} more)`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf[this.pos]! * 0x1000000 + ((this.buf[this.pos + 1]! << 16) | (this.buf[this.pos + 2]! << 8) | this.buf[this.pos + 3]!);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    // A plain copy: callers keep it after the packet buffer is reused.
    const out = new Uint8Array(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** A possibly compressed name; pointers may only point backwards, which rules out loops. */
  name(): string {
    const labels: string[] = [];
    let length = 0;
    let pos = this.pos;
    let resumeAt: number | undefined;
    for (;;) {
      if (pos >= this.buf.length) throw new DnsFormatError(`name runs past the end of the message at byte ${pos}`);
      const len = this.buf[pos]!;
      if (len === 0) {
        pos += 1;
        break;
      }
      const tag = len & 0xc0;
      if (tag === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new DnsFormatError(`compression pointer cut off at byte ${pos}`);
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1]!;
        if (target >= pos) throw new DnsFormatError(`compression pointer at byte ${pos} points forward to ${target}`);
        resumeAt ??= pos + 2;
        pos = target;
        continue;
      }
      if (tag !== 0) throw new DnsFormatError(`unsupported label type 0x${tag.toString(16)} at byte ${pos}`);
      if (pos + 1 + len > this.buf.length) throw new DnsFormatError(`label at byte ${pos} runs past the end of the message`);
      length += len + 1;
      if (length > MAX_NAME_LENGTH) throw new DnsFormatError(`name longer than ${MAX_NAME_LENGTH} bytes`);
      labels.push(decodeLabel(this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    this.pos = resumeAt ?? pos;
    return labels.join('.');
  }
}

function decodeLabel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    // Dots and backslashes inside a label would make the joined name ambiguous; escape them as zone files do.
    if (b === 0x2e || b === 0x5c) s += '\\' + String.fromCharCode(b);
    else if (b < 0x21 || b > 0x7e) s += '\\' + b.toString().padStart(3, '0');
    else s += String.fromCharCode(b);
  }
  return s;
}

function readQuestion(r: Reader): DnsQuestion {
  const name = r.name();
  return { name, type: r.u16(), class: r.u16() };
}

function readRecord(r: Reader): DnsRecord {
  const name = r.name();
  const type = r.u16();
  const cls = r.u16();
  const ttl = r.u32();
  const rdlength = r.u16();
  const start = r.pos;
  let data: RecordData;
  if (type === TYPE.A && cls === CLASS_IN && rdlength === 4) {
    const b = r.bytes(4);
    data = { kind: 'ipv4', address: `${b[0]}.${b[1]}.${b[2]}.${b[3]}` };
  } else if (type === TYPE.PTR || type === TYPE.CNAME || type === TYPE.NS) {
    data = { kind: 'name', name: r.name() };
    if (r.pos !== start + rdlength) throw new DnsFormatError(`record data of ${name} is ${rdlength} bytes but its name takes ${r.pos - start}`);
  } else {
    data = { kind: 'raw', bytes: r.bytes(rdlength) };
  }
  return { name, type, class: cls, ttl, data };
}

export function parseMessage(buf: Uint8Array): DnsMessage {
  if (buf.length < HEADER_SIZE) throw new DnsFormatError(`message of ${buf.length} bytes is shorter than a DNS header`);
  const r = new Reader(buf);
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()] as const;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) questions.push(readQuestion(r));
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) sections[s]!.push(readRecord(r));
  }
  return {
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
}

/** The ID and flags of a message whose body may be unreadable, to answer FORMERR to it. */
export function parseHeaderId(buf: Uint8Array): { id: number; rd: boolean; opcode: number } | undefined {
  if (buf.length < HEADER_SIZE) return undefined;
  return { id: (buf[0]! << 8) | buf[1]!, rd: (buf[2]! & 0x01) !== 0, opcode: (buf[2]! >> 3) & 0xf };
}

// ---------------------------------------------------------------------------
// Writing

class Writer {
  private buf = new Uint8Array(512);
  length = 0;
  /** Lower-cased name suffix → offset of its first label, for compression. */
  private readonly names = new Map<string, number>();

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.length++] = (v >> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
  }

  u32(v: number): void {
    this.u16(Math.floor(v / 0x10000) & 0xffff);
    this.u16(v & 0xffff);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  setU16(at: number, v: number): void {
    this.buf[at] = (v >> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  name(name: string): void {
    const labels = splitName(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => Buffer.from(l).toString('latin1').toLowerCase())
        .join('.');
      const at = this.names.get(key);
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      // Pointers have 14 bits; names written beyond that are simply not offered for reuse.
      if (this.length < 0x4000) this.names.set(key, this.length);
      this.u8(labels[i]!.length);
      this.bytes(labels[i]!);
    }
    this.u8(0);
  }

  /** Forget everything written from `length` on (a record that did not fit). */
  rollback(length: number): void {
    this.length = length;
    for (const [k, at] of this.names) if (at >= length) this.names.delete(k);
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** Labels as bytes, undoing the escapes decodeLabel adds; rejects what the wire cannot carry. */
export function splitName(name: string): Uint8Array[] {
  const trimmed = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let total = 1;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed.charCodeAt(i);
    if (c === 0x5c) {
      const digits = /^\d{3}/.exec(trimmed.slice(i + 1));
      if (digits) {
        cur.push(Number(digits[0]) & 0xff);
        i += 3;
      } else if (i + 1 < trimmed.length) {
        cur.push(trimmed.charCodeAt(++i) & 0xff);
      }
      continue;
    }
    if (c === 0x2e) {
      labels.push(Uint8Array.from(cur));
      cur = [];
      continue;
    }
    cur.push(c & 0xff);
  }
  labels.push(Uint8Array.from(cur));
  for (const l of labels) {
    if (l.length === 0) throw new DnsFormatError(`empty label in name "${name}"`);
    if (l.length > MAX_LABEL_LENGTH) throw new DnsFormatError(`label longer than ${MAX_LABEL_LENGTH} bytes in name "${name}"`);
    total += l.length + 1;
  }
  if (total > MAX_NAME_LENGTH) throw new DnsFormatError(`name "${name}" is longer than ${MAX_NAME_LENGTH} bytes`);
  return labels;
}

function writeRecord(w: Writer, rec: DnsRecord): void {
  w.name(rec.name);
  w.u16(rec.type);
  w.u16(rec.class);
  w.u32(rec.ttl);
  const lengthAt = w.length;
  w.u16(0);
  const start = w.length;
  switch (rec.data.kind) {
    case 'ipv4':
      w.bytes(ipv4Bytes(rec.data.address));
      break;
    case 'name':
      w.name(rec.data.name);
      break;
    case 'raw':
      w.bytes(rec.data.bytes);
      break;
  }
  w.setU16(lengthAt, w.length - start);
}

export function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split('.');
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) throw new DnsFormatError(`"${address}" is not an IPv4 address`);
  return Uint8Array.from(bytes);
}

/**
 * Encodes `msg`. When it would be longer than `maxSize`, records that do not fit
 * are left out (answers last, so as many answers as fit are kept) and TC is set,
 * telling the client to ask again over TCP. The OPT record is always kept.
 */
export function encodeMessage(msg: DnsMessage, maxSize = TCP_LIMIT): Buffer {
  const w = new Writer();
  w.u16(msg.id);
  const flagsAt = w.length;
  w.u16(0);
  const countsAt = w.length;
  w.u16(msg.questions.length);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  for (const q of msg.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  const opt = msg.additionals.filter((r) => r.type === TYPE.OPT);
  const optSize = opt.reduce((n, r) => n + 11 + (r.data.kind === 'raw' ? r.data.bytes.length : 0), 0);
  const budget = maxSize - optSize;
  if (w.length > budget) throw new DnsFormatError(`question section alone is ${w.length} bytes, more than the ${maxSize} allowed`);
  let truncated = false;
  const written = [0, 0, 0];
  const sections = [msg.answers, msg.authorities, msg.additionals.filter((r) => r.type !== TYPE.OPT)];
  for (let s = 0; s < sections.length && !truncated; s++) {
    for (const rec of sections[s]!) {
      const mark = w.length;
      writeRecord(w, rec);
      if (w.length > budget) {
        w.rollback(mark);
        truncated = true;
        break;
      }
      written[s]!++;
    }
  }
  for (const rec of opt) writeRecord(w, rec);
  written[2]! += opt.length;
  const tc = msg.tc || (truncated && written[0]! < msg.answers.length);
  const flags =
    (msg.qr ? 0x8000 : 0) |
    ((msg.opcode & 0xf) << 11) |
    (msg.aa ? 0x0400 : 0) |
    (tc ? 0x0200 : 0) |
    (msg.rd ? 0x0100 : 0) |
    (msg.ra ? 0x0080 : 0) |
    (msg.rcode & 0xf);
  w.setU16(flagsAt, flags);
  w.setU16(countsAt + 2, written[0]!);
  w.setU16(countsAt + 4, written[1]!);
  w.setU16(countsAt + 6, written[2]!);
  return w.result();
}
