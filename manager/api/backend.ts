// What the HTTP API needs from the daemon. The API layer (routes, schemas,
// Docker shapes of requests and errors) is written against this interface; the
// daemon's composition root implements it. Every method throws ShoalError
// subclasses (shared/errors.ts) whose status the API returns unchanged, e.g.
// UnavailableError (503) "This node is not a swarm manager..." on a worker.
import type {
  Network,
  NetworkCreateRequest,
  Node,
  NodeAvailability,
  NodeSpec,
  Service,
  ServiceSpec,
  Swarm,
  SwarmInfo,
  SwarmSpec,
  Task,
} from '../../shared/model/index.js';
import type { FilterArgs } from './filters.js';
import type { LogEvent, LogsQuery, LogTarget } from '../logs/types.js';

/** POST /swarm/init body (definitions in the /swarm/init path of the reference). */
export interface SwarmInitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  DefaultAddrPool?: string[];
  ForceNewCluster?: boolean;
  SubnetSize?: number;
  Spec?: Partial<SwarmSpec>;
  /** Availability of this first node (`docker swarm init --availability`). */
  Availability?: NodeAvailability;
  /** `docker swarm init --autolock`; shoal has no autolock, so true should be refused. */
  AutoLockManagers?: boolean;
}

/** POST /swarm/join body. */
export interface SwarmJoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  /** host:port of managers already in the swarm. */
  RemoteAddrs: string[];
  JoinToken: string;
  Availability?: NodeAvailability;
}

/** POST /swarm/update query flags. */
export interface SwarmRotate {
  rotateWorkerToken: boolean;
  rotateManagerToken: boolean;
  rotateManagerUnlockKey: boolean;
}

/** Facts about this daemon that GET /info and GET /version report. */
export interface LocalInfo {
  /** Stable id of this daemon (its libp2p peer id). */
  id: string;
  hostname: string;
  dataRoot: string;
  os: string;
  arch: string;
  kernelVersion: string;
  ncpu: number;
  memTotal: number;
  labels: string[];
}

export interface ApiBackend {
  local(): LocalInfo;
  /** The Swarm section of GET /info; never throws for "not in a swarm". */
  swarmInfo(): Promise<SwarmInfo>;
  /** Returns the new node's ID. 503 when already part of a swarm. */
  init(req: SwarmInitRequest): Promise<string>;
  join(req: SwarmJoinRequest): Promise<void>;
  /** force is required for a manager; without it a manager gets 503 with Docker's quorum warning. */
  leave(force: boolean): Promise<void>;
  inspectSwarm(): Promise<Swarm>;
  /** version is the Swarm's Version.Index the caller read (409 when it moved). */
  updateSwarm(version: number, spec: SwarmSpec, rotate: SwarmRotate): Promise<void>;
  /** Every node; the API applies the filters. */
  listNodes(): Promise<Node[]>;
  /** By full ID, unique ID prefix, or hostname (404 otherwise). */
  inspectNode(idOrName: string): Promise<Node>;
  updateNode(idOrName: string, version: number, spec: NodeSpec): Promise<void>;
  removeNode(idOrName: string, force: boolean): Promise<void>;

  // --- services and tasks ------------------------------------------------------
  /** The spec as the schema let it through; the backend validates meaning (400), names (409). */
  createService(spec: ServiceSpec, opts?: CreateServiceOptions): Promise<ServiceCreateResponse>;
  /** Every service; the API applies the filters. With status, ServiceStatus is filled from the tasks. */
  listServices(opts: { status: boolean }): Promise<Service[]>;
  /** By full ID, exact name, or unique ID prefix (404 otherwise, 400 when ambiguous). */
  inspectService(idOrName: string, opts: { insertDefaults: boolean }): Promise<Service>;
  /** version is the Version.Index the caller read (409 when it moved); rollback ignores spec. */
  updateService(idOrName: string, version: number, spec: ServiceSpec, opts: UpdateServiceOptions): Promise<ServiceUpdateResponse>;
  /** Deletes the service; its tasks are told to go (DesiredState remove). */
  removeService(idOrName: string): Promise<void>;
  /**
   * Tasks matching filters whose names and values the API already checked
   * (TASK_FILTERS); the backend resolves `service` and `node` references (404
   * for unknown ones, as dockerd) and applies them.
   */
  listTasks(filters: FilterArgs): Promise<Task[]>;
  /** By full ID, task name, or unique ID prefix. */
  inspectTask(idOrName: string): Promise<Task>;

  // --- networks --------------------------------------------------------------------
  // Optional so that test backends without networks need not stub them: the API answers 501.
  /** 201 {Id, Warning}; 400 for what shoal does not do (other drivers...), 409 for a taken name. */
  createNetwork?(req: NetworkCreateRequest): Promise<NetworkCreateResponse>;
  /** Every swarm network; the API applies the filters. */
  listNetworks?(): Promise<Network[]>;
  /** By full ID, exact name, or unique ID prefix (404 otherwise). */
  inspectNetwork?(idOrName: string): Promise<Network>;
  /** Refused (400, Docker's words) while a service or a running task uses it. */
  removeNetwork?(idOrName: string): Promise<void>;

  // --- logs ----------------------------------------------------------------------
  /**
   * The output of a service's tasks (its history included) or of one task.
   * Resolves once the target is found (404 unknown, 400 ambiguous, 503 not a
   * manager) and its nodes are being asked; the events follow, and end when
   * every node has sent all (following: when `signal` aborts). Optional so
   * that test backends without logs need not stub it: the API answers 501.
   */
  logs?(target: LogTarget, query: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogEvent>>;
}

export interface CreateServiceOptions {
  /** X-Registry-Auth as sent (base64url JSON): kept for the workers' pulls and used to pin the image. */
  registryAuth?: string | undefined;
  /** Pin the image to a digest here (clients older than API 1.30, which do not do it themselves). */
  queryRegistry?: boolean;
}

export interface UpdateServiceOptions {
  rollback: boolean;
  registryAuth?: string | undefined;
  queryRegistry?: boolean;
  /** Without X-Registry-Auth, keep the credentials of the current spec or of the previous one. */
  registryAuthFrom?: 'spec' | 'previous-spec';
}

/** Definition NetworkCreateResponse. */
export interface NetworkCreateResponse {
  Id: string;
  Warning: string;
}

/** Definitions ServiceCreateResponse and ServiceUpdateResponse. */
export interface ServiceCreateResponse {
  ID: string;
  Warnings: string[];
}

export interface ServiceUpdateResponse {
  Warnings: string[];
}

export const NOT_IN_SWARM_MESSAGE =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const WORKER_NODE_MESSAGE =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
