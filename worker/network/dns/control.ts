// The conversation between the daemon and a responder over the responder's
// unix socket (unix sockets cross network namespaces; UDP to the upstream
// resolvers often cannot leave an overlay namespace, so the daemon forwards
// for it). Newline-delimited JSON; every message is checked on receipt.
import type { DnsZone, DnsService } from './zone.js';
import { isIpv4 } from './zone.js';

/** Daemon → responder. */
export type ToResponder =
  /** The records to answer from, replacing the previous ones at once. */
  | { type: 'zone'; zone: DnsZone }
  /** The upstream's reply to a forwarded query (base64), or null when none answered. */
  | { type: 'forwarded'; id: number; packet: string | null };

/** Responder → daemon. */
export type FromResponder =
  /** Listening (after the first zone arrived); `port` is the bound UDP and TCP port. */
  | { type: 'ready'; port: number }
  /** A query for a name the network does not know, for the daemon to send upstream. */
  | { type: 'forward'; id: number; packet: string; tcp: boolean };

/** A line longer than this is a broken peer, not a big network (a service record is ~100 bytes). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class ControlProtocolError extends Error {
  override readonly name = 'ControlProtocolError';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(line: string): Json {
  try {
    return JSON.parse(line) as Json;
  } catch (err) {
    throw new ControlProtocolError(`control message is not JSON: ${(err as Error).message}`);
  }
}

function fail(what: string): never {
  throw new ControlProtocolError(`invalid control message: ${what}`);
}

function isId(v: Json | undefined): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseService(v: Json): DnsService {
  if (!isObject(v)) fail('service is not an object');
  const { name, endpointMode, vip, backends, aliases } = v;
  if (typeof name !== 'string' || name === '') fail('service without a name');
  if (endpointMode !== 'vip' && endpointMode !== 'dnsrr') fail(`service ${name}: endpointMode must be vip or dnsrr`);
  if (vip !== undefined && (typeof vip !== 'string' || !isIpv4(vip))) fail(`service ${name}: vip is not an IPv4 address`);
  if (!Array.isArray(backends)) fail(`service ${name}: backends is not a list`);
  const parsedBackends = backends.map((b) => {
    if (!isObject(b) || typeof b['taskId'] !== 'string' || !isId(b['slot']) || typeof b['ip'] !== 'string' || !isIpv4(b['ip'])) {
      fail(`service ${name}: a backend needs taskId, slot and an IPv4 ip`);
    }
    return { taskId: b['taskId'], slot: b['slot'], ip: b['ip'] };
  });
  if (aliases !== undefined && (!Array.isArray(aliases) || !aliases.every((a) => typeof a === 'string'))) fail(`service ${name}: aliases is not a list of names`);
  return {
    name,
    endpointMode,
    ...(typeof vip === 'string' ? { vip } : {}),
    backends: parsedBackends,
    ...(aliases !== undefined ? { aliases: aliases as string[] } : {}),
  };
}

export function parseToResponder(line: string): ToResponder {
  const v = parseJson(line);
  if (!isObject(v)) fail('not an object');
  if (v['type'] === 'zone') {
    const z = v['zone'];
    if (!isObject(z) || typeof z['network'] !== 'string' || typeof z['internal'] !== 'boolean' || !Array.isArray(z['services'])) {
      fail('zone needs network, internal and services');
    }
    return { type: 'zone', zone: { network: z['network'], internal: z['internal'], services: z['services'].map(parseService) } };
  }
  if (v['type'] === 'forwarded') {
    const { id, packet } = v;
    if (!isId(id) || (packet !== null && typeof packet !== 'string')) fail('forwarded needs an id and a base64 packet or null');
    return { type: 'forwarded', id, packet };
  }
  return fail(`unknown type ${JSON.stringify(v['type'])}`);
}

export function parseFromResponder(line: string): FromResponder {
  const v = parseJson(line);
  if (!isObject(v)) fail('not an object');
  if (v['type'] === 'ready') {
    const port = v['port'];
    if (!isId(port) || port > 65535) fail('ready needs a port');
    return { type: 'ready', port };
  }
  if (v['type'] === 'forward') {
    const { id, packet, tcp } = v;
    if (!isId(id) || typeof packet !== 'string' || typeof tcp !== 'boolean') fail('forward needs id, packet and tcp');
    return { type: 'forward', id, packet, tcp };
  }
  return fail(`unknown type ${JSON.stringify(v['type'])}`);
}

export function encodeLine(msg: ToResponder | FromResponder): string {
  return JSON.stringify(msg) + '\n';
}

/** Splits a byte stream into lines; refuses a line longer than `maxBytes`. */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      this.pending.push(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxBytes) throw new ControlProtocolError(`control line longer than ${this.maxBytes} bytes`);
    }
    return lines.filter((l) => l.length > 0);
  }
}
