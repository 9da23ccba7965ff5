// Docker's Service and its spec (definitions ServiceSpec, TaskSpec, Service,
// EndpointSpec, HealthConfig, Limit, RestartPolicy in
// docker-engine-api-v1.56.yaml). Durations are nanoseconds, as in Docker.
import type { Labels, ObjectMeta, ObjectVersion } from './common.js';
import type { Platform, ResourceObject } from './node.js';

export interface HealthConfig {
  /** ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

export interface Mount {
  Target?: string;
  Source?: string;
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: Record<string, unknown>;
  VolumeOptions?: Record<string, unknown>;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface ContainerSpec {
  Image: string;
  Labels?: Labels;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  StopSignal?: string;
  StopGracePeriod?: number;
  HealthCheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Init?: boolean;
  Sysctls?: Labels;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  Isolation?: string;
  /**
   * swarmkit keeps the user's registry credentials (X-Registry-Auth, from
   * `--with-registry-auth`) here so workers can pull; the API never shows it.
   */
  PullOptions?: { RegistryAuth?: string };
}

export interface Limit {
  NanoCPUs?: number;
  MemoryBytes?: number;
  Pids?: number;
}

export interface TaskResources {
  Limits?: Limit;
  Reservations?: Partial<ResourceObject>;
}

export interface RestartPolicy {
  Condition?: 'none' | 'on-failure' | 'any';
  Delay?: number;
  /** 0 means unlimited. */
  MaxAttempts?: number;
  /** 0 means unbounded. */
  Window?: number;
}

export interface PlacementPreference {
  Spread: { SpreadDescriptor: string };
}

export interface Placement {
  Constraints?: string[];
  Preferences?: PlacementPreference[];
  /** 0 means unlimited. */
  MaxReplicas?: number;
  Platforms?: Platform[];
}

export interface NetworkAttachmentConfig {
  Target: string;
  Aliases?: string[];
  DriverOpts?: Labels;
}

export interface TaskSpec {
  ContainerSpec?: ContainerSpec;
  Resources?: TaskResources;
  RestartPolicy?: RestartPolicy;
  Placement?: Placement;
  /** Bumped to force a redeployment without another change. */
  ForceUpdate?: number;
  Runtime?: string;
  Networks?: NetworkAttachmentConfig[];
  LogDriver?: { Name?: string; Options?: Labels };
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export type FailureAction = 'continue' | 'pause' | 'rollback';

export interface UpdateConfig {
  /** Tasks updated at once; 0 means all at once. */
  Parallelism?: number;
  Delay?: number;
  FailureAction?: FailureAction;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

export interface EndpointPortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface EndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: EndpointPortConfig[];
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Labels;
  TaskTemplate: TaskSpec;
  Mode?: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  Networks?: NetworkAttachmentConfig[];
  EndpointSpec?: EndpointSpec;
}

/** Docker reports these; the reference's enum lists only the first three. */
export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface UpdateStatus {
  State?: UpdateState;
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface Service extends ObjectMeta {
  Spec: ServiceSpec;
  /** The spec before the last update: what rollback returns to. */
  PreviousSpec?: ServiceSpec;
  Endpoint?: {
    Spec?: EndpointSpec;
    Ports?: EndpointPortConfig[];
    VirtualIPs?: Array<{ NetworkID: string; Addr: string }>;
  };
  UpdateStatus?: UpdateStatus;
  /** Filled only when ?status=true is asked for. */
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
  JobStatus?: { JobIteration: ObjectVersion; LastExecution?: string };
}

/** What the store keeps: the Docker object plus what the control loops need to remember. */
export interface ServiceRecord extends Service {
  Internal: {
    /**
     * Bumped on every spec change; tasks remember the generation they were
     * made from, so the updater tells old tasks from new without comparing specs.
     */
    SpecVersion: number;
  };
}
