// What exists, as read back from `ip -j`, `bridge -j` and `nft list`, and
// the pure parsers that turn those outputs into it. The probe (shell.ts)
// prints one section per command under `@@<section> <namespace>` headers.

export interface ObservedLink {
  name: string;
  kind: string | undefined;
  up: boolean;
  mtu: number;
  mac: string;
  master: string | undefined;
  /** IPv4 addresses, CIDR form. */
  addrs: string[];
  vxlan?: { vni: number; port: number; local: string | undefined };
}

export interface ObservedNs {
  links: Map<string, ObservedLink>;
  /** Permanent neighbour entries on the vxlan device: IP → MAC. */
  neigh: Map<string, string>;
  /** FDB entries of the vxlan device that have a remote: MAC → underlay IP. */
  fdb: Map<string, string>;
  /** The hash in the `shoal` table's comment, when the table is there. */
  nftHash: string | undefined;
  forwarding: boolean;
  /**
   * br_netfilter is loaded and would hand bridged frames to our NAT rules:
   * a VIP's DNAT would then be applied while bridging, and a connection from
   * a backend to its own VIP would need hairpinning on its port. We want
   * every VIP packet routed by the namespace, the same with and without it.
   */
  bridgeNetfilter: boolean;
}

export interface ObservedState {
  /** This node's namespaces under /run/netns. */
  namespaces: Set<string>;
  host: ObservedNs;
  /** Per namespace of ours that the probe could read. */
  netns: Map<string, ObservedNs>;
}

export function emptyNs(): ObservedNs {
  return { links: new Map(), neigh: new Map(), fdb: new Map(), nftHash: undefined, forwarding: false, bridgeNetfilter: false };
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** JSON arrays from `ip -j`/`bridge -j`; empty or broken output (a device that is not there) reads as none. */
function jsonArray(text: string): unknown[] {
  const t = text.trim();
  if (t === '') return [];
  try {
    const v: unknown = JSON.parse(t);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** `ip -j -d addr show`. */
export function parseLinks(text: string): Map<string, ObservedLink> {
  const out = new Map<string, ObservedLink>();
  for (const raw of jsonArray(text)) {
    const l = obj(raw);
    const name = str(l?.['ifname']);
    if (l === undefined || name === undefined) continue;
    const flags = Array.isArray(l['flags']) ? l['flags'] : [];
    const info = obj(l['linkinfo']);
    const data = obj(info?.['info_data']);
    const addrs: string[] = [];
    for (const a of Array.isArray(l['addr_info']) ? l['addr_info'] : []) {
      const ai = obj(a);
      if (ai?.['family'] === 'inet' && typeof ai['local'] === 'string' && typeof ai['prefixlen'] === 'number') addrs.push(`${ai['local']}/${ai['prefixlen']}`);
    }
    const link: ObservedLink = {
      name,
      kind: str(info?.['info_kind']),
      up: flags.includes('UP'),
      mtu: typeof l['mtu'] === 'number' ? l['mtu'] : 0,
      mac: (str(l['address']) ?? '').toLowerCase(),
      master: str(l['master']),
      addrs: addrs.sort(),
    };
    if (link.kind === 'vxlan' && data !== undefined) {
      link.vxlan = { vni: typeof data['id'] === 'number' ? data['id'] : -1, port: typeof data['port'] === 'number' ? data['port'] : -1, local: str(data['local']) };
    }
    out.set(name, link);
  }
  return out;
}

/** `ip -j neigh show dev <vxlan>`: permanent entries only (ours are all permanent). */
export function parseNeigh(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of jsonArray(text)) {
    const n = obj(raw);
    const ip = str(n?.['dst']);
    const mac = str(n?.['lladdr']);
    const state = Array.isArray(n?.['state']) ? (n['state'] as unknown[]) : [];
    if (ip !== undefined && mac !== undefined && state.includes('PERMANENT')) out.set(ip, mac.toLowerCase());
  }
  return out;
}

/** `bridge -j fdb show dev <vxlan>`: entries with a remote (the device's own entries have none). */
export function parseFdb(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of jsonArray(text)) {
    const f = obj(raw);
    const mac = str(f?.['mac']);
    const dst = str(f?.['dst']);
    if (mac !== undefined && dst !== undefined) out.set(mac.toLowerCase(), dst);
  }
  return out;
}

/** The hash our scripts leave in the table comment (`comment "shoal:<hash>"` in `nft list table`). */
export function parseNftHash(text: string): string | undefined {
  return /comment "shoal:([0-9a-f]+)"/.exec(text)?.[1];
}

/** Splits probe output into sections: `@@<section> <ns>` header lines, the text under each. */
export function splitProbe(text: string): Array<{ section: string; ns: string; body: string }> {
  const out: Array<{ section: string; ns: string; body: string }> = [];
  let cur: { section: string; ns: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    const m = /^@@(\S+) (\S+)$/.exec(line);
    if (m) {
      if (cur) out.push({ section: cur.section, ns: cur.ns, body: cur.lines.join('\n') });
      cur = { section: m[1]!, ns: m[2]!, lines: [] };
    } else if (cur) {
      cur.lines.push(line);
    }
  }
  if (cur) out.push({ section: cur.section, ns: cur.ns, body: cur.lines.join('\n') });
  return out;
}

/** The host's name in probe headers. */
export const HOST_NS = '-';

/** Probe output for the host and the given namespaces → ObservedState. */
export function parseProbe(text: string, namespaces: Iterable<string>): ObservedState {
  const netns = new Map<string, ObservedNs>();
  const host = emptyNs();
  const nsOf = (name: string): ObservedNs => {
    if (name === HOST_NS) return host;
    let o = netns.get(name);
    if (!o) netns.set(name, (o = emptyNs()));
    return o;
  };
  for (const s of splitProbe(text)) {
    const o = nsOf(s.ns);
    switch (s.section) {
      case 'links':
        o.links = parseLinks(s.body);
        break;
      case 'neigh':
        o.neigh = parseNeigh(s.body);
        break;
      case 'fdb':
        o.fdb = parseFdb(s.body);
        break;
      case 'nft':
        o.nftHash = parseNftHash(s.body);
        break;
      case 'forward':
        o.forwarding = s.body.trim() === '1';
        break;
      case 'brnf':
        o.bridgeNetfilter = s.body.trim() === '1';
        break;
      default:
        break;
    }
  }
  return { namespaces: new Set(namespaces), host, netns };
}
