// An in-memory ApiBackend for the API tests: one swarm, a list of nodes, Docker-like errors.
// It records every call so tests can check what the HTTP layer passed through.

import type {
  ApiBackend,
  LocalInfo,
  ServiceCreateResponse,
  ServiceUpdateResponse,
  SwarmInitRequest,
  SwarmJoinRequest,
  SwarmRotate,
} from '../../../manager/api/backend.js';
import { NOT_IN_SWARM_MESSAGE } from '../../../manager/api/backend.js';
import { type FilterArgs, TASK_KEYS, type TaskFacts, taskFilter } from '../../../manager/api/filters.js';
import { resolveRef, SERVICE_KEYS } from '../../../manager/api/resolve.js';
import { withServiceDefaults } from '../../../manager/api/service-spec.js';
import { serviceStatus } from '../../../manager/api/service-status.js';
import { ConflictError, NotFoundError, UnavailableError } from '../../../shared/errors.js';
import type { Labels, Node, NodeRole, NodeSpec, Service, ServiceSpec, Swarm, SwarmInfo, SwarmSpec, Task, TaskState } from '../../../shared/model/index.js';

const CREATED = '2024-05-01T10:00:00.000000000Z';

export interface NodeFixture {
  id: string;
  hostname: string;
  role?: NodeRole;
  labels?: Labels;
  engineLabels?: Labels;
  leader?: boolean;
  index?: number;
}

export function makeNode(f: NodeFixture): Node {
  const role = f.role ?? 'worker';
  return {
    ID: f.id,
    Version: { Index: f.index ?? 10 },
    CreatedAt: CREATED,
    UpdatedAt: CREATED,
    Spec: { Role: role, Availability: 'active', ...(f.labels !== undefined ? { Labels: f.labels } : {}) },
    Description: {
      Hostname: f.hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 },
      Engine: { EngineVersion: '0.1.0', ...(f.engineLabels !== undefined ? { Labels: f.engineLabels } : {}) },
    },
    Status: { State: 'ready', Addr: '10.0.0.1' },
    ...(role === 'manager' ? { ManagerStatus: { Leader: f.leader ?? false, Reachability: 'reachable', Addr: '10.0.0.1:2377' } } : {}),
  };
}

export interface TaskFixture {
  id: string;
  serviceId: string;
  slot?: number;
  nodeId?: string;
  state?: TaskState;
  desired?: TaskState;
  image?: string;
  createdAt?: string;
}

export function makeTask(f: TaskFixture): Task {
  return {
    ID: f.id,
    Version: { Index: 20 },
    CreatedAt: f.createdAt ?? CREATED,
    UpdatedAt: CREATED,
    Spec: { ContainerSpec: { Image: f.image ?? 'nginx:1' } },
    ServiceID: f.serviceId,
    ...(f.slot !== undefined ? { Slot: f.slot } : {}),
    ...(f.nodeId !== undefined ? { NodeID: f.nodeId } : {}),
    Status: { Timestamp: CREATED, State: f.state ?? 'running', Message: 'started' },
    DesiredState: f.desired ?? 'running',
  };
}

export function makeService(id: string, spec: ServiceSpec, index = 30): Service {
  return { ID: id, Version: { Index: index }, CreatedAt: CREATED, UpdatedAt: CREATED, Spec: spec };
}

export interface Call {
  method: string;
  args: unknown[];
}

export class FakeBackend implements ApiBackend {
  nodes: Node[] = [];
  services: Service[] = [];
  tasks: Task[] = [];
  /** Tasks made from an older spec than their service's (for the `_up-to-date` filter). */
  readonly staleTasks = new Set<string>();
  swarm: Swarm | undefined;
  /** The role this daemon plays once in a swarm. */
  localRole: NodeRole = 'manager';
  readonly calls: Call[] = [];
  /** When set, the next backend call throws it (once). */
  failNext: unknown;

  readonly localInfo: LocalInfo = {
    id: '12D3KooWFakePeer',
    hostname: 'host-1',
    dataRoot: '/var/lib/shoal',
    os: 'linux',
    arch: 'x86_64',
    kernelVersion: '6.1.0-test',
    ncpu: 4,
    memTotal: 8 * 1024 ** 3,
    labels: ['zone=eu'],
  };

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failNext !== undefined) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
  }

  callsTo(method: string): Call[] {
    return this.calls.filter((c) => c.method === method);
  }

  local(): LocalInfo {
    return this.localInfo;
  }

  async swarmInfo(): Promise<SwarmInfo> {
    this.record('swarmInfo');
    if (this.swarm === undefined) {
      return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    }
    const { JoinTokens: _tokens, ...cluster } = this.swarm;
    const manager = this.localRole === 'manager';
    return {
      NodeID: 'node-self',
      NodeAddr: '10.0.0.1',
      LocalNodeState: 'active',
      ControlAvailable: manager,
      Error: '',
      RemoteManagers: [{ NodeID: 'node-self', Addr: '10.0.0.1:2377' }],
      ...(manager ? { Nodes: this.nodes.length, Managers: this.nodes.filter((n) => n.Spec.Role === 'manager').length, Cluster: cluster } : {}),
    };
  }

  async init(req: SwarmInitRequest): Promise<string> {
    this.record('init', req);
    if (this.swarm !== undefined) {
      throw new UnavailableError('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
    }
    this.swarm = {
      ID: 'swarm-1',
      Version: { Index: 1 },
      CreatedAt: CREATED,
      UpdatedAt: CREATED,
      Spec: { Name: 'default', ...req.Spec },
      TLSInfo: {},
      RootRotationInProgress: false,
      DataPathPort: req.DataPathPort ?? 4789,
      DefaultAddrPool: req.DefaultAddrPool ?? ['10.0.0.0/8'],
      SubnetSize: req.SubnetSize ?? 24,
      JoinTokens: { Worker: 'SWMTKN-1-abc-worker', Manager: 'SWMTKN-1-abc-manager' },
    };
    this.nodes = [makeNode({ id: 'node-self', hostname: this.localInfo.hostname, role: 'manager', leader: true })];
    return 'node-self';
  }

  async join(req: SwarmJoinRequest): Promise<void> {
    this.record('join', req);
  }

  async leave(force: boolean): Promise<void> {
    this.record('leave', force);
    if (this.swarm === undefined) throw new UnavailableError(NOT_IN_SWARM_MESSAGE);
    if (this.localRole === 'manager' && !force) {
      throw new UnavailableError('You are attempting to leave the swarm on a node that is participating as a manager. Use `--force` to ignore this message.');
    }
    this.swarm = undefined;
    this.nodes = [];
  }

  async inspectSwarm(): Promise<Swarm> {
    this.record('inspectSwarm');
    if (this.swarm === undefined) throw new UnavailableError(NOT_IN_SWARM_MESSAGE);
    return this.swarm;
  }

  async updateSwarm(version: number, spec: SwarmSpec, rotate: SwarmRotate): Promise<void> {
    this.record('updateSwarm', version, spec, rotate);
    if (this.swarm === undefined) throw new UnavailableError(NOT_IN_SWARM_MESSAGE);
    if (version !== this.swarm.Version.Index) throw new ConflictError('update out of sequence');
    this.swarm = { ...this.swarm, Spec: spec, Version: { Index: version + 1 } };
  }

  async listNodes(): Promise<Node[]> {
    this.record('listNodes');
    if (this.swarm === undefined) throw new UnavailableError(NOT_IN_SWARM_MESSAGE);
    return this.nodes;
  }

  private find(idOrName: string): Node {
    const exact = this.nodes.find((n) => n.ID === idOrName || n.Description.Hostname === idOrName);
    if (exact !== undefined) return exact;
    const byPrefix = this.nodes.filter((n) => n.ID.startsWith(idOrName));
    if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
    throw new NotFoundError(`node ${idOrName} not found`);
  }

  async inspectNode(idOrName: string): Promise<Node> {
    this.record('inspectNode', idOrName);
    return this.find(idOrName);
  }

  async updateNode(idOrName: string, version: number, spec: NodeSpec): Promise<void> {
    this.record('updateNode', idOrName, version, spec);
    const node = this.find(idOrName);
    if (node.Version.Index !== version) throw new ConflictError('update out of sequence');
    Object.assign(node, { Spec: spec, Version: { Index: version + 1 } });
  }

  async removeNode(idOrName: string, force: boolean): Promise<void> {
    this.record('removeNode', idOrName, force);
    const node = this.find(idOrName);
    if (!force && node.Status.State === 'ready') throw new ConflictError(`node ${node.ID} is not down and can't be removed`);
    this.nodes = this.nodes.filter((n) => n !== node);
  }
  private requireSwarm(): void {
    if (this.swarm === undefined) throw new UnavailableError(NOT_IN_SWARM_MESSAGE);
  }

  private findService(ref: string): Service {
    return resolveRef(this.services, ref, 'service', SERVICE_KEYS);
  }

  async createService(spec: ServiceSpec): Promise<ServiceCreateResponse> {
    this.record('createService', spec);
    this.requireSwarm();
    if (this.services.some((s) => s.Spec.Name === spec.Name)) {
      throw new ConflictError(`name conflicts with an existing object: service ${spec.Name ?? ''} already exists`);
    }
    const id = `svc${String(this.services.length + 1).padStart(3, '0')}`;
    this.services.push(makeService(id, spec));
    return { ID: id, Warnings: [] };
  }

  async listServices(opts: { status: boolean }): Promise<Service[]> {
    this.record('listServices', opts);
    this.requireSwarm();
    if (!opts.status) return this.services;
    const down = (id: string): boolean => this.nodes.find((n) => n.ID === id)?.Status.State !== 'ready';
    return this.services.map((s) => ({ ...s, ServiceStatus: serviceStatus(s, this.tasks.filter((t) => t.ServiceID === s.ID), down) }));
  }

  async inspectService(idOrName: string, opts: { insertDefaults: boolean }): Promise<Service> {
    this.record('inspectService', idOrName, opts);
    this.requireSwarm();
    const s = this.findService(idOrName);
    return opts.insertDefaults ? { ...s, Spec: withServiceDefaults(s.Spec) } : s;
  }

  async updateService(idOrName: string, version: number, spec: ServiceSpec, opts: { rollback: boolean }): Promise<ServiceUpdateResponse> {
    this.record('updateService', idOrName, version, spec, opts);
    const s = this.findService(idOrName);
    if (s.Version.Index !== version) throw new ConflictError('update out of sequence');
    const next = opts.rollback ? s.PreviousSpec : spec;
    if (next === undefined) throw new ConflictError(`service ${s.ID} does not have a previous spec`);
    Object.assign(s, { Spec: next, PreviousSpec: s.Spec, Version: { Index: version + 1 } });
    return { Warnings: [] };
  }

  async removeService(idOrName: string): Promise<void> {
    this.record('removeService', idOrName);
    const s = this.findService(idOrName);
    this.services = this.services.filter((x) => x !== s);
  }

  private facts(task: Task): TaskFacts {
    const svc = this.services.find((s) => s.ID === task.ServiceID);
    return { task, serviceName: svc?.Spec.Name, serviceLabels: svc?.Spec.Labels, upToDate: !this.staleTasks.has(task.ID) };
  }

  async listTasks(filters: FilterArgs): Promise<Task[]> {
    this.record('listTasks', filters);
    this.requireSwarm();
    const resolve = (name: string, fn: (ref: string) => string): Set<string> | undefined => {
      const refs = (filters.get(name) ?? []).filter((r) => r !== '');
      return refs.length === 0 ? undefined : new Set(refs.map(fn));
    };
    const keep = taskFilter(filters, {
      serviceIds: resolve('service', (ref) => this.findService(ref).ID),
      nodeIds: resolve('node', (ref) => this.find(ref).ID),
    });
    return this.tasks.filter((t) => keep(this.facts(t)));
  }

  async inspectTask(idOrName: string): Promise<Task> {
    this.record('inspectTask', idOrName);
    return resolveRef(this.tasks.map((t) => this.facts(t)), idOrName, 'task', TASK_KEYS).task;
  }
}
