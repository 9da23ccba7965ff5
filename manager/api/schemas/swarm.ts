// Request schemas of /swarm (definitions SwarmSpec and the SwarmInitRequest and
// SwarmJoinRequest bodies in docker-engine-api-v1.56.yaml).

import {
  boolean,
  int64,
  labels,
  object,
  oneOf,
  query,
  string,
  stringList,
  uint32,
  uint64,
  type JsonSchema,
} from './common.js';
import { NODE_AVAILABILITIES } from './node.js';

function swarmSpec(required: readonly string[]): JsonSchema {
  return object(
    {
      Name: string,
      Labels: labels,
      Orchestration: object({ TaskHistoryRetentionLimit: int64 }),
      Raft: object({
        SnapshotInterval: uint64,
        KeepOldSnapshots: uint64,
        LogEntriesForSlowFollowers: uint64,
        ElectionTick: int64,
        HeartbeatTick: int64,
      }),
      // Nanoseconds, as Go's time.Duration.
      Dispatcher: object({ HeartbeatPeriod: int64 }),
      CAConfig: object({
        NodeCertExpiry: int64,
        ExternalCAs: {
          type: 'array',
          items: object({ Protocol: oneOf(['cfssl']), URL: string, Options: labels, CACert: string }),
        },
        SigningCACert: string,
        SigningCAKey: string,
        ForceRotate: uint64,
      }),
      EncryptionConfig: object({ AutoLockManagers: boolean }),
      TaskDefaults: object({ LogDriver: object({ Name: string, Options: labels }) }),
    },
    required,
  );
}

/** POST /swarm/init. Every field may be left out; the backend fills in Docker's defaults. */
export const initSchema = {
  body: object({
    ListenAddr: string,
    AdvertiseAddr: string,
    DataPathAddr: string,
    DataPathPort: uint32,
    DefaultAddrPool: stringList,
    ForceNewCluster: boolean,
    SubnetSize: uint32,
    Spec: swarmSpec([]),
    Availability: oneOf(NODE_AVAILABILITIES),
    AutoLockManagers: boolean,
  }),
};

/** POST /swarm/join: a token and somewhere to use it are the minimum. */
export const joinSchema = {
  body: object(
    {
      ListenAddr: string,
      AdvertiseAddr: string,
      DataPathAddr: string,
      RemoteAddrs: { type: 'array', items: string, minItems: 1 },
      JoinToken: string,
      Availability: oneOf(NODE_AVAILABILITIES),
    },
    ['JoinToken', 'RemoteAddrs'],
  ),
};

export const leaveSchema = { querystring: query(['force']) };

/** POST /swarm/update: the whole spec the caller read from GET /swarm, edited. */
export const updateSchema = {
  querystring: query(['version', 'rotateWorkerToken', 'rotateManagerToken', 'rotateManagerUnlockKey']),
  body: swarmSpec(['Name']),
};
