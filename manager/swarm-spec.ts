// A swarm spec with Docker's defaults where the request left a field out or
// zero. The docker CLI sends Go zero values for everything not given
// ("Raft": {"ElectionTick": 0}, "Dispatcher": {}), and dockerd reads a zero
// as "use the default"; so does this.
import type { SwarmSpec } from '../shared/model/index.js';

export const DEFAULT_HEARTBEAT_NS = 5e9;
const NODE_CERT_EXPIRY_NS = 90 * 24 * 3600 * 1e9;

function orDefault(v: number | undefined, d: number): number {
  return v === undefined || v === 0 || !Number.isFinite(v) ? d : v;
}

export function withSwarmDefaults(given: Partial<SwarmSpec> | undefined): SwarmSpec {
  const g = given ?? {};
  return {
    Name: g.Name !== undefined && g.Name !== '' ? g.Name : 'default',
    Labels: { ...(g.Labels ?? {}) },
    Orchestration: { TaskHistoryRetentionLimit: orDefault(g.Orchestration?.TaskHistoryRetentionLimit, 5) },
    Raft: {
      SnapshotInterval: orDefault(g.Raft?.SnapshotInterval, 10000),
      KeepOldSnapshots: g.Raft?.KeepOldSnapshots ?? 0,
      LogEntriesForSlowFollowers: orDefault(g.Raft?.LogEntriesForSlowFollowers, 500),
      ElectionTick: orDefault(g.Raft?.ElectionTick, 10),
      HeartbeatTick: orDefault(g.Raft?.HeartbeatTick, 1),
    },
    Dispatcher: { HeartbeatPeriod: orDefault(g.Dispatcher?.HeartbeatPeriod, DEFAULT_HEARTBEAT_NS) },
    CAConfig: {
      NodeCertExpiry: orDefault(g.CAConfig?.NodeCertExpiry, NODE_CERT_EXPIRY_NS),
      ...(g.CAConfig?.ExternalCAs?.length ? { ExternalCAs: g.CAConfig.ExternalCAs } : {}),
    },
    EncryptionConfig: { AutoLockManagers: g.EncryptionConfig?.AutoLockManagers ?? false },
    TaskDefaults: { ...(g.TaskDefaults ?? {}) },
  };
}
