// How `shoal service ...` shows services: docker's `service ls` table and
// `service inspect --pretty` template (cli/command/service/formatter.go). Pure
// functions of API objects.

import type { EndpointPortConfig, HealthConfig, Labels, Service } from '../../shared/model/index.js';
import { naturalCompare } from './natural.js';
import { formatTable } from './tabwriter.js';
import { displayImage } from './tasks.js';
import { bytesSize, humanDuration } from './units.js';

/** docker's stringid.TruncateID. */
export function truncateId(id: string): string {
  return id.slice(0, 12);
}

export function modeName(s: Service): string {
  const m = s.Spec.Mode;
  if (m?.Global) return 'global';
  if (m?.Replicated) return 'replicated';
  if (m?.ReplicatedJob) return 'replicated job';
  if (m?.GlobalJob) return 'global job';
  return '';
}

/** REPLICAS: "2/3", "2/3 (max 1 per node)", jobs "1/2 (3/10 completed)". */
export function replicasColumn(s: Service): string {
  const running = s.ServiceStatus?.RunningTasks ?? 0;
  const desired = s.ServiceStatus?.DesiredTasks ?? 0;
  const completed = s.ServiceStatus?.CompletedTasks ?? 0;
  const m = s.Spec.Mode;
  if (m?.ReplicatedJob) return `${running}/${desired} (${completed}/${m.ReplicatedJob.TotalCompletions ?? 0} completed)`;
  if (m?.GlobalJob) return `${running}/${desired} (${completed}/${desired + completed} completed)`;
  const max = m?.Replicated ? (s.Spec.TaskTemplate.Placement?.MaxReplicas ?? 0) : 0;
  return max > 0 ? `${running}/${desired} (max ${max} per node)` : `${running}/${desired}`;
}

// Go's uint32 arithmetic, which the grouping below relies on (a smaller port wraps to huge).
const u32 = (n: number): number => n >>> 0;

/**
 * PORTS: the ingress-published ports, ranges grouped as docker groups them:
 * "*:8080-8081->80-81/tcp", "*:53->53/udp".
 */
export function portsColumn(s: Service): string {
  const ports = [...(s.Endpoint?.Ports ?? [])].sort((a, b) =>
    (a.Protocol ?? '') === (b.Protocol ?? '') ? (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0) : (a.Protocol ?? '') < (b.Protocol ?? '') ? -1 : 1,
  );
  const out: string[] = [];
  let r: { pStart: number; pEnd: number; tStart: number; tEnd: number; protocol: string } | undefined;
  const show = (x: NonNullable<typeof r>): string => {
    const pub = x.pEnd > x.pStart ? `${x.pStart}-${x.pEnd}` : `${x.pStart}`;
    const tgt = x.tEnd > x.tStart ? `${x.tStart}-${x.tEnd}` : `${x.tStart}`;
    return `*:${pub}->${tgt}/${x.protocol}`;
  };
  for (const p of ports) {
    if ((p.PublishMode ?? 'ingress') !== 'ingress') continue;
    const published = p.PublishedPort ?? 0;
    const target = p.TargetPort ?? 0;
    const protocol = p.Protocol ?? 'tcp';
    const isRange = r !== undefined && r.tEnd !== r.tStart;
    const overlaps = r !== undefined && target <= r.tEnd;
    if (r === undefined || protocol !== r.protocol || u32(published - r.pEnd) > 1 || u32(target - r.tEnd) > 1 || (isRange && overlaps)) {
      if (r !== undefined && r.pStart > 0) out.push(show(r));
      r = { pStart: published, pEnd: published, tStart: target, tEnd: target, protocol };
      continue;
    }
    r.pEnd = published;
    r.tEnd = target;
  }
  if (r !== undefined && r.pStart > 0) out.push(show(r));
  return out.join(', ');
}

export function sortServices(services: readonly Service[]): Service[] {
  return [...services].sort((a, b) => naturalCompare(a.Spec.Name ?? '', b.Spec.Name ?? '') || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
}

export const SERVICE_TABLE_HEADER: readonly string[] = ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'];

/** `docker service ls`: sorted by name (naturally), IDs truncated, header even when empty. */
export function formatServiceTable(services: readonly Service[]): string {
  return formatTable([
    SERVICE_TABLE_HEADER,
    ...sortServices(services).map((s) => [
      truncateId(s.ID),
      s.Spec.Name ?? '',
      modeName(s),
      replicasColumn(s),
      displayImage(s.Spec.TaskTemplate.ContainerSpec?.Image ?? '', true),
      portsColumn(s),
    ]),
  ]);
}

/** `docker service ls -q`: the same (truncated) IDs, one per line. */
export function formatServiceIds(services: readonly Service[]): string {
  return sortServices(services)
    .map((s) => `${truncateId(s.ID)}\n`)
    .join('');
}

/** Go's time.Duration.String(): "0s", "1.5s", "1m30s", "100ms", "1h0m0s". */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let u = Math.abs(Math.trunc(ns));
  const frac = (v: number, digits: number): string => {
    const whole = Math.trunc(v / 10 ** digits);
    const rest = String(v % 10 ** digits)
      .padStart(digits, '0')
      .replace(/0+$/, '');
    return rest === '' ? String(whole) : `${whole}.${rest}`;
  };
  if (u < 1e9) {
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${frac(u, 3)}µs`;
    return `${sign}${frac(u, 6)}ms`;
  }
  const seconds = frac(u % 60e9, 9);
  u = Math.trunc(u / 60e9);
  if (u === 0) return `${sign}${seconds}s`;
  const minutes = u % 60;
  const hours = Math.trunc(u / 60);
  return hours > 0 ? `${sign}${hours}h${minutes}m${seconds}s` : `${sign}${minutes}m${seconds}s`;
}

// Go templates range over maps in key order.
function sortedEntries(labels: Labels | undefined): [string, string][] {
  return Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Go's fmt for []string: "[a b c]". */
const goList = (items: readonly string[]): string => `[${items.join(' ')}]`;

/** A CPU count as Go's %v prints a float64: "0.5", "2". */
const cpus = (nano: number): string => String(nano / 1e9);

function updateConfigLines(title: string, order: string, c: NonNullable<Service['Spec']['UpdateConfig']>): string[] {
  const lines = [`${title}:`, ` Parallelism:\t${c.Parallelism ?? 0}`];
  if ((c.Delay ?? 0) > 0) lines.push(` Delay:\t\t${goDuration(c.Delay ?? 0)}`);
  lines.push(` On failure:\t${c.FailureAction ?? ''}`);
  if ((c.Monitor ?? 0) > 0) lines.push(` Monitoring Period: ${goDuration(c.Monitor ?? 0)}`);
  lines.push(` Max failure ratio: ${c.MaxFailureRatio ?? 0}`, ` ${order} ${c.Order ?? ''}`);
  return lines;
}

function healthLines(h: HealthConfig): string[] {
  const lines = [
    ' Healthcheck:',
    `  Interval = ${goDuration(h.Interval ?? 0)}`,
    `  Retries = ${h.Retries ?? 0}`,
    `  StartPeriod =\t${goDuration(h.StartPeriod ?? 0)}`,
    `  Timeout =\t${goDuration(h.Timeout ?? 0)}`,
  ];
  if (h.Test?.length) lines.push('  Tests:', ...h.Test.map((t) => `\t Test = ${t}`).map((l, i, all) => (i === all.length - 1 ? `${l} ` : l)));
  return lines;
}

function portLines(ports: readonly EndpointPortConfig[]): string[] {
  const lines = ['Ports:'];
  for (const p of ports) {
    lines.push(
      ` PublishedPort = ${p.PublishedPort ?? 0}`,
      `  Protocol = ${p.Protocol ?? ''}`,
      `  TargetPort = ${p.TargetPort ?? 0}`,
      `  PublishMode = ${p.PublishMode ?? ''}`,
    );
  }
  lines[lines.length - 1] += ' ';
  return lines;
}

/**
 * `docker service inspect --pretty`: docker's template, tabs and all (it starts
 * with an empty line). `now` is epoch ms, for "Started: 5 minutes ago".
 */
export function formatServicePretty(s: Service, now: number): string {
  const spec = s.Spec;
  const t = spec.TaskTemplate;
  const c = t.ContainerSpec;
  const lines: string[] = ['', `ID:\t\t${s.ID}`, `Name:\t\t${spec.Name ?? ''}`];
  const labels = sortedEntries(spec.Labels);
  if (labels.length > 0) lines.push('Labels:', ...labels.map(([k, v]) => ` ${k}${v ? `=${v}` : ''}`));
  const m = spec.Mode;
  if (m?.Global) lines.push('Service Mode:\tGlobal');
  else if (m?.Replicated) {
    lines.push('Service Mode:\tReplicated');
    if (m.Replicated.Replicas !== undefined) lines.push(` Replicas:\t${m.Replicated.Replicas}`);
  } else if (m?.ReplicatedJob) {
    // docker's template shows nothing for jobs; the counts are what one wants to see.
    lines.push('Service Mode:\tReplicated Job', ` Max Concurrent:\t${m.ReplicatedJob.MaxConcurrent ?? 1}`, ` Total Completions:\t${m.ReplicatedJob.TotalCompletions ?? 0}`);
  } else if (m?.GlobalJob) lines.push('Service Mode:\tGlobal Job');
  else lines.push('Service Mode:');
  const us = s.UpdateStatus;
  if (us?.State) {
    lines.push('UpdateStatus:', ` State:\t\t${us.State}`);
    const started = Date.parse(us.StartedAt ?? '');
    if (!Number.isNaN(started)) lines.push(` Started:\t${humanDuration((now - started) * 1e6)} ago`);
    const completed = Date.parse(us.CompletedAt ?? '');
    if (us.State === 'completed' && !Number.isNaN(completed)) lines.push(` Completed:\t${humanDuration((now - completed) * 1e6)} ago`);
    lines.push(` Message:\t${us.Message ?? ''}`);
  }
  lines.push('Placement:');
  const p = t.Placement;
  if (p?.Constraints?.length) lines.push(` Constraints:\t${goList(p.Constraints)}`);
  if (p?.Preferences?.length) lines.push(` Preferences:   ${goList(p.Preferences.map((x) => `spread=${x.Spread.SpreadDescriptor}`))}`);
  if (p?.MaxReplicas) lines.push(` Max Replicas Per Node:   ${p.MaxReplicas}`);
  if (spec.UpdateConfig) lines.push(...updateConfigLines('UpdateConfig', 'Update order:     ', spec.UpdateConfig));
  if (spec.RollbackConfig) lines.push(...updateConfigLines('RollbackConfig', 'Rollback order:   ', spec.RollbackConfig));
  lines.push('ContainerSpec:', ` Image:\t\t${c?.Image ?? ''}`);
  if (c?.Args?.length) lines.push(` Args:\t\t${c.Args.map((a) => `${a} `).join('')}`);
  if (c?.Env?.length) lines.push(` Env:\t\t${c.Env.map((e) => `${e} `).join('')}`);
  if (c?.Dir) lines.push(` Dir:\t\t${c.Dir}`);
  if (c?.Init !== undefined) lines.push(` Init:\t\t${c.Init}`);
  if (c?.User) lines.push(` User: ${c.User}`);
  if (c?.CapabilityAdd?.length || c?.CapabilityDrop?.length) {
    lines.push('Capabilities:');
    if (c.CapabilityAdd?.length) lines.push(` Add: ${c.CapabilityAdd.join(', ')}`);
    if (c.CapabilityDrop?.length) lines.push(` Drop: ${c.CapabilityDrop.join(', ')}`);
  }
  if (c?.Mounts?.length) {
    lines.push('Mounts:');
    for (const mt of c.Mounts) {
      lines.push(` Target:\t${mt.Target ?? ''}`, `  Source:\t${mt.Source ?? ''}`, `  ReadOnly:\t${mt.ReadOnly === true}`, `  Type:\t\t${mt.Type ?? ''}`);
    }
  }
  if (t.LogDriver) {
    lines.push('Log Driver:');
    if (t.LogDriver.Name) lines.push(` Name:\t\t${t.LogDriver.Name}`);
    const opts = sortedEntries(t.LogDriver.Options);
    if (opts.length > 0) lines.push(' LogOpts:', ...opts.map(([k, v]) => `  ${k}${v ? `:       ${v}` : ''}`));
  }
  const r = t.Resources;
  if (r) {
    lines.push('Resources:');
    const res = r.Reservations;
    if ((res?.NanoCPUs ?? 0) > 0 || (res?.MemoryBytes ?? 0) > 0) {
      lines.push(' Reservations:');
      if ((res?.NanoCPUs ?? 0) > 0) lines.push(`  CPU:\t\t${cpus(res?.NanoCPUs ?? 0)}`);
      if (res?.MemoryBytes) lines.push(`  Memory:\t${bytesSize(res.MemoryBytes)}`);
    }
    const lim = r.Limits;
    if ((lim?.NanoCPUs ?? 0) > 0 || (lim?.MemoryBytes ?? 0) > 0 || (lim?.Pids ?? 0) > 0) {
      lines.push(' Limits:');
      if ((lim?.NanoCPUs ?? 0) > 0) lines.push(`  CPU:\t\t${cpus(lim?.NanoCPUs ?? 0)}`);
      if (lim?.MemoryBytes) lines.push(`  Memory:\t${bytesSize(lim.MemoryBytes)}`);
    }
    if ((lim?.Pids ?? 0) > 0) lines.push(`  PIDs:\t\t${lim?.Pids ?? 0}`);
  }
  if (t.Networks?.length) lines.push(`Networks:${t.Networks.map((n) => ` ${n.Target}`).join('')} `);
  lines.push(`Endpoint Mode:\t${spec.EndpointSpec?.Mode ?? ''}`);
  if (s.Endpoint?.Ports?.length) lines.push(...portLines(s.Endpoint.Ports));
  if (c?.HealthCheck) lines.push(...healthLines(c.HealthCheck));
  return `${lines.join('\n')}\n`;
}
