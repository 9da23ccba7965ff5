// Store records for the allocator tests, as the store would hold them.
import { ingressNetworkSpec, type NetworkSpec } from '../../../manager/allocator/index.js';
import type { EndpointPortConfig, NetworkRecord, NodeRecord, ServiceRecord, TaskRecord, TaskState } from '../../../shared/model/index.js';

const T = '2024-05-01T10:00:00.000000000Z';

export function network(id: string, name: string, over: Partial<NetworkSpec> = {}, index = 1): NetworkRecord {
  return {
    ID: id,
    Version: { Index: index },
    CreatedAt: T,
    UpdatedAt: T,
    Spec: {
      Name: name,
      Labels: {},
      Driver: 'overlay',
      Options: {},
      Internal: false,
      Attachable: false,
      Ingress: false,
      IPAM: { Driver: 'default', Config: [], Options: {} },
      ...over,
    },
    Internal: {},
  };
}

export function ingress(id = 'ingressnet'): NetworkRecord {
  return { ...network(id, 'ingress'), Spec: ingressNetworkSpec() };
}

export function service(
  id: string,
  opts: { networks?: string[]; ports?: EndpointPortConfig[]; mode?: 'vip' | 'dnsrr'; endpoint?: ServiceRecord['Endpoint'] } = {},
): ServiceRecord {
  return {
    ID: id,
    Version: { Index: 5 },
    CreatedAt: T,
    UpdatedAt: T,
    Spec: {
      Name: id,
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx' },
        ...(opts.networks ? { Networks: opts.networks.map((Target) => ({ Target })) } : {}),
      },
      ...(opts.ports || opts.mode ? { EndpointSpec: { ...(opts.mode ? { Mode: opts.mode } : {}), ...(opts.ports ? { Ports: opts.ports } : {}) } } : {}),
    },
    ...(opts.endpoint ? { Endpoint: opts.endpoint } : {}),
    Internal: { SpecVersion: 1 },
  };
}

export function task(
  id: string,
  svc: ServiceRecord,
  opts: { node?: string; state?: TaskState; desired?: TaskState; attachments?: TaskRecord['NetworksAttachments'] } = {},
): TaskRecord {
  return {
    ID: id,
    Version: { Index: 7 },
    CreatedAt: T,
    UpdatedAt: T,
    ServiceID: svc.ID,
    Slot: 1,
    ...(opts.node ? { NodeID: opts.node } : {}),
    Spec: structuredClone(svc.Spec.TaskTemplate),
    Status: { State: opts.state ?? 'pending', Message: '', Timestamp: T },
    DesiredState: opts.desired ?? 'running',
    ...(opts.attachments ? { NetworksAttachments: opts.attachments } : {}),
    Internal: { SpecVersion: 1 },
  };
}

export function node(id: string): NodeRecord {
  return {
    ID: id,
    Version: { Index: 3 },
    CreatedAt: T,
    UpdatedAt: T,
    Spec: { Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { EngineVersion: '0', Labels: {} },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    Internal: { PeerID: `peer-${id}`, Multiaddr: '', RaftID: 0 },
  };
}
