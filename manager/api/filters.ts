// Docker's `filters` query parameter and the node list filters, as dockerd
// (api/types/filters) and swarmkit's controlapi apply them. Pure: no I/O, no state.

import { InvalidArgumentError } from '../../shared/errors.js';
import type { Labels, Node, Service, Task } from '../../shared/model/index.js';
import { TASK_STATES } from '../../shared/model/task.js';
import type { RefKeys } from './resolve.js';
import { modeKindOf } from './service-spec.js';

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
export function labelSelector(values: readonly string[]): Map<string, string> {
  const selector = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === -1) selector.set(v, '');
    else selector.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return selector;
}

export function labelsMatch(labels: Labels | undefined, selector: ReadonlyMap<string, string>): boolean {
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

// --- services -----------------------------------------------------------------

export const SERVICE_FILTERS = ['id', 'label', 'mode', 'name', 'runtime'] as const;
const SERVICE_MODES = ['replicated', 'global', 'replicated-job', 'global-job'] as const;

/** A predicate for GET /services (dockerd's newListServicesFilters): id and name are prefixes. */
export function serviceFilter(args: FilterArgs): (service: Service) => boolean {
  validateFilterNames(args, SERVICE_FILTERS);
  const ids = args.get('id') ?? [];
  const names = args.get('name') ?? [];
  const labels = labelSelector(args.get('label') ?? []);
  const modes = enumValues(args, 'mode', SERVICE_MODES, 'mode');
  // Every shoal service runs containers, Docker's only runtime besides plugins.
  const runtimes = (args.get('runtime') ?? []).filter((r) => r !== '');
  return (service) =>
    hasPrefixIn(service.ID, ids) &&
    hasPrefixIn(service.Spec.Name ?? '', names) &&
    labelsMatch(service.Spec.Labels, labels) &&
    (modes.length === 0 || modes.includes(modeKindOf(service.Spec.Mode) ?? 'replicated')) &&
    (runtimes.length === 0 || runtimes.includes('container'));
}

// --- tasks --------------------------------------------------------------------

/** `_up-to-date` is not for users: the docker CLI's progress display asks for it. */
export const TASK_FILTERS = ['desired-state', 'id', 'label', 'name', 'node', 'service', '_up-to-date', 'runtime'] as const;

/** The checks dockerd makes before asking swarmkit: filter names and desired-state values (400). */
export function validateTaskFilters(args: FilterArgs): void {
  validateFilterNames(args, TASK_FILTERS);
  enumValues(args, 'desired-state', TASK_STATES, 'desired-state');
}

/** `service` and `node` filter values resolved to IDs by the backend; undefined when not filtered on. */
export interface ResolvedTaskRefs {
  serviceIds: ReadonlySet<string> | undefined;
  nodeIds: ReadonlySet<string> | undefined;
}

/** What the task filters read besides the task: its service, looked up once per service. */
export interface TaskFacts<T extends Task = Task> {
  task: T;
  /** The owning service's name and labels; undefined when the service is gone. */
  serviceName: string | undefined;
  serviceLabels: Labels | undefined;
  /** Made from the service's current spec (swarmkit: not "dirty"). */
  upToDate: boolean;
}

/**
 * swarmkit's task name, as containers are named: the stored name when the
 * orchestrator set one, and `<service>.<slot>.<task ID>` (`<service>.<node
 * ID>.<task ID>` for global services).
 */
export function taskNames(f: TaskFacts<Task>): string[] {
  const t = f.task;
  const slot = t.Slot ? String(t.Slot) : (t.NodeID ?? '');
  const full = `${f.serviceName ?? ''}.${slot}.${t.ID}`;
  return t.Name ? [t.Name, full] : [full];
}

/** A predicate for GET /tasks, after validateTaskFilters and the backend's resolution of references. */
export function taskFilter<T extends Task>(args: FilterArgs, refs: ResolvedTaskRefs): (f: TaskFacts<T>) => boolean {
  const ids = args.get('id') ?? [];
  const names = (args.get('name') ?? []).filter((n) => n !== '');
  const labels = labelSelector(args.get('label') ?? []);
  const desired = enumValues(args, 'desired-state', TASK_STATES, 'desired-state');
  const upToDate = (args.get('_up-to-date') ?? []).length > 0;
  return (f) =>
    hasPrefixIn(f.task.ID, ids) &&
    (refs.serviceIds === undefined || refs.serviceIds.has(f.task.ServiceID)) &&
    (refs.nodeIds === undefined || refs.nodeIds.has(f.task.NodeID ?? '')) &&
    (desired.length === 0 || desired.includes(f.task.DesiredState)) &&
    (names.length === 0 || taskNames(f).some((n) => names.some((p) => n.startsWith(p)))) &&
    // swarmkit matches the service's labels here, not the task's own.
    (labels.size === 0 || labelsMatch(f.serviceLabels, labels)) &&
    (!upToDate || f.upToDate);
}

/** Tasks by ID, name (either form of taskNames), ID prefix. */
export const TASK_KEYS: RefKeys<TaskFacts<Task>> = { id: (f) => f.task.ID, names: taskNames };
