// GET /networks filters, as dockerd applies them to swarm networks
// (daemon/network/filter.go): driver, id, label, name, scope, type. Pure.
import { InvalidArgumentError } from '../../shared/errors.js';
import type { Network } from '../../shared/model/index.js';

export const NETWORK_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type'] as const;

/** dockerd's filters.Match: the value is a regular expression searched in the field (a bad one matches literally). */
function matches(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return value.includes(pattern);
  }
}

function labelMatches(n: Network, want: string): boolean {
  const eq = want.indexOf('=');
  const key = eq === -1 ? want : want.slice(0, eq);
  const have = n.Labels[key];
  if (have === undefined) return false;
  return eq === -1 || have === want.slice(eq + 1);
}

/**
 * A predicate for the filters. Values of one filter are ORed, filters are
 * ANDed. Only dockerd's predefined networks (bridge, host, none) are
 * "builtin"; a swarm has none of them, so every network (ingress too) is
 * "custom", as `docker network ls --filter type=custom` shows on dockerd.
 */
export function networkFilter(args: ReadonlyMap<string, readonly string[]>): (n: Network) => boolean {
  for (const name of args.keys()) {
    if (!(NETWORK_FILTERS as readonly string[]).includes(name)) throw new InvalidArgumentError(`invalid filter '${name}'`);
  }
  for (const t of args.get('type') ?? []) {
    if (t !== 'custom' && t !== 'builtin') throw new InvalidArgumentError(`invalid filter: 'type'='${t}' (use custom or builtin)`);
  }
  for (const s of args.get('scope') ?? []) {
    if (s !== 'swarm' && s !== 'global' && s !== 'local') throw new InvalidArgumentError(`invalid filter: 'scope'='${s}' (use swarm, global or local)`);
  }
  const any = (name: string, test: (v: string) => boolean): boolean => {
    const values = args.get(name);
    return values === undefined || values.length === 0 || values.some(test);
  };
  return (n) =>
    any('driver', (v) => matches(v, n.Driver)) &&
    any('id', (v) => matches(v, n.Id)) &&
    any('name', (v) => matches(v, n.Name)) &&
    any('scope', (v) => v === n.Scope) &&
    any('type', (v) => v === 'custom') &&
    (args.get('label') ?? []).every((v) => labelMatches(n, v));
}
