// Docker's Swarm object (definitions SwarmSpec, ClusterInfo, JoinTokens,
// Swarm, SwarmInfo in docker-engine-api-v1.56.yaml).
import type { Labels, ObjectMeta } from './common.js';
import type { TLSInfo } from './node.js';

export interface SwarmSpec {
  Name: string;
  Labels?: Labels;
  Orchestration?: { TaskHistoryRetentionLimit?: number };
  Raft?: {
    SnapshotInterval?: number;
    KeepOldSnapshots?: number;
    LogEntriesForSlowFollowers?: number;
    ElectionTick?: number;
    HeartbeatTick?: number;
  };
  /** HeartbeatPeriod is in nanoseconds, as in Docker. */
  Dispatcher?: { HeartbeatPeriod?: number };
  CAConfig?: {
    NodeCertExpiry?: number;
    ExternalCAs?: Array<{ Protocol?: string; URL?: string; Options?: Labels; CACert?: string }>;
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  };
  EncryptionConfig?: { AutoLockManagers?: boolean };
  TaskDefaults?: { LogDriver?: { Name?: string; Options?: Labels } };
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

/** GET /info's Swarm.Cluster: the swarm without its join tokens. */
export interface ClusterInfo extends ObjectMeta {
  Spec: SwarmSpec;
  TLSInfo: TLSInfo;
  RootRotationInProgress: boolean;
  DataPathPort: number;
  DefaultAddrPool: string[];
  SubnetSize: number;
}

/** GET /swarm. */
export interface Swarm extends ClusterInfo {
  JoinTokens: JoinTokens;
}

export type LocalNodeState = '' | 'inactive' | 'pending' | 'active' | 'error' | 'locked';

export interface PeerNode {
  NodeID: string;
  Addr: string;
}

/** GET /info's Swarm section. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: PeerNode[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: ClusterInfo;
}

/**
 * The swarm as the store keeps it: Docker's object plus the secrets behind
 * the join tokens (tokens are derived from them, see manager/membership).
 */
export interface ClusterRecord extends Swarm {
  Internal: {
    /** Fingerprint (50 base-36 characters, from the cluster public key) identifying the cluster inside every join token. */
    Fingerprint: string;
    WorkerSecret: string;
    ManagerSecret: string;
    /** The cluster's Ed25519 key (PKCS#8 DER): joiners check the token's fingerprint against its public half. */
    ClusterKey: Uint8Array;
    /** Raw 32-byte public key; Fingerprint is derived from it. */
    ClusterPublicKey: Uint8Array;
  };
}
