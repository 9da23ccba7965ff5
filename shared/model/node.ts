// Docker's Node object (definitions Node, NodeSpec, NodeDescription,
// NodeStatus, ManagerStatus in docker-engine-api-v1.56.yaml).
import type { Labels, ObjectMeta } from './common.js';

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface NodeSpec {
  Name?: string;
  Labels?: Labels;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface Platform {
  Architecture: string;
  OS: string;
}

export interface ResourceObject {
  NanoCPUs: number;
  MemoryBytes: number;
}

export interface EngineDescription {
  EngineVersion: string;
  Labels?: Labels;
  Plugins?: Array<{ Type: string; Name: string }>;
}

export interface TLSInfo {
  TrustRoot?: string;
  CertIssuerSubject?: string;
  CertIssuerPublicKey?: string;
}

export interface NodeDescription {
  Hostname: string;
  Platform: Platform;
  Resources: ResourceObject;
  Engine: EngineDescription;
  TLSInfo?: TLSInfo;
}

export interface NodeStatus {
  State: NodeState;
  Message?: string;
  /** IP address of the node (no port). */
  Addr: string;
}

export interface ManagerStatus {
  Leader?: boolean;
  Reachability: Reachability;
  /** host:port of the manager's cluster listener. */
  Addr: string;
}

/** What the API serves and the CLI prints. */
export interface Node extends ObjectMeta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
}

/**
 * What shoal needs about a node that Docker's shape has no field for. Kept
 * beside the Docker object in the store and never served by the API.
 */
export interface NodeInternal {
  /** libp2p peer id (base58) of the node's daemon. */
  PeerID: string;
  /** Multiaddr the node's cluster listener is reachable at. */
  Multiaddr: string;
  /** Raft member id while the node is (or is becoming) a manager; 0 otherwise. */
  RaftID: number;
}

/** A node as the store keeps it. */
export interface NodeRecord extends Node {
  Internal: NodeInternal;
}
