// The names one overlay network answers for, as Docker's embedded DNS has them
// (moby libnetwork: service bindings and Sandbox.ResolveName):
//   <service>             the VIP (vip mode) or every task IP (dnsrr)
//   <alias>               network aliases of the service, the same way
//   tasks.<service|alias> every task IP
//   <service>.<slot>.<task id>  one task (its container name)
// and each of them again with the network's name as a suffix
// (`web.frontend`, `tasks.web.frontend`). Reverse lookups of task IPs give the
// task name with the network suffix, as Docker's do. Names are case-insensitive.
import type { OverlayService } from '../../../shared/protocol/network-state.js';

/** What a responder needs of its network: sent to it over the control socket. */
export interface DnsZone {
  /** The network's name, accepted as a suffix of every name. */
  network: string;
  /** An internal network has no way out: names it does not know are not forwarded. */
  internal: boolean;
  services: DnsService[];
}

export type DnsService = Pick<OverlayService, 'name' | 'endpointMode' | 'vip' | 'backends' | 'aliases'>;

export interface NameRecords {
  ips: string[];
  /** Several IPs are rotated between answers, as Docker does, so clients spread over them. */
  shuffle: boolean;
}

export interface ZoneIndex {
  network: string;
  internal: boolean;
  /** Lower-cased name without trailing dot → its addresses. */
  names: Map<string, NameRecords>;
  /** IPv4 address → the name its reverse lookup gives. */
  reverse: Map<string, string>;
}

export function zoneFromServices(network: string, internal: boolean, services: readonly OverlayService[]): DnsZone {
  return {
    network,
    internal,
    services: services.map((s) => ({
      name: s.name,
      endpointMode: s.endpointMode,
      ...(s.vip !== undefined ? { vip: s.vip } : {}),
      backends: s.backends.map((b) => ({ taskId: b.taskId, slot: b.slot, ip: b.ip })),
      ...(s.aliases !== undefined ? { aliases: [...s.aliases] } : {}),
    })),
  };
}

export function normaliseName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

export function buildZoneIndex(zone: DnsZone): ZoneIndex {
  const names = new Map<string, NameRecords>();
  const reverse = new Map<string, string>();
  const add = (name: string, given: string[], shuffle: boolean): void => {
    const key = normaliseName(name);
    const ips = given.filter(isIpv4);
    if (key === '' || ips.length === 0) return;
    const existing = names.get(key);
    if (existing) {
      // Two services claiming one alias: Docker answers with both; keep every address once.
      for (const ip of ips) if (!existing.ips.includes(ip)) existing.ips.push(ip);
      existing.shuffle ||= shuffle || existing.ips.length > 1;
      return;
    }
    names.set(key, { ips: [...new Set(ips)], shuffle });
  };
  const suffixed = (name: string): string[] => (zone.network === '' ? [name] : [name, `${name}.${zone.network}`]);

  for (const svc of zone.services) {
    const taskIps = svc.backends.map((b) => b.ip);
    const serviceIps = svc.endpointMode === 'vip' ? (svc.vip !== undefined ? [svc.vip] : []) : taskIps;
    for (const base of [svc.name, ...(svc.aliases ?? [])]) {
      for (const n of suffixed(base)) {
        if (serviceIps.length > 0) add(n, serviceIps, svc.endpointMode === 'dnsrr');
        if (taskIps.length > 0) add(`tasks.${n}`, taskIps, true);
      }
    }
    for (const b of svc.backends) {
      const taskName = `${svc.name}.${b.slot}.${b.taskId}`;
      for (const n of suffixed(taskName)) add(n, [b.ip], false);
      if (isIpv4(b.ip)) reverse.set(b.ip, zone.network === '' ? taskName : `${taskName}.${zone.network}`);
    }
  }
  return { network: zone.network, internal: zone.internal, names, reverse };
}

/** `5.1.0.10.in-addr.arpa` → `10.0.1.5`; undefined for anything else. */
export function reverseNameToIp(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(normaliseName(name));
  if (!m) return undefined;
  const bytes = [m[4], m[3], m[2], m[1]].map((p) => Number(p));
  if (bytes.some((b) => b > 255)) return undefined;
  return bytes.join('.');
}

export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
