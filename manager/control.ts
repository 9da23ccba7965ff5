// The swarm and node operations of the API, as a manager carries them out:
// linearizable reads of the store, and writes as versioned transactions
// (a stale Version.Index is rejected when the entry applies, on every replica).
import { type Clock, SystemClock } from '../shared/clock.js';
import { ConflictError, InvalidArgumentError, NotFoundError, ShoalError } from '../shared/errors.js';
import { isTerminal, stateIndex } from '../shared/model/task-states.js';
import { newObjectId } from '../shared/ids.js';
import type {
  Node,
  NodeRecord,
  NodeSpec,
  Service,
  ServiceRecord,
  ServiceSpec,
  Swarm,
  SwarmSpec,
  Task,
  TaskRecord,
} from '../shared/model/index.js';
import type { Network, NetworkCreateRequest, NetworkRecord } from '../shared/model/index.js';
import { endpointPortConflict, networkSpecFromRequest, newNetworkRecord, parseCidr, overlaps, publishesIngress, specNetworks, taskNetworks, toApiNetwork } from './allocator/index.js';
import type { NetworkCreateResponse } from './api/backend.js';
import type { CreateServiceOptions, ServiceCreateResponse, ServiceUpdateResponse, SwarmRotate, UpdateServiceOptions } from './api/backend.js';
import { type FilterArgs, type ResolvedTaskRefs, TASK_KEYS, type TaskFacts, taskFilter } from './api/filters.js';
import { randomServiceName } from './api/names.js';
import { resolveRef, SERVICE_KEYS } from './api/resolve.js';
import {
  checkUpdateAllowed,
  needsRemoval,
  newServiceRecord,
  portConflict,
  removedTask,
  rolledBackServiceRecord,
  updatedServiceRecord,
} from './api/service-records.js';
import { normalizeServiceSpec, validateServiceSpec, withResolvedNetworks, withServiceDefaults } from './api/service-spec.js';
import { serviceStatus } from './api/service-status.js';
import { toApiService, toApiTask } from './api/service-view.js';
import type { Manager } from './manager.js';
import { newSecret } from './membership/tokens.js';
import { isTaskDirty } from './orchestrator/update/tasks.js';
import { withSwarmDefaults } from './swarm-spec.js';
import type { StoreView } from './store/memory-store.js';
import type { ReplicatedStore } from './store/replicated-store.js';
import { type Draft, formatTime } from './store/transaction.js';
import { resolveNode, toApiNode, toApiSwarm } from './views.js';

export class ClusterControl {
  private readonly services: ServiceControl;
  private readonly networks: NetworkControl;

  constructor(
    private readonly m: Manager,
    clock: Clock = new SystemClock(),
    pinImage?: ImagePinner,
  ) {
    this.services = new ServiceControl(m.store, clock, undefined, undefined, pinImage);
    this.networks = new NetworkControl(m.store);
  }

  async inspectSwarm(): Promise<Swarm> {
    await this.m.store.readLinearizable(() => undefined);
    const c = this.m.cluster();
    if (!c) throw new InvalidArgumentError('the swarm has no cluster object yet; retry in a moment');
    return toApiSwarm(c);
  }

  async updateSwarm(version: number, spec: SwarmSpec, rotate: SwarmRotate): Promise<void> {
    await this.m.store.readLinearizable(() => undefined);
    const c = this.m.cluster();
    if (!c) throw new InvalidArgumentError('the swarm has no cluster object yet; retry in a moment');
    const internal = { ...c.Internal };
    if (rotate.rotateWorkerToken) internal.WorkerSecret = newSecret();
    if (rotate.rotateManagerToken) internal.ManagerSecret = newSecret();
    // Spec replaces the whole spec, as in Docker; the name cannot change.
    const next = { ...c, Spec: withSwarmDefaults({ ...spec, Name: c.Spec.Name }), Internal: internal };
    await this.m.store.update((tx) => {
      tx.update('cluster', next, version);
    });
  }

  async listNodes(): Promise<Node[]> {
    await this.m.store.readLinearizable(() => undefined);
    const view = this.m.raftView();
    return this.m.nodes().map((n) => toApiNode(n, view));
  }

  async inspectNode(ref: string): Promise<Node> {
    await this.m.store.readLinearizable(() => undefined);
    return toApiNode(resolveNode(this.m.nodes(), ref), this.m.raftView());
  }

  async updateNode(ref: string, version: number, spec: NodeSpec): Promise<void> {
    await this.m.store.readLinearizable(() => undefined);
    const nodes = this.m.nodes();
    const n = resolveNode(nodes, ref);
    if (n.Spec.Role === 'manager' && spec.Role === 'worker') {
      const managers = nodes.filter((x) => x.Spec.Role === 'manager');
      if (managers.length <= 1) throw new InvalidArgumentError('attempting to demote the last manager of the swarm');
    }
    await this.m.store.update((tx) => {
      tx.update('nodes', { ...n, Spec: { ...spec } }, version);
    });
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    await this.m.store.readLinearizable(() => undefined);
    const n: NodeRecord = resolveNode(this.m.nodes(), ref);
    // As in swarmkit: a node that is still meant to be a manager must be demoted first;
    // one already demoted may go while its Raft seat is being handed back.
    if (n.Spec.Role === 'manager') {
      throw new InvalidArgumentError(
        `node ${n.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
      );
    }
    if (n.Status.State === 'ready' && !force) {
      throw new InvalidArgumentError(`node ${n.ID} is not down and can't be removed (stop its daemon first, or use --force)`);
    }
    await this.m.store.update((tx) => {
      tx.delete('nodes', n.ID);
    });
  }

  createService(spec: ServiceSpec, opts: CreateServiceOptions = {}): Promise<ServiceCreateResponse> {
    return this.services.createService(spec, opts);
  }

  listServices(opts: { status: boolean }): Promise<Service[]> {
    return this.services.listServices(opts);
  }

  inspectService(ref: string, opts: { insertDefaults: boolean }): Promise<Service> {
    return this.services.inspectService(ref, opts);
  }

  updateService(ref: string, version: number, spec: ServiceSpec, opts: UpdateServiceOptions): Promise<ServiceUpdateResponse> {
    return this.services.updateService(ref, version, spec, opts);
  }

  removeService(ref: string): Promise<void> {
    return this.services.removeService(ref);
  }

  listTasks(filters: FilterArgs): Promise<Task[]> {
    return this.services.listTasks(filters);
  }

  inspectTask(ref: string): Promise<Task> {
    return this.services.inspectTask(ref);
  }

  createNetwork(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    return this.networks.createNetwork(req);
  }

  listNetworks(): Promise<Network[]> {
    return this.networks.listNetworks();
  }

  inspectNetwork(ref: string): Promise<Network> {
    return this.networks.inspectNetwork(ref);
  }

  removeNetwork(ref: string): Promise<void> {
    return this.networks.removeNetwork(ref);
  }

  /** Counts for GET /info's Swarm section. */
  counts(): { nodes: number; managers: number } {
    const nodes = this.m.nodes();
    return { nodes: nodes.length, managers: nodes.filter((n) => n.Internal.RaftID !== 0).length };
  }
}

// --- services and tasks ---------------------------------------------------------

/** Tasks per transaction when a removed service's tasks are told to go (entries stay well under the proposal limit). */
export const REMOVE_CHUNK = 1000;
/** Re-reads after a version conflict before giving up (agents write task status all the time). */
const MAX_ATTEMPTS = 20;

/**
 * `name:tag@sha256:...` for an image reference, or undefined when the
 * registry could not be asked (the pinner logs why).
 */
export type ImagePinner = (image: string, registryAuth: string | undefined) => Promise<string | undefined>;

/** dockerd's words when a service's image could not be pinned to a digest. */
export function digestWarning(image: string): string {
  return `image ${image} could not be accessed on a registry to record\nits digest. Each node will access ${image} independently,\npossibly leading to different nodes running\ndifferent versions of the image.\n`;
}

function setRegistryAuth(spec: ServiceSpec, auth: string | undefined): void {
  const c = spec.TaskTemplate.ContainerSpec;
  if (c === undefined) return;
  if (auth === undefined) delete c.PullOptions;
  else c.PullOptions = { RegistryAuth: auth };
}

function isConflict(err: unknown): boolean {
  return err instanceof ConflictError;
}

/**
 * The service and task operations of the API on the replicated store:
 * linearizable reads, versioned writes. Needs only the store and a clock, so
 * it runs against a MemoryStore and a fake proposer in tests.
 */
export class ServiceControl {
  constructor(
    private readonly store: ReplicatedStore,
    private readonly clock: Clock = new SystemClock(),
    private readonly newId: () => string = () => newObjectId(),
    private readonly random: () => number = Math.random,
    private readonly pinImage?: ImagePinner,
  ) {}

  private now(): string {
    return formatTime(this.clock.now());
  }

  private read<T>(fn: (view: StoreView) => T): Promise<T> {
    return this.store.readLinearizable(fn);
  }

  async createService(raw: ServiceSpec, opts: CreateServiceOptions = {}): Promise<ServiceCreateResponse> {
    const { services, networks } = await this.read((v) => ({ services: v.list('services'), networks: v.list('networks') }));
    const spec = withResolvedNetworks(normalizeServiceSpec(raw), networks);
    if (!spec.Name) spec.Name = this.unusedName(services);
    validateServiceSpec(spec);
    setRegistryAuth(spec, opts.registryAuth);
    const warnings = opts.queryRegistry === true ? await this.pin(spec) : [];
    const clash = services.find((s) => s.Spec.Name === spec.Name);
    if (clash) throw nameConflict(spec.Name, clash.ID);
    const ports = portConflict(spec, undefined, services) ?? endpointPortConflict(spec, undefined, services);
    if (ports !== undefined) throw new InvalidArgumentError(ports);
    const record = newServiceRecord(this.newId(), spec, this.now());
    try {
      await this.store.update((t) => t.services.create(record));
    } catch (err) {
      // Another create of the same name won the race between our read and the write.
      if (isConflict(err) && String((err as Error).message).includes('Spec.Name')) throw nameConflict(spec.Name, '');
      throw err;
    }
    return { ID: record.ID, Warnings: warnings };
  }

  /**
   * Pins the spec's image tag to the digest the registry gives now, so every
   * node runs the same image, for clients that do not (Docker does the same
   * for API < 1.30; newer clients use GET /distribution). An image already pinned
   * is left alone (an update that keeps the image resends it pinned); an
   * unreachable registry leaves the tag, with Docker's warning.
   */
  private async pin(spec: ServiceSpec): Promise<string[]> {
    const c = spec.TaskTemplate.ContainerSpec;
    if (this.pinImage === undefined || c === undefined || c.Image === '' || c.Image.includes('@')) return [];
    const pinned = await this.pinImage(c.Image, c.PullOptions?.RegistryAuth);
    if (pinned === undefined) return [digestWarning(c.Image)];
    c.Image = pinned;
    return [];
  }

  private unusedName(services: readonly ServiceRecord[]): string {
    const taken = new Set(services.map((s) => s.Spec.Name));
    for (let i = 0; i < 100; i++) {
      const name = randomServiceName(this.random);
      if (!taken.has(name)) return name;
    }
    // Thousands of generated names in use: fall back to something unique.
    return `service_${this.newId().slice(0, 12)}`;
  }

  async listServices(opts: { status: boolean }): Promise<Service[]> {
    return this.read((v) => {
      const services = v.list('services').map(toApiService);
      if (!opts.status) return services;
      const down = downNodes(v);
      return services.map((s) => ({ ...s, ServiceStatus: serviceStatus(s, v.find('tasks', 'service', s.ID), down) }));
    });
  }

  async inspectService(ref: string, opts: { insertDefaults: boolean }): Promise<Service> {
    const s = toApiService(await this.read((v) => resolveService(v, ref)));
    return opts.insertDefaults ? { ...s, Spec: withServiceDefaults(s.Spec) } : s;
  }

  async updateService(ref: string, version: number, raw: ServiceSpec, opts: UpdateServiceOptions): Promise<ServiceUpdateResponse> {
    const { current, services, networks } = await this.read((v) => ({
      current: resolveService(v, ref),
      services: v.list('services'),
      networks: v.list('networks'),
    }));
    let next: Draft<ServiceRecord>;
    let warnings: string[] = [];
    if (opts.rollback) {
      // Docker ignores the body of a rollback (the docker CLI sends the current spec).
      next = rolledBackServiceRecord(current, this.now());
    } else {
      const spec = withResolvedNetworks(normalizeServiceSpec(raw), networks);
      validateServiceSpec(spec);
      checkUpdateAllowed(current, spec);
      const ports = portConflict(spec, current.ID, services) ?? endpointPortConflict(spec, current.ID, services);
      if (ports !== undefined) throw new InvalidArgumentError(ports);
      const keep = opts.registryAuthFrom === 'previous-spec' ? current.PreviousSpec : current.Spec;
      setRegistryAuth(spec, opts.registryAuth ?? keep?.TaskTemplate.ContainerSpec?.PullOptions?.RegistryAuth);
      if (opts.queryRegistry === true) warnings = await this.pin(spec);
      next = updatedServiceRecord(current, spec, this.now());
    }
    if (current.Version.Index !== version) throw staleVersion(current, version);
    await this.store.update((t) => t.services.update(next, version));
    return { Warnings: warnings };
  }

  /**
   * Deletes the service and moves its tasks to desired state remove: the
   * first chunk in the same transaction as the delete, so the orchestrator
   * never sees a deleted service with tasks still meant to run; the rest (a
   * service can have 100,000 tasks) in further transactions.
   */
  async removeService(ref: string): Promise<void> {
    const svc = await this.read((v) => resolveService(v, ref));
    await this.retry(async () => {
      const tasks = await this.read((v) => (v.get('services', svc.ID) ? v.find('tasks', 'service', svc.ID).filter(needsRemoval) : undefined));
      if (tasks === undefined) throw new NotFoundError(`service ${ref} not found`);
      await this.store.update((t) => {
        t.services.delete(svc.ID);
        for (const task of tasks.slice(0, REMOVE_CHUNK)) t.tasks.update(removedTask(task));
      });
    });
    for (;;) {
      const rest = await this.read((v) => v.find('tasks', 'service', svc.ID).filter(needsRemoval));
      if (rest.length === 0) return;
      try {
        await this.retry(async () => {
          const chunk = (await this.read((v) => v.find('tasks', 'service', svc.ID).filter(needsRemoval))).slice(0, REMOVE_CHUNK);
          await this.store.update((t) => {
            for (const task of chunk) t.tasks.update(removedTask(task));
          });
        });
      } catch (err) {
        // The service is gone either way; the orchestrator stops what is left of it.
        if (isConflict(err)) return;
        throw err;
      }
    }
  }

  /** Runs `fn` again after a version conflict (it must re-read), a bounded number of times. */
  private async retry(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  async listTasks(filters: FilterArgs): Promise<Task[]> {
    return this.read((v) => {
      const refs: ResolvedTaskRefs = {
        serviceIds: resolveAll(filters.get('service'), (ref) => resolveService(v, ref).ID),
        nodeIds: resolveAll(filters.get('node'), (ref) => resolveNode(v.list('nodes'), ref).ID),
      };
      const keep = taskFilter(filters, refs);
      const facts = taskFacts(v);
      return candidateTasks(v, refs)
        .map(facts)
        .filter(keep)
        .map((f) => toApiTask(f.task));
    });
  }

  async inspectTask(ref: string): Promise<Task> {
    return this.read((v) => {
      const facts = taskFacts(v);
      return toApiTask(resolveRef(v.list('tasks').map(facts), ref, 'task', TASK_KEYS).task);
    });
  }
}

function nameConflict(name: string, id: string): ConflictError {
  // The first words are dockerd's, which scripts match on.
  return new ConflictError(
    `name conflicts with an existing object: service ${name} already exists${id ? ` (ID ${id})` : ''}; choose another name, or remove it first with "docker service rm ${name}"`,
  );
}

function staleVersion(current: ServiceRecord, version: number): ConflictError {
  return new ConflictError(
    `update out of sequence: service ${current.Spec.Name ?? current.ID} is at version ${current.Version.Index}, not ${version}; inspect it again and retry`,
  );
}

function resolveService(v: StoreView, ref: string): ServiceRecord {
  return resolveRef(v.list('services'), ref, 'service', SERVICE_KEYS);
}

/** The IDs named by a filter's values; undefined when the filter is not used. */
function resolveAll(values: readonly string[] | undefined, resolve: (ref: string) => string): Set<string> | undefined {
  const refs = (values ?? []).filter((r) => r !== '');
  return refs.length === 0 ? undefined : new Set(refs.map(resolve));
}

/** Down or unknown nodes: their tasks count for nothing in ServiceStatus, as in the docker CLI. */
function downNodes(v: StoreView): (nodeId: string) => boolean {
  const up = new Set(v.list('nodes').filter((n) => n.Status.State !== 'down').map((n) => n.ID));
  return (id) => !up.has(id);
}

/** Facts per task, with each service looked up once. */
function taskFacts(v: StoreView): (task: TaskRecord) => TaskFacts<TaskRecord> {
  const cache = new Map<string, ServiceRecord | undefined>();
  return (task) => {
    if (!cache.has(task.ServiceID)) cache.set(task.ServiceID, v.get('services', task.ServiceID));
    const svc = cache.get(task.ServiceID);
    return {
      task,
      serviceName: svc?.Spec.Name,
      serviceLabels: svc?.Spec.Labels,
      // A task a rollback did not need to replace already has the spec: up to date although its version is older.
      upToDate: svc !== undefined && !isTaskDirty(svc, task),
    };
  };
}

/** The tasks worth filtering: through the service or node index when the filter names some. */
function candidateTasks(v: StoreView, refs: ResolvedTaskRefs): TaskRecord[] {
  let out: TaskRecord[];
  if (refs.serviceIds !== undefined) out = [...refs.serviceIds].flatMap((id) => v.find('tasks', 'service', id));
  else if (refs.nodeIds !== undefined) out = [...refs.nodeIds].flatMap((id) => v.find('tasks', 'node', id));
  else return v.list('tasks');
  return out.sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
}

// --- networks -------------------------------------------------------------------

/** Networks by ID, name, ID prefix (dockerd's order). */
const NETWORK_KEYS = { id: (n: NetworkRecord) => n.ID, names: (n: NetworkRecord) => [n.Spec.Name] };

/**
 * The network operations of the API: create (the allocator gives the
 * network its subnet and VXLAN id on the leader shortly after), list,
 * inspect and remove, refused while something uses the network, in
 * swarmkit's words.
 */
export class NetworkControl {
  constructor(
    private readonly store: ReplicatedStore,
    private readonly newId: () => string = () => newObjectId(),
  ) {}

  private read<T>(fn: (view: StoreView) => T): Promise<T> {
    return this.store.readLinearizable(fn);
  }

  async createNetwork(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    const spec = networkSpecFromRequest(req);
    const networks = await this.read((v) => v.list('networks'));
    const clash = networks.find((n) => n.Spec.Name === spec.Name);
    if (clash) throw networkNameConflict(spec.Name);
    const ingress = networks.find((n) => n.Spec.Ingress);
    if (spec.Ingress && ingress) {
      throw new ConflictError(`ingress network (${ingress.ID}) is already present; remove it first to create another (docker network rm ${ingress.Spec.Name})`);
    }
    const subnet = spec.IPAM.Config[0]?.Subnet;
    const wanted = subnet === undefined ? undefined : parseCidr(subnet);
    if (wanted) {
      for (const n of networks) {
        const theirs = n.Internal.Allocation?.Subnet ?? n.Spec.IPAM.Config[0]?.Subnet;
        const c = theirs === undefined ? undefined : parseCidr(theirs);
        if (c && overlaps(c, wanted)) {
          // libnetwork's words (a Forbidden error in dockerd).
          throw new ShoalError('pool_overlap', `Pool overlaps with other one on this address space: ${subnet} overlaps with ${theirs} of network ${n.Spec.Name}; pick another --subnet`, 403);
        }
      }
    }
    const record = newNetworkRecord(this.newId(), spec);
    try {
      await this.store.update((t) => t.networks.create(record));
    } catch (err) {
      if (isConflict(err) && String((err as Error).message).includes('Spec.Name')) throw networkNameConflict(spec.Name);
      throw err;
    }
    return { Id: record.ID, Warning: '' };
  }

  async listNetworks(): Promise<Network[]> {
    return this.read((v) => v.list('networks').map(toApiNetwork));
  }

  async inspectNetwork(ref: string): Promise<Network> {
    return this.read((v) => toApiNetwork(resolveRef(v.list('networks'), ref, 'network', NETWORK_KEYS)));
  }

  async removeNetwork(ref: string): Promise<void> {
    const { network, version } = await this.read((v) => {
      const n = resolveRef(v.list('networks'), ref, 'network', NETWORK_KEYS);
      const users = v.list('services');
      if (n.Spec.Ingress) {
        const user = users.find((s) => publishesIngress(s.Spec));
        if (user) {
          throw new InvalidArgumentError(
            `ingress network cannot be removed because service ${user.ID} depends on it (remove the service, or its published ports, first)`,
          );
        }
      } else {
        const user = users.find((s) => specNetworks(s.Spec).some((a) => a.Target === n.ID || a.Target === n.Spec.Name));
        if (user) {
          throw new InvalidArgumentError(
            `network ${n.ID} is in use by service ${user.ID} (remove the service, or detach it with "docker service update --network-rm ${n.Spec.Name} ${user.Spec.Name ?? user.ID}", first)`,
          );
        }
        const task = v.list('tasks').find(
          (t) =>
            !isTerminal(t.Status.State) &&
            stateIndex(t.DesiredState) <= stateIndex('running') &&
            (taskNetworks(t.Spec).some((a) => a.Target === n.ID) || (t.NetworksAttachments ?? []).some((a) => a.Network.ID === n.ID)),
        );
        if (task) throw new InvalidArgumentError(`network ${n.ID} is in use by task ${task.ID} (wait for it to stop, then retry)`);
      }
      return { network: n, version: n.Version.Index };
    });
    try {
      await this.store.update((t) => t.networks.delete(network.ID, version));
    } catch (err) {
      if (isConflict(err)) throw new ConflictError(`network ${network.Spec.Name} changed while it was being removed; retry`);
      throw err;
    }
  }
}

function networkNameConflict(name: string): ConflictError {
  // dockerd's words, which scripts match on.
  return new ConflictError(`network with name ${name} already exists (choose another name, or remove it first with "docker network rm ${name}")`);
}
