// `shoal service create|update` flags into a ServiceSpec, the way the docker
// CLI builds one (cli/command/service/opts.go and update.go): only what was
// given is sent, and a group of settings that is touched at all (restart
// policy, update or rollback config) starts from swarmkit's defaults, so
// `--update-delay 10s` does not silently turn parallelism into 0 ("all at
// once"). Pure functions; flag values arrive already parsed (see the parsers
// at the bottom, used as commander argParsers).

import type {
  EndpointPortConfig,
  EndpointSpec,
  HealthConfig,
  Labels,
  PlacementPreference,
  ServiceMode,
  ServiceSpec,
  TaskSpec,
  UpdateConfig,
} from '../../shared/model/index.js';
import { parseDuration } from './units.js';

const SECOND = 1e9;

/** Every flag both commands know, parsed; undefined means "not given". */
export interface ServiceFlags {
  replicas?: number;
  maxConcurrent?: number;
  replicasMaxPerNode?: number;
  reserveCpu?: number;
  reserveMemory?: number;
  limitCpu?: number;
  limitMemory?: number;
  restartCondition?: 'none' | 'on-failure' | 'any';
  restartDelay?: number;
  restartMaxAttempts?: number;
  restartWindow?: number;
  updateParallelism?: number;
  updateDelay?: number;
  updateFailureAction?: 'pause' | 'continue' | 'rollback';
  updateMonitor?: number;
  updateMaxFailureRatio?: number;
  updateOrder?: 'start-first' | 'stop-first';
  rollbackParallelism?: number;
  rollbackDelay?: number;
  rollbackFailureAction?: 'pause' | 'continue';
  rollbackMonitor?: number;
  rollbackMaxFailureRatio?: number;
  rollbackOrder?: 'start-first' | 'stop-first';
  healthCmd?: string;
  healthInterval?: number;
  healthTimeout?: number;
  healthRetries?: number;
  healthStartPeriod?: number;
  noHealthcheck?: boolean;
  stopSignal?: string;
  stopGracePeriod?: number;
  endpointMode?: 'vip' | 'dnsrr';
}

export interface CreateFlags extends ServiceFlags {
  name?: string;
  mode?: string;
  env?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: PlacementPreference[];
  /** --network: names or IDs (the manager resolves them). */
  network?: string[];
  publish?: EndpointPortConfig[];
}

export interface UpdateFlags extends ServiceFlags {
  image?: string;
  args?: string[];
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPrefAdd?: PlacementPreference[];
  placementPrefRm?: PlacementPreference[];
  networkAdd?: string[];
  /** Networks to detach: each as the user named it and, when the daemon knows it, its ID. */
  networkRm?: Array<{ ref: string; id?: string }>;
  publishAdd?: EndpointPortConfig[];
  publishRm?: EndpointPortConfig[];
  force?: boolean;
}

/** A mistake in the flags, worded as the docker CLI words it. */
export class FlagError extends Error {
  override name = 'FlagError';
}

const given = (...values: unknown[]): boolean => values.some((v) => v !== undefined);

/** docker's ConvertKVStringsToMap: "k=v" or "k" (an empty value). */
export function keyValues(items: readonly string[]): Labels {
  const out: Labels = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at === -1) out[item] = '';
    else out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** swarmkit's defaults for UpdateConfig and RollbackConfig (updateConfigFromDefaults). */
export function defaultUpdateConfig(): UpdateConfig {
  return { Parallelism: 1, FailureAction: 'pause', Monitor: 5 * SECOND, MaxFailureRatio: 0, Order: 'stop-first' };
}

function applyUpdateConfig(
  current: UpdateConfig | undefined,
  f: { parallelism?: number; delay?: number; failureAction?: UpdateConfig['FailureAction']; monitor?: number; ratio?: number; order?: UpdateConfig['Order'] },
): UpdateConfig | undefined {
  if (!given(f.parallelism, f.delay, f.failureAction, f.monitor, f.ratio, f.order)) return current;
  const c: UpdateConfig = { ...(current ?? defaultUpdateConfig()) };
  if (f.parallelism !== undefined) c.Parallelism = f.parallelism;
  if (f.delay !== undefined) c.Delay = f.delay;
  if (f.failureAction !== undefined) c.FailureAction = f.failureAction;
  if (f.monitor !== undefined) c.Monitor = f.monitor;
  if (f.ratio !== undefined) c.MaxFailureRatio = f.ratio;
  if (f.order !== undefined) c.Order = f.order;
  return c;
}

function updateConfigs(spec: ServiceSpec, f: ServiceFlags): void {
  const update = applyUpdateConfig(spec.UpdateConfig, {
    parallelism: f.updateParallelism,
    delay: f.updateDelay,
    failureAction: f.updateFailureAction,
    monitor: f.updateMonitor,
    ratio: f.updateMaxFailureRatio,
    order: f.updateOrder,
  });
  if (update) spec.UpdateConfig = update;
  const rollback = applyUpdateConfig(spec.RollbackConfig, {
    parallelism: f.rollbackParallelism,
    delay: f.rollbackDelay,
    failureAction: f.rollbackFailureAction,
    monitor: f.rollbackMonitor,
    ratio: f.rollbackMaxFailureRatio,
    order: f.rollbackOrder,
  });
  if (rollback) spec.RollbackConfig = rollback;
}

function applyRestartPolicy(task: TaskSpec, f: ServiceFlags): void {
  if (!given(f.restartCondition, f.restartDelay, f.restartMaxAttempts, f.restartWindow)) return;
  // docker's defaultRestartPolicy: any, 5 s, unlimited attempts.
  const rp = { ...(task.RestartPolicy ?? { Condition: 'any' as const, Delay: 5 * SECOND, MaxAttempts: 0 }) };
  if (f.restartCondition !== undefined) rp.Condition = f.restartCondition;
  if (f.restartDelay !== undefined) rp.Delay = f.restartDelay;
  if (f.restartMaxAttempts !== undefined) rp.MaxAttempts = f.restartMaxAttempts;
  if (f.restartWindow !== undefined) rp.Window = f.restartWindow;
  task.RestartPolicy = rp;
}

function applyResources(task: TaskSpec, f: ServiceFlags): void {
  // As docker: touching one limit (or reservation) flag replaces that whole group.
  if (given(f.limitCpu, f.limitMemory)) {
    task.Resources = { ...task.Resources, Limits: { NanoCPUs: f.limitCpu ?? 0, MemoryBytes: f.limitMemory ?? 0 } };
  }
  if (given(f.reserveCpu, f.reserveMemory)) {
    task.Resources = { ...task.Resources, Reservations: { NanoCPUs: f.reserveCpu ?? 0, MemoryBytes: f.reserveMemory ?? 0 } };
  }
}

const HEALTH_SETTINGS = (f: ServiceFlags): boolean => given(f.healthCmd, f.healthInterval, f.healthTimeout, f.healthRetries, f.healthStartPeriod);

function noHealthcheckConflict(): FlagError {
  return new FlagError('--no-healthcheck conflicts with --health-* options');
}

/** docker's toHealthConfig (create): undefined when no health flag was given. */
function createHealth(f: ServiceFlags): HealthConfig | undefined {
  if (f.noHealthcheck) {
    if (HEALTH_SETTINGS(f)) throw noHealthcheckConflict();
    return { Test: ['NONE'] };
  }
  if (!HEALTH_SETTINGS(f)) return undefined;
  return {
    ...(f.healthCmd ? { Test: ['CMD-SHELL', f.healthCmd] } : {}),
    Interval: f.healthInterval ?? 0,
    Timeout: f.healthTimeout ?? 0,
    Retries: f.healthRetries ?? 0,
    StartPeriod: f.healthStartPeriod ?? 0,
  };
}

/** docker's updateHealthcheck: changes only the settings given. */
function updateHealth(current: HealthConfig | undefined, f: ServiceFlags): HealthConfig | undefined {
  if (!f.noHealthcheck && !HEALTH_SETTINGS(f)) return current;
  if (f.noHealthcheck) {
    if (HEALTH_SETTINGS(f)) throw noHealthcheckConflict();
    return { Test: ['NONE'] };
  }
  const h: HealthConfig = { ...current };
  if (h.Test?.[0] === 'NONE') delete h.Test;
  if (f.healthInterval !== undefined) h.Interval = f.healthInterval;
  if (f.healthTimeout !== undefined) h.Timeout = f.healthTimeout;
  if (f.healthStartPeriod !== undefined) h.StartPeriod = f.healthStartPeriod;
  if (f.healthRetries !== undefined) h.Retries = f.healthRetries;
  if (f.healthCmd !== undefined) {
    if (f.healthCmd === '') delete h.Test;
    else h.Test = ['CMD-SHELL', f.healthCmd];
  }
  return h;
}

/** docker's ToServiceMode, with its messages. */
export function serviceMode(f: CreateFlags): ServiceMode {
  const mode = f.mode ?? 'replicated';
  const noReplicas = (): void => {
    if (f.replicas !== undefined) throw new FlagError('replicas can only be used with replicated or replicated-job mode');
  };
  const noMaxPerNode = (): void => {
    if ((f.replicasMaxPerNode ?? 0) > 0) throw new FlagError('replicas-max-per-node can only be used with replicated or replicated-job mode');
  };
  const noMaxConcurrent = (): void => {
    if (f.maxConcurrent !== undefined) throw new FlagError('max-concurrent can only be used with replicated-job mode');
  };
  switch (mode) {
    case 'global':
      noReplicas();
      noMaxPerNode();
      noMaxConcurrent();
      return { Global: {} };
    case 'replicated':
      noMaxConcurrent();
      return { Replicated: f.replicas === undefined ? {} : { Replicas: f.replicas } };
    case 'replicated-job': {
      const concurrent = f.maxConcurrent ?? f.replicas;
      return {
        ReplicatedJob: {
          ...(concurrent !== undefined ? { MaxConcurrent: concurrent } : {}),
          ...(f.replicas !== undefined ? { TotalCompletions: f.replicas } : {}),
        },
      };
    }
    case 'global-job':
      noReplicas();
      noMaxPerNode();
      noMaxConcurrent();
      return { GlobalJob: {} };
    default:
      throw new FlagError(`invalid mode "${mode}": use replicated, global, replicated-job or global-job`);
  }
}

/** `service create [OPTIONS] IMAGE [COMMAND] [ARG...]`: COMMAND and ARGs become Args, as in docker. */
export function buildCreateSpec(image: string, args: readonly string[], f: CreateFlags): ServiceSpec {
  const health = createHealth(f);
  const task: TaskSpec = {
    ContainerSpec: {
      Image: image,
      ...(args.length > 0 ? { Args: [...args] } : {}),
      ...(f.env?.length ? { Env: dedupeEnv(f.env) } : {}),
      ...(f.containerLabel?.length ? { Labels: keyValues(f.containerLabel) } : {}),
      ...(f.stopSignal ? { StopSignal: f.stopSignal } : {}),
      ...(f.stopGracePeriod !== undefined ? { StopGracePeriod: f.stopGracePeriod } : {}),
      ...(health ? { HealthCheck: health } : {}),
    },
  };
  const placement = {
    ...(f.constraint?.length ? { Constraints: [...f.constraint] } : {}),
    ...(f.placementPref?.length ? { Preferences: [...f.placementPref] } : {}),
    ...(f.replicasMaxPerNode ? { MaxReplicas: f.replicasMaxPerNode } : {}),
  };
  if (Object.keys(placement).length > 0) task.Placement = placement;
  applyResources(task, f);
  applyRestartPolicy(task, f);
  if (f.network?.length) task.Networks = f.network.map((target) => ({ Target: target }));
  const endpoint: EndpointSpec = {
    ...(f.endpointMode ? { Mode: f.endpointMode } : {}),
    ...(f.publish?.length ? { Ports: f.publish.map((p) => ({ ...p })) } : {}),
  };
  const spec: ServiceSpec = {
    ...(f.name ? { Name: f.name } : {}),
    ...(f.label?.length ? { Labels: keyValues(f.label) } : {}),
    TaskTemplate: task,
    Mode: serviceMode(f),
    ...(Object.keys(endpoint).length > 0 ? { EndpointSpec: endpoint } : {}),
  };
  updateConfigs(spec, f);
  return spec;
}

function envKey(entry: string): string {
  const at = entry.indexOf('=');
  return at === -1 ? entry : entry.slice(0, at);
}

/** Later settings of a variable replace earlier ones, in place (docker keeps the last). */
function dedupeEnv(entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const i = out.findIndex((x) => envKey(x) === envKey(e));
    if (i === -1) out.push(e);
    else out[i] = e;
  }
  return out;
}

function updateLabels(current: Labels | undefined, add: readonly string[] | undefined, rm: readonly string[] | undefined): Labels | undefined {
  if (add === undefined && rm === undefined) return current;
  const out: Labels = { ...current };
  for (const key of rm ?? []) delete out[key];
  Object.assign(out, keyValues(add ?? []));
  return out;
}

const prefString = (p: PlacementPreference): string => `spread=${p.Spread.SpreadDescriptor}`;

/** docker's updateReplicas for replicated and replicated-job services. */
function updateMode(mode: ServiceMode | undefined, f: UpdateFlags): ServiceMode | undefined {
  if (f.replicas === undefined && f.maxConcurrent === undefined) return mode;
  if (mode?.ReplicatedJob !== undefined) {
    return {
      ReplicatedJob: {
        ...mode.ReplicatedJob,
        ...(f.replicas !== undefined ? { TotalCompletions: f.replicas } : {}),
        ...(f.maxConcurrent !== undefined ? { MaxConcurrent: f.maxConcurrent } : {}),
      },
    };
  }
  if (f.maxConcurrent !== undefined) throw new FlagError('max-concurrent can only be used with replicated-job mode');
  if (mode?.Replicated === undefined && mode !== undefined && Object.keys(mode).length > 0) {
    throw new FlagError('replicas can only be used with replicated or replicated-job mode');
  }
  return { Replicated: { Replicas: f.replicas } };
}

/** `service update`: the service's current spec with the flags applied (docker's updateService). */
export function buildUpdateSpec(current: ServiceSpec, f: UpdateFlags): ServiceSpec {
  const spec: ServiceSpec = structuredClone(current);
  const task = spec.TaskTemplate;
  const c = (task.ContainerSpec ??= { Image: '' });
  const labels = updateLabels(spec.Labels, f.labelAdd, f.labelRm);
  if (labels) spec.Labels = labels;
  const containerLabels = updateLabels(c.Labels, f.containerLabelAdd, f.containerLabelRm);
  if (containerLabels) c.Labels = containerLabels;
  if (f.image !== undefined) c.Image = f.image;
  if (f.args !== undefined) c.Args = [...f.args];
  if (f.envAdd !== undefined || f.envRm !== undefined) {
    const removed = new Set(f.envRm ?? []);
    c.Env = dedupeEnv([...(c.Env ?? []).filter((e) => !removed.has(envKey(e)) && !removed.has(e)), ...(f.envAdd ?? [])]);
  }
  applyResources(task, f);
  if (f.stopGracePeriod !== undefined) c.StopGracePeriod = f.stopGracePeriod;
  if (f.stopSignal !== undefined) c.StopSignal = f.stopSignal;
  applyRestartPolicy(task, f);
  if (f.constraintAdd !== undefined || f.constraintRm !== undefined) {
    const removed = new Set(f.constraintRm ?? []);
    const all = [...(task.Placement?.Constraints ?? []), ...(f.constraintAdd ?? [])].filter((x) => !removed.has(x));
    // docker sorts (and so dedupes nothing, but keeps the result predictable).
    task.Placement = { ...task.Placement, Constraints: [...new Set(all)].sort() };
  }
  if (f.placementPrefAdd !== undefined || f.placementPrefRm !== undefined) {
    const removed = new Set((f.placementPrefRm ?? []).map(prefString));
    const kept = (task.Placement?.Preferences ?? []).filter((p) => !removed.has(prefString(p)));
    task.Placement = { ...task.Placement, Preferences: [...kept, ...(f.placementPrefAdd ?? [])] };
  }
  if (f.replicasMaxPerNode !== undefined) task.Placement = { ...task.Placement, MaxReplicas: f.replicasMaxPerNode };
  const mode = updateMode(spec.Mode, f);
  if (mode) spec.Mode = mode;
  updateConfigs(spec, f);
  if (f.force) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;
  const health = updateHealth(c.HealthCheck, f);
  if (health) c.HealthCheck = health;
  updateNetworks(spec, f);
  updateEndpoint(spec, f);
  return spec;
}

/** docker's updateNetworks: detach first (by ID or name), then attach; the deprecated ServiceSpec.Networks moves into the task template. */
function updateNetworks(spec: ServiceSpec, f: UpdateFlags): void {
  if (f.networkAdd === undefined && f.networkRm === undefined) return;
  const task = spec.TaskTemplate;
  let nets = [...(task.Networks?.length ? task.Networks : (spec.Networks ?? []))];
  delete spec.Networks;
  for (const rm of f.networkRm ?? []) {
    const before = nets.length;
    nets = nets.filter((n) => n.Target !== rm.ref && n.Target !== rm.id);
    if (nets.length === before) throw new FlagError(`service is not attached to network ${rm.ref}`);
  }
  for (const add of f.networkAdd ?? []) {
    if (nets.some((n) => n.Target === add)) throw new FlagError(`service is already attached to network ${add}`);
    nets.push({ Target: add });
  }
  if (nets.length > 0) task.Networks = nets;
  else delete task.Networks;
}

const portKey = (p: EndpointPortConfig): string => `${p.PublishedPort ?? 0}/${p.Protocol ?? 'tcp'}`;

/** docker's updatePorts: --publish-rm by target port (and published port when given), --publish-add replacing a port published on the same number. */
function updateEndpoint(spec: ServiceSpec, f: UpdateFlags): void {
  if (f.publishAdd === undefined && f.publishRm === undefined && f.endpointMode === undefined) return;
  const e: EndpointSpec = { ...spec.EndpointSpec };
  if (f.endpointMode !== undefined) e.Mode = f.endpointMode;
  if (f.publishAdd !== undefined || f.publishRm !== undefined) {
    let ports = [...(e.Ports ?? [])];
    for (const rm of f.publishRm ?? []) {
      ports = ports.filter(
        (p) =>
          !(
            p.TargetPort === rm.TargetPort &&
            (p.Protocol ?? 'tcp') === (rm.Protocol ?? 'tcp') &&
            ((rm.PublishedPort ?? 0) === 0 || rm.PublishedPort === p.PublishedPort)
          ),
      );
    }
    for (const add of f.publishAdd ?? []) {
      if ((add.PublishedPort ?? 0) > 0) ports = ports.filter((p) => portKey(p) !== portKey(add));
      ports.push({ ...add });
    }
    if (ports.length > 0) e.Ports = ports;
    else delete e.Ports;
  }
  spec.EndpointSpec = e;
}

/**
 * docker's --publish: `8080:80`, `8080:80/udp`, `80` (a published port picked
 * by the swarm), or the long form `published=8080,target=80,protocol=udp,mode=host`.
 */
export function parsePublish(value: string): EndpointPortConfig {
  const v = value.trim();
  if (v.includes('=')) return parseLongPublish(v);
  const slash = v.indexOf('/');
  const protocol = slash === -1 ? 'tcp' : v.slice(slash + 1).toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new Error(`invalid protocol "${protocol}" in ${value}: use tcp, udp or sctp`);
  const ports = (slash === -1 ? v : v.slice(0, slash)).split(':');
  if (ports.length > 2) throw new Error(`hostip is not supported in ${value}: publish as published:target (e.g. 8080:80)`);
  const target = portNumber(ports[ports.length - 1]!, value);
  const published = ports.length === 2 ? portNumber(ports[0]!, value) : 0;
  return { Protocol: protocol, TargetPort: target, PublishedPort: published, PublishMode: 'ingress' };
}

function portNumber(text: string, whole: string): number {
  if (text.includes('-')) throw new Error(`port ranges are not supported (${whole}): publish each port with its own -p`);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new Error(`invalid port "${text}" in ${whole}: use a number from 1 to 65535`);
  return n;
}

function parseLongPublish(value: string): EndpointPortConfig {
  const out: EndpointPortConfig = { Protocol: 'tcp', PublishMode: 'ingress' };
  for (const field of value.split(',')) {
    const at = field.indexOf('=');
    if (at === -1) throw new Error(`invalid field ${field} in ${value}: must be a key=value pair`);
    const key = field.slice(0, at).trim().toLowerCase();
    const val = field.slice(at + 1).trim();
    switch (key) {
      case 'mode':
        if (val !== 'ingress' && val !== 'host') throw new Error(`invalid publish mode value (${val}): must be either "ingress" or "host"`);
        out.PublishMode = val;
        break;
      case 'target':
        out.TargetPort = portNumber(val, value);
        break;
      case 'published':
        out.PublishedPort = portNumber(val, value);
        break;
      case 'protocol':
        if (val !== 'tcp' && val !== 'udp' && val !== 'sctp') throw new Error(`invalid protocol value (${val}): use tcp, udp or sctp`);
        out.Protocol = val;
        break;
      default:
        throw new Error(`invalid field key ${key} in ${value}: use mode, target, published or protocol`);
    }
  }
  if (out.TargetPort === undefined) throw new Error(`missing mandatory field "target" in ${value}`);
  out.PublishedPort ??= 0;
  return out;
}

// --- flag value parsers (errors become commander's "option ... is invalid") -----------

/** docker's opts.NanoCPUs: a decimal number of CPUs, at most 9 decimals. */
export function parseCpus(value: string): number {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(value.trim());
  if (!m || (m[1] === '' && !m[2])) throw new Error(`invalid CPU count "${value}": use a number such as 0.5 or 2`);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error(`value is too precise: ${value} (at most 9 decimal places)`);
  return Number(BigInt(m[1] || '0') * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0'));
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units RAMInBytes, as `--reserve-memory 512m` is read: binary multiples, optional "b"/"ib". */
export function parseMemory(value: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?(i?b)?$/i.exec(value.trim());
  if (!m) throw new Error(`invalid size: '${value}' (use a number with an optional unit: b, k, m, g, t, p)`);
  return Math.trunc(Number(m[1]) * MEMORY_UNITS[(m[2] ?? '').toLowerCase()]!);
}

/** Go durations ("5s", "1m30s"); negative ones refused, as docker's PositiveDurationOpt. */
export function parsePositiveDuration(value: string): number {
  const ns = parseDuration(value);
  if (ns < 0) throw new Error('duration cannot be negative');
  return ns;
}

/** docker's placement preference flag: "spread=<descriptor>". */
export function parsePlacementPref(value: string): PlacementPreference {
  const fields = value.split('=');
  if (fields.length !== 2) throw new Error('placement preference must be of the format "<strategy>=<arg>"');
  if (fields[0] !== 'spread') throw new Error(`unsupported placement preference ${fields[0]} (only spread is supported)`);
  return { Spread: { SpreadDescriptor: fields[1]! } };
}

/** docker's ValidateEnv: "KEY=value", or "KEY" taken from this environment when set there. */
export function parseEnv(value: string, env: NodeJS.ProcessEnv = process.env): string {
  if (value.startsWith('=') || value === '') throw new Error(`invalid environment variable: ${value}`);
  if (value.includes('=')) return value;
  const local = env[value];
  return local === undefined ? value : `${value}=${local}`;
}

/** A float in [0, 1], for --update-max-failure-ratio. */
export function parseRatio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`invalid ratio "${value}": use a number between 0 and 1`);
  return n;
}

/** Shell-like words, as docker's --args (go-shlex): quotes and backslashes, no expansion. */
export function shellWords(value: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < value.length && '"\\$`'.includes(value[i + 1]!)) word += value[++i];
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < value.length) {
      word += value[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote === '"' ? 'double' : 'single'} quote in ${JSON.stringify(value)}`);
  if (inWord) words.push(word);
  return words;
}
