// Request schemas of /services and /tasks (definitions ServiceSpec, TaskSpec,
// EndpointSpec, HealthConfig, Mount in docker-engine-api-v1.56.yaml). Only the
// fields shoal models are kept (Secrets, Configs, Privileges... are dropped, as
// everywhere: see common.ts). String enums also accept "": Go clients send
// zero values, and dockerd reads "" as the default.

import { boolean, idParams, int64, labels, object, query, string, stringList, uint32, uint64, type JsonSchema } from './common.js';

function enumOrEmpty(values: readonly string[]): JsonSchema {
  return { type: 'string', enum: ['', ...values] };
}

function arrayOf(items: JsonSchema): JsonSchema {
  return { type: 'array', items };
}

const healthConfig = object({
  Test: stringList,
  Interval: int64,
  Timeout: int64,
  Retries: int64,
  StartPeriod: int64,
  StartInterval: int64,
});

const mount = object({
  Target: string,
  Source: string,
  Type: enumOrEmpty(['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image']),
  ReadOnly: boolean,
  Consistency: string,
  BindOptions: object({
    Propagation: enumOrEmpty(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']),
    NonRecursive: boolean,
    CreateMountpoint: boolean,
    ReadOnlyNonRecursive: boolean,
    ReadOnlyForceRecursive: boolean,
  }),
  VolumeOptions: object({
    NoCopy: boolean,
    Labels: labels,
    DriverConfig: object({ Name: string, Options: labels }),
    Subpath: string,
  }),
  TmpfsOptions: object({ SizeBytes: int64, Mode: int64 }),
});

const containerSpec = object({
  Image: string,
  Labels: labels,
  Command: stringList,
  Args: stringList,
  Hostname: string,
  Env: stringList,
  Dir: string,
  User: string,
  Groups: stringList,
  TTY: boolean,
  OpenStdin: boolean,
  ReadOnly: boolean,
  Mounts: arrayOf(mount),
  StopSignal: string,
  StopGracePeriod: int64,
  HealthCheck: healthConfig,
  // The docker CLI's Go field is "Healthcheck" (dockerd decodes either, case-insensitively).
  Healthcheck: healthConfig,
  Hosts: stringList,
  DNSConfig: object({ Nameservers: stringList, Search: stringList, Options: stringList }),
  Init: boolean,
  Sysctls: labels,
  CapabilityAdd: stringList,
  CapabilityDrop: stringList,
  Ulimits: arrayOf(object({ Name: string, Soft: int64, Hard: int64 })),
  Isolation: enumOrEmpty(['default', 'process', 'hyperv']),
});

const limit = object({ NanoCPUs: int64, MemoryBytes: int64, Pids: int64 });
const reservation = object({ NanoCPUs: int64, MemoryBytes: int64 });

const networkAttachment = object({ Target: string, Aliases: stringList, DriverOpts: labels });

export const taskSpecSchema: JsonSchema = object({
  ContainerSpec: containerSpec,
  Resources: object({ Limits: limit, Reservations: reservation }),
  RestartPolicy: object({
    Condition: enumOrEmpty(['none', 'on-failure', 'any']),
    Delay: int64,
    MaxAttempts: int64,
    Window: int64,
  }),
  Placement: object({
    Constraints: stringList,
    Preferences: arrayOf(object({ Spread: object({ SpreadDescriptor: string }) })),
    MaxReplicas: uint64,
    Platforms: arrayOf(object({ Architecture: string, OS: string })),
  }),
  ForceUpdate: uint64,
  Runtime: string,
  Networks: arrayOf(networkAttachment),
  LogDriver: object({ Name: string, Options: labels }),
});

function updateConfig(failureActions: readonly string[]): JsonSchema {
  return object({
    Parallelism: uint64,
    Delay: int64,
    FailureAction: enumOrEmpty(failureActions),
    Monitor: int64,
    MaxFailureRatio: { type: 'number' },
    Order: enumOrEmpty(['stop-first', 'start-first']),
  });
}

export const serviceSpecSchema: JsonSchema = object({
  Name: string,
  Labels: labels,
  TaskTemplate: taskSpecSchema,
  Mode: object({
    Replicated: object({ Replicas: uint64 }),
    Global: object({}),
    ReplicatedJob: object({ MaxConcurrent: uint64, TotalCompletions: uint64 }),
    GlobalJob: object({}),
  }),
  UpdateConfig: updateConfig(['continue', 'pause', 'rollback']),
  // The reference lists only continue and pause here; "rollback" gets the backend's explanation.
  RollbackConfig: updateConfig(['continue', 'pause', 'rollback']),
  Networks: arrayOf(networkAttachment),
  EndpointSpec: object({
    Mode: enumOrEmpty(['vip', 'dnsrr']),
    Ports: arrayOf(
      object({
        Name: string,
        Protocol: enumOrEmpty(['tcp', 'udp', 'sctp']),
        TargetPort: uint32,
        PublishedPort: uint32,
        PublishMode: enumOrEmpty(['ingress', 'host']),
      }),
    ),
  }),
});

export const createServiceSchema = { body: serviceSpecSchema };
export const listServicesSchema = { querystring: query(['filters', 'status']) };
export const inspectServiceSchema = { params: idParams, querystring: query(['insertDefaults']) };
export const updateServiceSchema = {
  params: idParams,
  querystring: query(['version', 'rollback', 'registryAuthFrom']),
  body: serviceSpecSchema,
};
export const removeServiceSchema = { params: idParams };
export const listTasksSchema = { querystring: query(['filters']) };
export const inspectTaskSchema = { params: idParams };
