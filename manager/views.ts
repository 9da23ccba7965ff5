// Store records as the API serves them: the Internal parts stripped, the
// join tokens derived from their secrets, and ManagerStatus filled from
// Raft's live view (leadership and reachability are not stored: they change
// without a write).
import { InvalidArgumentError, NotFoundError } from '../shared/errors.js';
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
  // As in Docker, a name shared by several nodes is ambiguous: it never falls through to an ID
  // prefix, which could pick some other node (and `node rm` would remove it).
  const matches = named.length > 0 ? named : ref.length > 0 ? nodes.filter((n) => n.ID.startsWith(ref)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    // 400 as in Docker (InvalidParameter): the node may well exist, the reference does not pick one.
    throw new InvalidArgumentError(`node ${ref} is ambiguous (${matches.length} matches found); use the full node ID`);
  }
  throw new NotFoundError(`node ${ref} not found`);
}
