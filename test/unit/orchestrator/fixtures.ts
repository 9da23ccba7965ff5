// Builders for orchestrator tests: Docker-shaped nodes, services and tasks as
// the store holds them, and a tiny in-memory "store" that applies a plan the
// way a committed transaction would (stamping CreatedAt and versions), so
// tests can run reconcile steps back to back.
import type { NodeRecord, ServiceRecord, ServiceSpec, TaskRecord, TaskState } from '../../../shared/model/index.js';
import type { ServicePlan } from '../../../manager/orchestrator/plan.js';
import { formatTime } from '../../../manager/store/transaction.js';

/** 2024-05-01T12:00:00Z: test clocks start here. */
export const START = Date.UTC(2024, 4, 1, 12, 0, 0);
export const SECOND = 1000;
/** Docker durations are nanoseconds. */
export const ns = (ms: number): number => ms * 1e6;

export function node(
  id: string,
  over: {
    state?: NodeRecord['Status']['State'];
    availability?: NodeRecord['Spec']['Availability'];
    labels?: Record<string, string>;
    role?: 'worker' | 'manager';
  } = {},
): NodeRecord {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: formatTime(START),
    UpdatedAt: formatTime(START),
    Spec: { Role: over.role ?? 'worker', Availability: over.availability ?? 'active', Labels: over.labels ?? {} },
    Description: {
      Hostname: `host-${id}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 << 30 },
      Engine: { EngineVersion: '0.1.0' },
    },
    Status: { State: over.state ?? 'ready', Addr: '10.0.0.1' },
    Internal: { PeerID: `peer-${id}`, Multiaddr: '/ip4/10.0.0.1/tcp/2377', RaftID: 0 },
  };
}

export function nodes(...list: NodeRecord[]): Map<string, NodeRecord> {
  return new Map(list.map((n) => [n.ID, n]));
}

export function service(over: Partial<ServiceSpec> & { id?: string; specVersion?: number; jobIteration?: number } = {}): ServiceRecord {
  const { id, specVersion, jobIteration, ...spec } = over;
  const s: ServiceRecord = {
    ID: id ?? 'svc1',
    Version: { Index: 1 },
    CreatedAt: formatTime(START),
    UpdatedAt: formatTime(START),
    Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'sim/app:1' } }, Mode: { Replicated: { Replicas: 1 } }, ...spec },
    Internal: { SpecVersion: specVersion ?? 1 },
  };
  if (jobIteration !== undefined) s.JobStatus = { JobIteration: { Index: jobIteration } };
  return s;
}

let seq = 0;

export interface TaskOver {
  id?: string;
  slot?: number;
  node?: string;
  state?: TaskState;
  desired?: TaskState;
  specVersion?: number;
  jobIteration?: number;
  /** CreatedAt, as ms. */
  created?: number;
  /** Status.Timestamp, as ms (default: created). */
  at?: number;
  spec?: TaskRecord['Spec'];
  serviceId?: string;
}

export function task(over: TaskOver = {}): TaskRecord {
  const id = over.id ?? `t${String(++seq).padStart(4, '0')}`;
  const created = over.created ?? START;
  const t: TaskRecord = {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: formatTime(created),
    UpdatedAt: formatTime(over.at ?? created),
    ServiceID: over.serviceId ?? 'svc1',
    Slot: over.slot ?? 0,
    Spec: over.spec ?? { ContainerSpec: { Image: 'sim/app:1' } },
    Status: { Timestamp: formatTime(over.at ?? created), State: over.state ?? 'running', Message: '' },
    DesiredState: over.desired ?? 'running',
    Internal: { SpecVersion: over.specVersion ?? 1 },
  };
  if (over.node !== undefined) t.NodeID = over.node;
  if (over.jobIteration !== undefined) t.JobIteration = { Index: over.jobIteration };
  return t;
}

/** Sequential IDs, so plans are readable and deterministic. */
export function idSource(prefix = 'new'): () => string {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(4, '0')}`;
}

/** The tasks as they would be after the plan committed at `now`. */
export function applyPlan(tasks: readonly TaskRecord[], plan: ServicePlan, now: number): TaskRecord[] {
  const byId = new Map(tasks.map((t) => [t.ID, t]));
  for (const u of plan.updates) {
    const old = byId.get(u.ID);
    if (!old) throw new Error(`plan updates unknown task ${u.ID}`);
    if (old.Version.Index !== u.Version.Index) throw new Error(`plan updates ${u.ID} from a stale version`);
    byId.set(u.ID, { ...u, Version: { Index: u.Version.Index + 1 }, UpdatedAt: formatTime(now) });
  }
  for (const c of plan.creates) {
    if (byId.has(c.ID)) throw new Error(`plan creates ${c.ID} twice`);
    byId.set(c.ID, { ...c, Version: { Index: 1 }, CreatedAt: formatTime(now), UpdatedAt: formatTime(now) } as TaskRecord);
  }
  return [...byId.values()];
}

/** Change one task as an agent or the scheduler would (a new version). */
export function report(tasks: readonly TaskRecord[], id: string, change: { state?: TaskState; node?: string; at?: number }): TaskRecord[] {
  return tasks.map((t) => {
    if (t.ID !== id) return t;
    const next: TaskRecord = { ...t, Version: { Index: t.Version.Index + 1 }, Status: { ...t.Status } };
    if (change.state !== undefined) next.Status.State = change.state;
    if (change.at !== undefined) next.Status.Timestamp = formatTime(change.at);
    if (change.node !== undefined) next.NodeID = change.node;
    return next;
  });
}

/** Tasks meant to run (desired running or ready). */
export function live(tasks: readonly TaskRecord[]): TaskRecord[] {
  return tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');
}

export function slotsOf(tasks: readonly TaskRecord[]): number[] {
  return tasks.map((t) => t.Slot ?? 0).sort((a, b) => a - b);
}
