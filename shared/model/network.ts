// Docker's swarm networks (definitions Network, NetworkCreateRequest,
// IPAM, IPAMConfig in docker-engine-api-v1.56.yaml) and what the allocator
// keeps for them. Only the `overlay` driver, swarm scope.
import type { Labels, ObjectMeta } from './common.js';

export interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** What `POST /networks/create` takes (the fields shoal honours). */
export interface NetworkCreateRequest {
  Name: string;
  /** `overlay` (the default for a swarm network). */
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  IPAM?: { Driver?: string; Config?: IPAMConfig[]; Options?: Labels };
  EnableIPv6?: boolean;
  /** Driver options, e.g. `com.docker.network.driver.mtu`. */
  Options?: Labels;
  Labels?: Labels;
}

/** The store's network: the user's request, plus what the allocator gave it. */
export interface NetworkRecord extends ObjectMeta {
  Spec: {
    Name: string;
    Labels: Labels;
    Driver: 'overlay';
    Options: Labels;
    Internal: boolean;
    Attachable: boolean;
    Ingress: boolean;
    /** As asked: empty means "pick from the default address pool". */
    IPAM: { Driver: string; Config: IPAMConfig[]; Options: Labels };
  };
  Internal: {
    /** Set by the allocator; absent until the network is allocated. */
    Allocation?: NetworkAllocation;
  };
}

export interface NetworkAllocation {
  /** VXLAN network identifier (Docker starts at 4096). */
  VNI: number;
  /** CIDR, e.g. `10.0.1.0/24`. */
  Subnet: string;
  Gateway: string;
  /** MTU of the overlay (the underlay's minus VXLAN's 50 bytes unless the user set one). */
  MTU: number;
  /**
   * One address per node that has joined the network (it carries the node's
   * load balancer and DNS), by node ID, CIDR form (`10.0.1.250/24`).
   */
  NodeAddresses: Record<string, string>;
}

/** Docker's `Network` as `GET /networks` answers it. */
export interface Network {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'swarm';
  Driver: 'overlay';
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Labels | null; Config: IPAMConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, unknown>;
  Options: Labels;
  Labels: Labels;
}

/** Task.NetworksAttachments[i] (Docker's NetworkAttachment): the network and the task's address on it. */
export interface NetworkAttachment {
  Network: { ID: string; Spec: { Name: string }; DriverState?: { Name: string; Options?: Labels } };
  /** CIDR form, e.g. `10.0.1.5/24`. */
  Addresses: string[];
}

/** The docker network name and default subnet of the routing mesh's network. */
export const INGRESS_NETWORK_NAME = 'ingress';
/** Docker's default address pool (10.0.0.0/8, /24 per network). */
export const DEFAULT_ADDRESS_POOL = '10.0.0.0/8';
export const DEFAULT_SUBNET_SIZE = 24;
/** Docker's first VXLAN id for swarm overlays. */
export const FIRST_VNI = 4096;
/** Docker's dynamic range for ingress published ports. */
export const INGRESS_PORT_RANGE: readonly [number, number] = [30000, 32767];
/** VXLAN's default UDP port (`--data-path-port` in Docker). */
export const DEFAULT_DATA_PATH_PORT = 4789;
