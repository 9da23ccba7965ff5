// Docker's `filters` query parameter and the node list filters, as dockerd
// (api/types/filters) and swarmkit's controlapi apply them. Pure: no I/O, no state.

import { InvalidArgumentError } from '../../shared/errors.js';
import type { Labels, Node } from '../../shared/model/index.js';

/** Filter name -> accepted values. Values of one name are ORed, names are ANDed. */
export type FilterArgs = ReadonlyMap<string, readonly string[]>;

const SHAPE_HINT = 'filters must be a JSON object such as {"role":["manager"]} or {"role":{"manager":true}}';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"role":{"manager":true}}`: the form current Docker clients send. */
function fromBoolMap(value: unknown): string[] | undefined {
  if (value === null) return [];
  if (!isPlainObject(value)) return undefined;
  const out: string[] = [];
  for (const [key, flag] of Object.entries(value)) {
    // Go decodes into map[string]bool: null is allowed (zero value), other types are not,
    // and the key counts whatever the boolean says.
    if (flag !== null && typeof flag !== 'boolean') return undefined;
    out.push(key);
  }
  return out;
}

/** `{"role":["manager"]}`: the older form, still accepted by dockerd. */
function fromList(value: unknown): string[] | undefined {
  if (value === null) return [];
  if (!Array.isArray(value)) return undefined;
  const out: string[] = [];
  for (const item of value) {
    if (item === null) out.push('');
    else if (typeof item === 'string') out.push(item);
    else return undefined;
  }
  return out;
}

/**
 * Parses the JSON of a `filters` query parameter. Like dockerd, the whole document must be
 * in one form or the other; absent or empty means no filters.
 */
export function parseFilters(raw: string | undefined): Map<string, string[]> {
  const args = new Map<string, string[]>();
  if (raw === undefined || raw === '') return args;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw new InvalidArgumentError(`invalid filter: ${(err as Error).message}; ${SHAPE_HINT}`);
  }
  if (doc === null) return args;
  if (!isPlainObject(doc)) throw new InvalidArgumentError(`invalid filter: ${SHAPE_HINT}`);
  for (const decode of [fromBoolMap, fromList]) {
    const decoded = new Map<string, string[]>();
    let ok = true;
    for (const [name, value] of Object.entries(doc)) {
      const values = decode(value);
      if (values === undefined) {
        ok = false;
        break;
      }
      decoded.set(name, [...new Set([...(decoded.get(name) ?? []), ...values])]);
    }
    if (ok) return decoded;
  }
  throw new InvalidArgumentError(`invalid filter: ${SHAPE_HINT}`);
}

/** dockerd's `Args.Validate`: every filter name must be one the endpoint knows. */
export function validateFilterNames(args: FilterArgs, accepted: readonly string[]): void {
  for (const name of args.keys()) {
    if (!accepted.includes(name)) throw new InvalidArgumentError(`invalid filter '${name}'`);
  }
}

export const NODE_FILTERS = ['id', 'label', 'membership', 'name', 'node.label', 'role'] as const;

/** `key` or `key=value` strings into a map; an empty value matches any value of the key. */
function labelSelector(values: readonly string[]): Map<string, string> {
  const selector = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === -1) selector.set(v, '');
    else selector.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return selector;
}

function labelsMatch(labels: Labels | undefined, selector: ReadonlyMap<string, string>): boolean {
  for (const [key, want] of selector) {
    const have = labels?.[key];
    if (have === undefined) return false;
    if (want !== '' && want !== have) return false;
  }
  return true;
}

function hasPrefixIn(value: string, prefixes: readonly string[]): boolean {
  return prefixes.length === 0 || prefixes.some((p) => value.startsWith(p));
}

/** Lowercased enum values from a filter; an empty value is ignored, as swarmkit does. */
function enumValues(args: FilterArgs, name: string, allowed: readonly string[], label: string): string[] {
  const out: string[] = [];
  for (const raw of args.get(name) ?? []) {
    if (raw === '') continue;
    const v = raw.toLowerCase();
    if (!allowed.includes(v)) throw new InvalidArgumentError(`Invalid ${label} filter: '${raw}'`);
    out.push(v);
  }
  return out;
}

/** A predicate for GET /nodes; throws 400 for unknown filter names or values. */
export function nodeFilter(args: FilterArgs): (node: Node) => boolean {
  validateFilterNames(args, NODE_FILTERS);
  const ids = args.get('id') ?? [];
  const names = args.get('name') ?? [];
  const engineLabels = labelSelector(args.get('label') ?? []);
  const nodeLabels = labelSelector(args.get('node.label') ?? []);
  const roles = enumValues(args, 'role', ['worker', 'manager'], 'role');
  const memberships = enumValues(args, 'membership', ['accepted', 'pending'], 'membership');

  return (node) =>
    hasPrefixIn(node.ID, ids) &&
    // swarmkit matches `name` against the hostname the node reported, not Spec.Name.
    hasPrefixIn(node.Description.Hostname, names) &&
    labelsMatch(node.Description.Engine.Labels, engineLabels) &&
    labelsMatch(node.Spec.Labels, nodeLabels) &&
    (roles.length === 0 || roles.includes(node.Spec.Role)) &&
    // shoal admits a node only once its join token checks out, so every stored node is accepted.
    (memberships.length === 0 || memberships.includes('accepted'));
}

export function filterNodes(nodes: readonly Node[], args: FilterArgs): Node[] {
  const keep = nodeFilter(args);
  return nodes.filter(keep);
}
