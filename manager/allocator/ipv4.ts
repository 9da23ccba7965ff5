// IPv4 addresses and CIDR blocks as numbers, for the allocator's arithmetic.
// Pure. Only IPv4: shoal's overlays have no IPv6.

/** A CIDR block: its first address (as an unsigned 32-bit number) and its prefix length. */
export interface Cidr {
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** `10.0.1.5` as a number, or undefined when it is not a dotted-quad IPv4 address. */
export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** Addresses in a block of this prefix length. */
export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * `10.0.1.0/24` as a block; undefined when malformed. Host bits set
 * (`10.0.1.7/24`) are cleared, as Go's net.ParseCIDR reports the network.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > 32) return undefined;
  const size = blockSize(prefix);
  return { base: ip - (ip % size), prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + blockSize(c.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + blockSize(b.prefix) && b.base < a.base + blockSize(a.prefix);
}

/** The address part of `10.0.1.5/24`. */
export function addressOf(cidrAddress: string): number | undefined {
  const slash = cidrAddress.indexOf('/');
  return parseIp(slash === -1 ? cidrAddress : cidrAddress.slice(0, slash));
}

/** `10.0.1.5/24`: an address written with its network's prefix length, as Docker shows them. */
export function withPrefix(ip: number, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}
