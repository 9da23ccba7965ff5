// Small IPv4 helpers for CIDR strings as the allocator writes them.
import { InvalidArgumentError } from '../../shared/errors.js';

export interface Cidr {
  ip: string;
  prefixLength: number;
}

export function parseIpv4(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new InvalidArgumentError(`"${ip}" is not an IPv4 address`);
  let n = 0;
  for (const p of parts) {
    const b = Number(p);
    if (!/^\d{1,3}$/.test(p) || b > 255) throw new InvalidArgumentError(`"${ip}" is not an IPv4 address`);
    n = n * 256 + b;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** `10.0.1.5/24` → { ip: '10.0.1.5', prefixLength: 24 }; a bare address counts as /32. */
export function parseCidr(text: string): Cidr {
  const [ip, len] = text.split('/');
  const prefixLength = len === undefined ? 32 : Number(len);
  if (ip === undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new InvalidArgumentError(`"${text}" is not an IPv4 CIDR such as 10.0.1.5/24`);
  }
  parseIpv4(ip);
  return { ip, prefixLength };
}

/** The address part of a CIDR string (or the string itself when it has none). */
export function addressOf(cidr: string): string {
  return parseCidr(cidr).ip;
}

/** The routing mesh's point-to-point link from a /30: host side first address, namespace side second. */
export function meshAddresses(subnet: string): { hostSide: string; nsSide: string } {
  const c = parseCidr(subnet);
  if (c.prefixLength > 30) throw new InvalidArgumentError(`routing mesh subnet ${subnet} is too small; give a /30 or larger`);
  const base = parseIpv4(c.ip) - (parseIpv4(c.ip) % 2 ** (32 - c.prefixLength));
  return { hostSide: `${formatIpv4(base + 1)}/${c.prefixLength}`, nsSide: `${formatIpv4(base + 2)}/${c.prefixLength}` };
}

/**
 * The `slot`th /30 of `subnet` as a point-to-point link (host side first,
 * namespace side second); undefined when the subnet has no such slot.
 */
export function linkAddresses(subnet: string, slot: number): { hostSide: string; nsSide: string } | undefined {
  const c = parseCidr(subnet);
  if (c.prefixLength > 30) throw new InvalidArgumentError(`host port link subnet ${subnet} is too small; give a /30 or larger`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** (30 - c.prefixLength)) return undefined;
  const base = parseIpv4(c.ip) - (parseIpv4(c.ip) % 2 ** (32 - c.prefixLength)) + slot * 4;
  return { hostSide: `${formatIpv4(base + 1)}/30`, nsSide: `${formatIpv4(base + 2)}/30` };
}

/** How many /30 links a subnet holds. */
export function linkSlots(subnet: string): number {
  const c = parseCidr(subnet);
  return c.prefixLength > 30 ? 0 : 2 ** (30 - c.prefixLength);
}
