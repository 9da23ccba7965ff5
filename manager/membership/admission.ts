// Turning an accepted join request into the node record the store keeps.
import { newObjectId, newRaftId } from '../../shared/ids.js';
import type { NodeRecord, NodeRole } from '../../shared/model/index.js';
import type { JoinRequest } from '../../shared/protocol/cluster.js';
import { hostOfMultiaddr } from '../../shared/addr.js';

export function newNodeRecord(req: JoinRequest, peerId: string, role: NodeRole, time: string): NodeRecord {
  return {
    ID: newObjectId(),
    Version: { Index: 0 },
    CreatedAt: time,
    UpdatedAt: time,
    Spec: { Labels: {}, Role: role, Availability: req.availability },
    Description: {
      Hostname: req.hostname,
      Platform: req.platform,
      Resources: req.resources,
      Engine: { EngineVersion: req.engineVersion, Labels: req.engineLabels, Plugins: [] },
    },
    Status: { State: 'ready', Addr: hostOfMultiaddr(req.advertiseAddr) },
    Internal: { PeerID: peerId, Multiaddr: req.advertiseAddr, RaftID: role === 'manager' ? newRaftId() : 0 },
  };
}
