// Builders for scheduler tests: Docker-shaped nodes, services and tasks that
// serve both as store drafts and (with their meta fields) as stored objects.
import { ClusterState } from '../../../manager/scheduler/node-info.js';
import type { ServiceLookup } from '../../../manager/scheduler/task-facts.js';
import type { NodeRecord, ServiceRecord, TaskRecord, TaskSpec, TaskState, EndpointPortConfig } from '../../../shared/model/index.js';

export const T0 = '2024-05-01T12:00:00.000000000Z';
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const CPU = 1e9;

export interface NodeOpts {
  labels?: Record<string, string>;
  engineLabels?: Record<string, string>;
  role?: 'worker' | 'manager';
  state?: 'ready' | 'down' | 'unknown' | 'disconnected';
  availability?: 'active' | 'pause' | 'drain';
  cpus?: number;
  memory?: number;
  os?: string;
  arch?: string;
  hostname?: string;
}

export function node(id: string, o: NodeOpts = {}): NodeRecord {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: { Role: o.role ?? 'worker', Availability: o.availability ?? 'active', Labels: o.labels ?? {} },
    Description: {
      Hostname: o.hostname ?? `host-${id}`,
      Platform: { Architecture: o.arch ?? 'x86_64', OS: o.os ?? 'linux' },
      Resources: { NanoCPUs: (o.cpus ?? 4) * CPU, MemoryBytes: o.memory ?? 8 * GiB },
      Engine: { EngineVersion: '0.1.0', Labels: o.engineLabels ?? {} },
    },
    Status: { State: o.state ?? 'ready', Addr: '10.0.0.1' },
    Internal: { PeerID: `peer-${id}`, Multiaddr: '/ip4/10.0.0.1/tcp/2377', RaftID: 0 },
  };
}

export function service(id: string, o: { spec?: TaskSpec; ports?: EndpointPortConfig[]; specVersion?: number } = {}): ServiceRecord {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      Name: `svc-${id}`,
      TaskTemplate: o.spec ?? { ContainerSpec: { Image: 'busybox' } },
      Mode: { Replicated: { Replicas: 1 } },
      ...(o.ports ? { EndpointSpec: { Ports: o.ports } } : {}),
    },
    Internal: { SpecVersion: o.specVersion ?? 1 },
  };
}

export interface TaskOpts {
  slot?: number;
  nodeId?: string;
  state?: TaskState;
  desired?: TaskState;
  spec?: TaskSpec;
  specVersion?: number;
  err?: string;
}

export function task(id: string, serviceId: string, o: TaskOpts = {}): TaskRecord {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    ServiceID: serviceId,
    Slot: o.slot ?? 1,
    ...(o.nodeId !== undefined ? { NodeID: o.nodeId } : {}),
    Spec: o.spec ?? { ContainerSpec: { Image: 'busybox' } },
    Status: { Timestamp: T0, State: o.state ?? 'pending', Message: 'pending task scheduling', ...(o.err !== undefined ? { Err: o.err } : {}) },
    DesiredState: o.desired ?? 'running',
    Internal: { SpecVersion: o.specVersion ?? 1 },
  };
}

/** `n` pending tasks of a service: <service>.1 .. <service>.n. */
export function pendingTasks(serviceId: string, n: number, o: Omit<TaskOpts, 'slot'> = {}): TaskRecord[] {
  return Array.from({ length: n }, (_, i) => task(`${serviceId}-${String(i + 1).padStart(4, '0')}`, serviceId, { ...o, slot: i + 1 }));
}

export function lookup(services: readonly ServiceRecord[] = []): ServiceLookup {
  const m = new Map(services.map((s) => [s.ID, s]));
  return (id) => m.get(id);
}

export function cluster(nodes: readonly NodeRecord[], tasks: readonly TaskRecord[] = [], services: readonly ServiceRecord[] = []): ClusterState {
  return ClusterState.build(nodes, tasks, lookup(services));
}

/** Node ID -> number of tasks placed there. */
export function perNode(assigned: ReadonlyArray<{ nodeId: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of assigned) out[a.nodeId] = (out[a.nodeId] ?? 0) + 1;
  return out;
}
