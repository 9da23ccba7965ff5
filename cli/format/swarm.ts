// Texts and request bodies of `shoal swarm ...`, worded as the docker CLI words them
// (with `shoal` where docker names itself).

import type { SwarmInitRequest, SwarmJoinRequest } from '../../manager/api/backend.js';
import type { NodeAvailability, SwarmSpec } from '../../shared/model/index.js';

export type SwarmRole = 'worker' | 'manager';

export function initMessage(nodeId: string): string {
  return `Swarm initialized: current node (${nodeId}) is now a manager.\n\n`;
}

export const ADD_MANAGER_HINT = "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n";

/** docker's printJoinCommand, for one role. */
export function joinCommandText(role: SwarmRole, token: string, managerAddr: string): string {
  return `To add a ${role} to this swarm, run the following command:\n\n    shoal swarm join --token ${token} ${managerAddr}\n\n`;
}

export function joinedMessage(isManager: boolean): string {
  return `This node joined a swarm as a ${isManager ? 'manager' : 'worker'}.\n`;
}

export const LEFT_MESSAGE = 'Node left the swarm.\n';
export const UPDATED_MESSAGE = 'Swarm updated.\n';

export function rotatedMessage(role: SwarmRole): string {
  return `Successfully rotated ${role} join token.\n\n`;
}

/** The swarm settings flags shared by `swarm init` and `swarm update`; absent = unchanged. */
export interface SwarmSpecFlags {
  taskHistoryLimit?: number | undefined;
  /** Nanoseconds. */
  dispatcherHeartbeat?: number | undefined;
  snapshotInterval?: number | undefined;
  maxSnapshots?: number | undefined;
}

/** docker's mergeSwarmSpec: only the flags given change the spec. */
export function mergeSwarmSpec<S extends Partial<SwarmSpec>>(spec: S, flags: SwarmSpecFlags): S {
  const out: S = { ...spec };
  if (flags.taskHistoryLimit !== undefined) {
    out.Orchestration = { ...spec.Orchestration, TaskHistoryRetentionLimit: flags.taskHistoryLimit };
  }
  if (flags.dispatcherHeartbeat !== undefined) {
    out.Dispatcher = { ...spec.Dispatcher, HeartbeatPeriod: flags.dispatcherHeartbeat };
  }
  if (flags.snapshotInterval !== undefined || flags.maxSnapshots !== undefined) {
    out.Raft = {
      ...spec.Raft,
      ...(flags.snapshotInterval !== undefined ? { SnapshotInterval: flags.snapshotInterval } : {}),
      ...(flags.maxSnapshots !== undefined ? { KeepOldSnapshots: flags.maxSnapshots } : {}),
    };
  }
  return out;
}

export interface InitFlags extends SwarmSpecFlags {
  advertiseAddr?: string | undefined;
  listenAddr?: string | undefined;
  dataPathAddr?: string | undefined;
  dataPathPort?: number | undefined;
  defaultAddrPool?: readonly string[] | undefined;
  defaultAddrPoolMaskLength?: number | undefined;
  forceNewCluster?: boolean | undefined;
}

/** POST /swarm/init body. Unset flags are left out so the daemon applies its defaults. */
export function buildInitRequest(flags: InitFlags): SwarmInitRequest {
  const spec = mergeSwarmSpec<Partial<SwarmSpec>>({}, flags);
  return {
    ...(flags.listenAddr !== undefined ? { ListenAddr: flags.listenAddr } : {}),
    ...(flags.advertiseAddr !== undefined ? { AdvertiseAddr: flags.advertiseAddr } : {}),
    ...(flags.dataPathAddr !== undefined ? { DataPathAddr: flags.dataPathAddr } : {}),
    ...(flags.dataPathPort !== undefined ? { DataPathPort: flags.dataPathPort } : {}),
    ...(flags.defaultAddrPool !== undefined && flags.defaultAddrPool.length > 0 ? { DefaultAddrPool: [...flags.defaultAddrPool] } : {}),
    ...(flags.defaultAddrPoolMaskLength !== undefined ? { SubnetSize: flags.defaultAddrPoolMaskLength } : {}),
    ...(flags.forceNewCluster === true ? { ForceNewCluster: true } : {}),
    ...(Object.keys(spec).length > 0 ? { Spec: spec } : {}),
  };
}

export interface JoinFlags {
  token: string;
  advertiseAddr?: string | undefined;
  listenAddr?: string | undefined;
  dataPathAddr?: string | undefined;
  availability?: NodeAvailability | undefined;
}

/** POST /swarm/join body. */
export function buildJoinRequest(remote: string, flags: JoinFlags): SwarmJoinRequest {
  return {
    JoinToken: flags.token,
    RemoteAddrs: [remote],
    ...(flags.listenAddr !== undefined ? { ListenAddr: flags.listenAddr } : {}),
    ...(flags.advertiseAddr !== undefined ? { AdvertiseAddr: flags.advertiseAddr } : {}),
    ...(flags.dataPathAddr !== undefined ? { DataPathAddr: flags.dataPathAddr } : {}),
    ...(flags.availability !== undefined ? { Availability: flags.availability } : {}),
  };
}
