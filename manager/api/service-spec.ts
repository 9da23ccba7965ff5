// Service specs as the manager accepts and stores them. Pure functions.
//
// The docker CLI sends Go zero values for everything not given ("Order": "",
// "Resources": {"Limits": {}}, "Placement": {}); dockerd reads "" enums as their
// defaults and stores what is left. normalizeServiceSpec does the same, and fills
// the few fields the docker CLI dereferences without checking (Replicas,
// MaxConcurrent, TotalCompletions), so what we serve never crashes it.
// validateServiceSpec refuses, with swarmkit's wording plus a hint, what
// swarmkit refuses. withServiceDefaults is `?insertDefaults=true`.
import { InvalidArgumentError, NotFoundError } from '../../shared/errors.js';
import type { ContainerSpec, EndpointSpec, HealthConfig, ServiceMode, ServiceSpec, TaskResources, TaskSpec, UpdateConfig } from '../../shared/model/index.js';
import { constraintProblem } from '../scheduler/constraints.js';
import { imageReferenceProblem } from './image-ref.js';

export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

const SECOND = 1e9;
/** swarmkit's defaults (api/defaults): what the control loops assume when a field is absent. */
export const DEFAULT_STOP_GRACE_PERIOD = 10 * SECOND;
export const DEFAULT_RESTART_DELAY = 5 * SECOND;
export const DEFAULT_MONITOR = 5 * SECOND;

/** Swarmkit's isValidDNSName: a DNS label that may also use "_", never ending in "-" or "_". */
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const MAX_NAME = 63;
const MIN_DURATION = 1_000_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Which of the four modes the spec names; undefined when it names none. Throws when it names several. */
export function modeKindOf(mode: ServiceMode | undefined): ModeKind | undefined {
  const kinds: ModeKind[] = [];
  if (mode?.Replicated !== undefined) kinds.push('replicated');
  if (mode?.Global !== undefined) kinds.push('global');
  if (mode?.ReplicatedJob !== undefined) kinds.push('replicated-job');
  if (mode?.GlobalJob !== undefined) kinds.push('global-job');
  if (kinds.length > 1) {
    throw new InvalidArgumentError(
      `Mode names ${kinds.join(' and ')}: a service has exactly one mode (Replicated, Global, ReplicatedJob or GlobalJob)`,
    );
  }
  return kinds[0];
}

/** The mode of a normalized spec (always exactly one). */
export function modeKind(spec: ServiceSpec): ModeKind {
  return modeKindOf(spec.Mode) ?? 'replicated';
}

export function isJob(spec: ServiceSpec): boolean {
  const k = modeKind(spec);
  return k === 'replicated-job' || k === 'global-job';
}

function normalizeMode(mode: ServiceMode | undefined): ServiceMode {
  switch (modeKindOf(mode)) {
    case undefined:
      // dockerd: no mode at all is one replica.
      return { Replicated: { Replicas: 1 } };
    case 'replicated':
      return { Replicated: { Replicas: mode?.Replicated?.Replicas ?? 1 } };
    case 'global':
      return { Global: {} };
    case 'replicated-job': {
      // dockerd: MaxConcurrent defaults to 1, TotalCompletions to MaxConcurrent.
      const max = mode?.ReplicatedJob?.MaxConcurrent ?? 1;
      return { ReplicatedJob: { MaxConcurrent: max, TotalCompletions: mode?.ReplicatedJob?.TotalCompletions ?? max } };
    }
    case 'global-job':
      return { GlobalJob: {} };
  }
}

function normalizeUpdateConfig(c: UpdateConfig | undefined): UpdateConfig | undefined {
  if (c === undefined) return undefined;
  const out: UpdateConfig = { ...c };
  // Present but without Parallelism is Go's zero, which means "all at once"; keep that explicit.
  out.Parallelism = c.Parallelism ?? 0;
  out.FailureAction = c.FailureAction || 'pause';
  out.Order = c.Order || 'stop-first';
  // Zero means "the default" (5 s) to swarmkit; absent says so without a magic number.
  if (!c.Monitor) delete out.Monitor;
  if (!c.Delay) delete out.Delay;
  out.MaxFailureRatio = c.MaxFailureRatio ?? 0;
  return out;
}

/** Drops `""` from string fields that are enums (or mean "default") in Docker's Go types. */
function dropEmptyStrings<T extends object>(obj: T | undefined, keys: readonly (keyof T)[]): void {
  if (obj === undefined) return;
  for (const k of keys) if (obj[k] === '') delete obj[k];
}

function normalizeTaskTemplate(t: TaskSpec | undefined): TaskSpec {
  const out: TaskSpec = clone(t ?? {});
  const c: (ContainerSpec & { Healthcheck?: HealthConfig }) | undefined = out.ContainerSpec;
  if (c !== undefined) {
    // The reference says HealthCheck; the docker CLI sends Go's field name, Healthcheck.
    if (c.Healthcheck !== undefined) {
      c.HealthCheck ??= c.Healthcheck;
      delete c.Healthcheck;
    }
    dropEmptyStrings(c, ['Isolation', 'StopSignal', 'Hostname', 'Dir', 'User']);
    for (const m of c.Mounts ?? []) dropEmptyStrings(m, ['Type', 'Consistency']);
  }
  if (out.RestartPolicy !== undefined) {
    // dockerd: an empty condition is "any".
    out.RestartPolicy = { ...out.RestartPolicy, Condition: out.RestartPolicy.Condition || 'any' };
  }
  dropEmptyStrings(out, ['Runtime']);
  return out;
}

function normalizeEndpointSpec(e: EndpointSpec | undefined): EndpointSpec | undefined {
  if (e === undefined) return undefined;
  const out: EndpointSpec = { ...e, Mode: e.Mode || 'vip' };
  if (e.Ports !== undefined) {
    out.Ports = e.Ports.map((p) => ({ ...p, Protocol: p.Protocol || 'tcp', PublishMode: p.PublishMode || 'ingress' }));
  }
  return out;
}

/**
 * The spec as stored: "" enums become their defaults or go, and the mode is
 * complete. Throws (400) when the mode is ambiguous. Does not validate the rest.
 */
export function normalizeServiceSpec(spec: ServiceSpec): ServiceSpec {
  const out: ServiceSpec = clone(spec);
  out.TaskTemplate = normalizeTaskTemplate(spec.TaskTemplate);
  out.Mode = normalizeMode(spec.Mode);
  const update = normalizeUpdateConfig(spec.UpdateConfig);
  if (update) out.UpdateConfig = update;
  const rollback = normalizeUpdateConfig(spec.RollbackConfig);
  if (rollback) out.RollbackConfig = rollback;
  const endpoint = normalizeEndpointSpec(spec.EndpointSpec);
  if (endpoint) out.EndpointSpec = endpoint;
  return out;
}

function invalid(message: string): never {
  throw new InvalidArgumentError(message);
}

export function validateServiceName(name: string | undefined): void {
  if (name === undefined || name === '') invalid('meta: name must be provided');
  if (name.length > MAX_NAME) invalid(`name must be ${MAX_NAME} characters or fewer (got ${name.length}: ${JSON.stringify(name)})`);
  if (!SERVICE_NAME.test(name)) {
    invalid(
      `name must be valid as a DNS name component (got ${JSON.stringify(name)}): letters, digits, "-" and "_", starting and ending with a letter or digit`,
    );
  }
}

function validateResources(r: TaskResources | undefined): void {
  for (const [what, res] of [
    ['Limits', r?.Limits],
    ['Reservations', r?.Reservations],
  ] as const) {
    const cpus = res?.NanoCPUs ?? 0;
    const memory = res?.MemoryBytes ?? 0;
    if (cpus < 0) invalid(`Resources.${what}.NanoCPUs cannot be negative (got ${cpus})`);
    if (memory < 0) invalid(`Resources.${what}.MemoryBytes cannot be negative (got ${memory})`);
    if (cpus !== 0 && cpus < 1e6) invalid(`invalid cpu value ${cpus / 1e9}: Must be at least 0.001`);
    if (memory !== 0 && memory < 4 * 1024 * 1024) invalid(`invalid memory value ${memory}: Must be at least 4MiB`);
  }
}

function validateHealthCheck(h: HealthConfig | undefined): void {
  if (h === undefined) return;
  for (const field of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[field] ?? 0;
    if (v !== 0 && v < MIN_DURATION) invalid(`ContainerSpec: ${field} in HealthConfig cannot be less than 1ms (got ${v}ns)`);
  }
  if ((h.Retries ?? 0) < 0) invalid('ContainerSpec: Retries in HealthConfig cannot be negative');
  const test = h.Test ?? [];
  if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!)) {
    invalid(`ContainerSpec: HealthCheck.Test must start with "NONE", "CMD" or "CMD-SHELL" (got ${JSON.stringify(test[0])})`);
  }
}

function validateUpdateConfig(what: 'update' | 'rollback', c: UpdateConfig | undefined): void {
  if (c === undefined) return;
  if ((c.Delay ?? 0) < 0) invalid(`TaskSpec: ${what}-delay cannot be negative`);
  if ((c.Monitor ?? 0) < 0) invalid(`TaskSpec: ${what}-monitor cannot be negative`);
  const ratio = c.MaxFailureRatio ?? 0;
  if (ratio < 0 || ratio > 1) invalid(`TaskSpec: ${what}-maxfailureratio cannot be less than 0 or bigger than 1 (got ${ratio})`);
  if (what === 'rollback' && c.FailureAction === 'rollback') {
    invalid('RollbackConfig.FailureAction must be pause or continue: a rollback cannot roll back');
  }
}

function validateEndpoint(e: EndpointSpec | undefined): void {
  if (e === undefined) return;
  const seen = new Set<string>();
  for (const p of e.Ports ?? []) {
    if (e.Mode === 'dnsrr' && (p.PublishMode ?? 'ingress') === 'ingress') {
      invalid("EndpointSpec: port published with ingress mode can't be used with dnsrr mode (publish it in host mode, or use vip)");
    }
    if ((p.TargetPort ?? 0) === 0) invalid('EndpointSpec: every published port needs a TargetPort');
    if (!p.PublishedPort) continue;
    const key = `${p.PublishedPort}/${p.Protocol ?? 'tcp'}`;
    if (seen.has(key)) invalid(`EndpointSpec: duplicate published ports provided (${key})`);
    seen.add(key);
  }
}

/** Throws InvalidArgumentError (400) naming what is wrong. Expects a normalized spec. */
export function validateServiceSpec(spec: ServiceSpec): void {
  validateServiceName(spec.Name);
  const t = spec.TaskTemplate;
  const c = t.ContainerSpec;
  if (c === undefined) invalid('TaskTemplate.ContainerSpec is required: a service runs containers (give at least an Image)');
  const imageProblem = imageReferenceProblem(c.Image ?? '');
  if (imageProblem !== undefined) {
    invalid(c.Image ? `ContainerSpec: ${JSON.stringify(c.Image)} is not a valid repository/tag: ${imageProblem}` : `ContainerSpec: ${imageProblem}`);
  }
  const targets = new Set<string>();
  for (const m of c.Mounts ?? []) {
    if (targets.has(m.Target ?? '')) invalid(`ContainerSpec: duplicate mount point: ${m.Target ?? ''}`);
    targets.add(m.Target ?? '');
  }
  if ((c.StopGracePeriod ?? 0) < 0) invalid('ContainerSpec: StopGracePeriod cannot be negative');
  validateHealthCheck(c.HealthCheck);
  validateResources(t.Resources);
  if ((t.RestartPolicy?.Delay ?? 0) < 0) invalid('TaskSpec: restart-delay cannot be negative');
  if ((t.RestartPolicy?.Window ?? 0) < 0) invalid('TaskSpec: restart-window cannot be negative');
  if ((t.RestartPolicy?.MaxAttempts ?? 0) < 0) invalid('TaskSpec: restart-max-attempts cannot be negative');
  if ((t.Placement?.MaxReplicas ?? 0) < 0) invalid('Placement.MaxReplicas cannot be negative');
  for (const expr of t.Placement?.Constraints ?? []) {
    const problem = constraintProblem(expr);
    if (problem !== undefined) {
      invalid(`invalid constraint ${JSON.stringify(expr)}: ${problem} (write <key>==<value> or <key>!=<value>, e.g. node.labels.zone==eu)`);
    }
  }
  for (const p of t.Placement?.Preferences ?? []) {
    if (!p.Spread?.SpreadDescriptor) invalid('Placement.Preferences: each preference needs Spread.SpreadDescriptor, e.g. node.labels.zone');
  }
  validateUpdateConfig('update', spec.UpdateConfig);
  validateUpdateConfig('rollback', spec.RollbackConfig);
  validateEndpoint(spec.EndpointSpec);
  const k = modeKind(spec);
  if (k === 'replicated-job') {
    if ((spec.Mode?.ReplicatedJob?.MaxConcurrent ?? 1) === 0 && (spec.Mode?.ReplicatedJob?.TotalCompletions ?? 0) > 0) {
      invalid('ReplicatedJob.MaxConcurrent must be at least 1 when TotalCompletions is set');
    }
  }
}

/** `?insertDefaults=true`: swarmkit's InterpolateService (whole parts filled only when absent). */
export function withServiceDefaults(spec: ServiceSpec): ServiceSpec {
  const out = clone(spec);
  const t = out.TaskTemplate;
  if (t.ContainerSpec !== undefined) {
    t.ContainerSpec.StopGracePeriod ??= DEFAULT_STOP_GRACE_PERIOD;
    t.ContainerSpec.DNSConfig ??= {};
  }
  t.Resources ??= { Limits: {}, Reservations: {} };
  t.RestartPolicy ??= { Condition: 'any', Delay: DEFAULT_RESTART_DELAY, MaxAttempts: 0 };
  t.Placement ??= {};
  t.ForceUpdate ??= 0;
  const defaults = (): UpdateConfig => ({
    Parallelism: 1,
    FailureAction: 'pause',
    Monitor: DEFAULT_MONITOR,
    MaxFailureRatio: 0,
    Order: 'stop-first',
  });
  out.UpdateConfig ??= defaults();
  out.RollbackConfig ??= defaults();
  out.EndpointSpec ??= { Mode: 'vip' };
  return out;
}

/**
 * Go's view of "the same value": zero numbers, "", false, empty arrays and
 * objects are absent. Keys are sorted so equal values print equal.
 */
function canonical(value: unknown): Json | undefined {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return undefined;
  if (Array.isArray(value)) {
    const items = value.map((v) => canonical(v) ?? null);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical((value as Record<string, unknown>)[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}

/**
 * What the service's tasks are made from: the task template (defaults
 * filled, so a spec read with insertDefaults and sent back is no change), the
 * endpoint and networks. Two specs with the same key need no new tasks; a
 * change of Replicas, labels or UpdateConfig alone keeps the key.
 */
export function taskDefinitionKey(spec: ServiceSpec): string {
  const d = withServiceDefaults(spec);
  return JSON.stringify(canonical({ TaskTemplate: d.TaskTemplate, EndpointSpec: d.EndpointSpec, Networks: d.Networks }) ?? {});
}

/** What resolving a service's networks needs of each network. */
export interface NetworkRef {
  ID: string;
  Spec: { Name: string; Ingress: boolean };
}

/**
 * The spec with its network attachments resolved to network IDs, as
 * dockerd does before handing a spec to swarmkit: each Target may be a
 * network ID, name or unique ID prefix. The deprecated ServiceSpec.Networks
 * moves into TaskTemplate.Networks (where the tasks are made from). Throws
 * 404 `network foo not found`, and 400 for the ingress network (joined
 * through published ports, never by name) or a network given twice.
 */
export function withResolvedNetworks(spec: ServiceSpec, networks: readonly NetworkRef[]): ServiceSpec {
  const out = clone(spec);
  const given = (out.TaskTemplate.Networks ?? []).length > 0 ? out.TaskTemplate.Networks! : (out.Networks ?? []);
  delete out.Networks;
  if (given.length === 0) {
    delete out.TaskTemplate.Networks;
    return out;
  }
  const seen = new Set<string>();
  out.TaskTemplate.Networks = given.map((att) => {
    const n = resolveNetwork(networks, att.Target ?? '');
    if (n.Spec.Ingress) {
      invalid(`service cannot be explicitly attached to the ingress network "${n.Spec.Name}" (publish a port with -p instead)`);
    }
    if (seen.has(n.ID)) invalid(`network ${att.Target} is attached more than once: give each network once`);
    seen.add(n.ID);
    return { ...att, Target: n.ID };
  });
  return out;
}

function resolveNetwork(networks: readonly NetworkRef[], ref: string): NetworkRef {
  const found =
    networks.find((n) => n.ID === ref) ??
    networks.find((n) => n.Spec.Name === ref) ??
    (() => {
      const byPrefix = ref === '' ? [] : networks.filter((n) => n.ID.startsWith(ref));
      return byPrefix.length === 1 ? byPrefix[0] : undefined;
    })();
  if (found === undefined) throw new NotFoundError(`network ${ref} not found`);
  return found;
}
