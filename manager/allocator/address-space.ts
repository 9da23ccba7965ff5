// One network's addresses while the allocator plans: which are taken, and
// where the next search starts. The search goes on from the last address
// handed out (wrapping at the end), so an address just released is not
// handed out again until the rest of the subnet has been used: a peer still
// holding a stale route or neighbour entry for it meets nobody new.
import { blockSize, type Cidr } from './ipv4.js';

export class AddressSpace {
  private readonly used = new Set<number>();
  private readonly first: number;
  private readonly last: number;

  /**
   * `cursor` is the last address handed out on this network; undefined
   * means "not known" (a new leader), and the search then starts after the
   * highest address in use.
   */
  constructor(
    readonly subnet: Cidr,
    readonly gateway: number,
    private cursor: number | undefined,
  ) {
    // The network address and the broadcast address are never handed out.
    this.first = subnet.base + 1;
    this.last = subnet.base + blockSize(subnet.prefix) - 2;
    this.used.add(gateway);
  }

  /** Addresses that can ever be handed out (the gateway excluded). */
  get capacity(): number {
    return Math.max(0, this.last - this.first + 1 - (this.gateway >= this.first && this.gateway <= this.last ? 1 : 0));
  }

  /** Marks an address as taken; false when it is outside the subnet or already taken (a clash the caller must resolve). */
  claim(ip: number): boolean {
    if (ip < this.first || ip > this.last || this.used.has(ip)) return false;
    this.used.add(ip);
    return true;
  }

  release(ip: number): void {
    if (ip !== this.gateway) this.used.delete(ip);
  }

  isUsed(ip: number): boolean {
    return this.used.has(ip);
  }

  /** The next free address after the cursor, or undefined when the subnet is full. */
  allocate(): number | undefined {
    if (this.last < this.first) return undefined;
    let start = this.cursor;
    if (start === undefined) {
      start = this.first - 1;
      for (const ip of this.used) if (ip !== this.gateway && ip > start) start = ip;
    }
    const span = this.last - this.first + 1;
    for (let i = 1; i <= span; i++) {
      let ip = start + i;
      if (ip > this.last) ip = this.first + ((ip - this.first) % span);
      if (ip < this.first) ip = this.first;
      if (this.used.has(ip)) continue;
      this.used.add(ip);
      this.cursor = ip;
      return ip;
    }
    return undefined;
  }

  /** Where the next search starts, for the next round. */
  get lastHandedOut(): number | undefined {
    return this.cursor;
  }
}
