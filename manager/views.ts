// Store records as the API serves them: the Internal parts stripped, the
// join tokens derived from their secrets, and ManagerStatus filled from
// Raft's live view (leadership and reachability are not stored: they change
// without a write).
import { NotFoundError } from '../shared/errors.js';
import { formatHostPort, fromMultiaddr } from '../shared/addr.js';
import type { ClusterInfo, ClusterRecord, Node, NodeRecord, Swarm } from '../shared/model/index.js';
import { formatToken } from './membership/tokens.js';

export interface RaftView {
  /** Raft id of the leader, 0 when none is known. */
  leader: number;
  members: ReadonlySet<number>;
  reachable(raftId: number): boolean;
}

export function toApiNode(r: NodeRecord, raft: RaftView): Node {
  const { Internal, ...node } = r;
  const out: Node = structuredClone(node);
  if (Internal.RaftID !== 0 && raft.members.has(Internal.RaftID)) {
    const leader = raft.leader === Internal.RaftID;
    out.ManagerStatus = {
      ...(leader ? { Leader: true } : {}),
      Reachability: leader || raft.reachable(Internal.RaftID) ? 'reachable' : 'unreachable',
      Addr: formatHostPort(fromMultiaddr(Internal.Multiaddr)),
    };
  }
  return out;
}

export function toClusterInfo(c: ClusterRecord): ClusterInfo {
  const { Internal: _internal, JoinTokens: _tokens, ...info } = c;
  return structuredClone(info);
}

export function toApiSwarm(c: ClusterRecord): Swarm {
  return {
    ...toClusterInfo(c),
    JoinTokens: {
      Worker: formatToken(c.Internal.Fingerprint, c.Internal.WorkerSecret),
      Manager: formatToken(c.Internal.Fingerprint, c.Internal.ManagerSecret),
    },
  };
}

/** Docker's lookup order: full ID, then name/hostname, then a unique ID prefix. */
export function resolveNode(nodes: readonly NodeRecord[], ref: string): NodeRecord {
  const exact = nodes.find((n) => n.ID === ref);
  if (exact) return exact;
  const named = nodes.filter((n) => n.Spec.Name === ref || n.Description.Hostname === ref);
  if (named.length === 1) return named[0]!;
  const prefixed = nodes.filter((n) => n.ID.startsWith(ref));
  if (prefixed.length === 1 && ref.length > 0) return prefixed[0]!;
  if (named.length > 1 || prefixed.length > 1) {
    throw new NotFoundError(`node ${ref} is ambiguous (${named.length + prefixed.length} matches); use the full node ID`);
  }
  throw new NotFoundError(`node ${ref} not found`);
}
