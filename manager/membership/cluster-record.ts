// The swarm object `swarm init` creates: Docker's defaults, a fresh cluster
// key, and the secrets behind the first join tokens.
import type { ClusterRecord } from '../../shared/model/index.js';
import type { SwarmInitRequest } from '../api/backend.js';
import { withSwarmDefaults } from '../swarm-spec.js';
import { generateClusterKey } from './cluster-key.js';
import { fingerprintOf, newSecret } from './tokens.js';

export function newClusterRecord(id: string, req: SwarmInitRequest): ClusterRecord {
  const key = generateClusterKey();
  const spec = withSwarmDefaults(req.Spec);
  const fingerprint = fingerprintOf(key.publicKey);
  const internal = { Fingerprint: fingerprint, WorkerSecret: newSecret(), ManagerSecret: newSecret(), ClusterKey: key.privateKey, ClusterPublicKey: key.publicKey };
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: spec,
    TLSInfo: {},
    RootRotationInProgress: false,
    // Zero and empty mean "the default", as the docker CLI sends them when not given.
    DataPathPort: req.DataPathPort || 4789,
    DefaultAddrPool: req.DefaultAddrPool?.length ? req.DefaultAddrPool : ['10.0.0.0/8'],
    SubnetSize: req.SubnetSize || 24,
    JoinTokens: { Worker: '', Manager: '' },
    Internal: internal,
  };
}
