// `shoal info`: docker's `docker info` layout for the parts of GET /info shoal fills in.
// Lines follow Go's fmt.Println: operands joined by one space.

import type { SystemInfo } from '../../manager/api/system-types.js';
import type { SwarmInfo } from '../../shared/model/index.js';
import { bytesSize, humanDuration } from './units.js';

/** What GET /info answers; every field optional so an older or newer daemon still prints. */
export type InfoResponse = Partial<Omit<SystemInfo, 'Swarm'>> & { Swarm?: Partial<SwarmInfo> };

type Line = readonly unknown[];

function println(...operands: Line): string {
  return operands.map(String).join(' ') + '\n';
}

// docker's fprintlnNonEmpty: skip the line when the value is empty.
function printlnNonEmpty(label: string, value: string | undefined): string {
  return value ? println(label, value) : '';
}

/** docker's printSwarmInfo. */
export function formatSwarmInfo(swarm: Partial<SwarmInfo>): string {
  const state = swarm.LocalNodeState ?? '';
  if (state === 'inactive' || state === 'locked') return '';
  let out = println('  NodeID:', swarm.NodeID ?? '');
  if (swarm.Error) out += println('  Error:', swarm.Error);
  const isManager = swarm.ControlAvailable === true;
  out += println('  Is Manager:', isManager);
  const cluster = swarm.Cluster;
  if (cluster && isManager && !swarm.Error && state !== 'error') {
    out += println('  ClusterID:', cluster.ID);
    out += println('  Managers:', swarm.Managers ?? 0);
    out += println('  Nodes:', swarm.Nodes ?? 0);
    if (cluster.DefaultAddrPool) {
      out += println('  Default Address Pool:', cluster.DefaultAddrPool.map((p) => `${p}  `).join(''));
      out += println('  SubnetSize:', cluster.SubnetSize);
    }
    if (cluster.DataPathPort > 0) out += println('  Data Path Port:', cluster.DataPathPort);
    const spec = cluster.Spec;
    out += println('  Orchestration:');
    out += println('   Task History Retention Limit:', spec.Orchestration?.TaskHistoryRetentionLimit ?? 0);
    out += println('  Raft:');
    out += println('   Snapshot Interval:', spec.Raft?.SnapshotInterval ?? 0);
    if (spec.Raft?.KeepOldSnapshots !== undefined) out += println('   Number of Old Snapshots to Retain:', spec.Raft.KeepOldSnapshots);
    out += println('   Heartbeat Tick:', spec.Raft?.HeartbeatTick ?? 0);
    out += println('   Election Tick:', spec.Raft?.ElectionTick ?? 0);
    out += println('  Dispatcher:');
    out += println('   Heartbeat Period:', humanDuration(spec.Dispatcher?.HeartbeatPeriod ?? 0));
    out += println('  CA Configuration:');
    out += println('   Expiry Duration:', humanDuration(spec.CAConfig?.NodeCertExpiry ?? 0));
    out += println('   Force Rotate:', spec.CAConfig?.ForceRotate ?? 0);
    out += println('  Autolock Managers:', spec.EncryptionConfig?.AutoLockManagers ?? false);
    out += println('  Root Rotation In Progress:', cluster.RootRotationInProgress);
  }
  out += println('  Node Address:', swarm.NodeAddr ?? '');
  const managers = (swarm.RemoteManagers ?? []).map((m) => m.Addr).sort();
  if (managers.length > 0) {
    out += println('  Manager Addresses:');
    for (const addr of managers) out += `   ${addr}\n`;
  }
  return out;
}

/** The Server section of `docker info`, minus what shoal has no notion of (storage drivers, runtimes...). */
export function formatServerInfo(info: InfoResponse): string {
  let out = '';
  if (info.Containers !== undefined) {
    out += println(' Containers:', info.Containers);
    out += println('  Running:', info.ContainersRunning ?? 0);
    out += println('  Paused:', info.ContainersPaused ?? 0);
    out += println('  Stopped:', info.ContainersStopped ?? 0);
  }
  if (info.Images !== undefined) out += println(' Images:', info.Images);
  out += printlnNonEmpty(' Server Version:', info.ServerVersion);
  out += println(' Swarm:', info.Swarm?.LocalNodeState ?? '');
  out += formatSwarmInfo(info.Swarm ?? {});
  out += printlnNonEmpty(' Kernel Version:', info.KernelVersion);
  out += printlnNonEmpty(' Operating System:', info.OperatingSystem);
  out += printlnNonEmpty(' OSType:', info.OSType);
  out += printlnNonEmpty(' Architecture:', info.Architecture);
  out += println(' CPUs:', info.NCPU ?? 0);
  out += println(' Total Memory:', bytesSize(info.MemTotal ?? 0));
  out += printlnNonEmpty(' Name:', info.Name);
  out += printlnNonEmpty(' ID:', info.ID);
  out += println(' Shoal Root Dir:', info.DockerRootDir ?? '');
  out += println(' Debug Mode:', info.Debug ?? false);
  if (info.Labels && info.Labels.length > 0) {
    out += println(' Labels:');
    for (const label of info.Labels) out += `  ${label}\n`;
  }
  return out + '\n';
}

/** Everything `shoal info` prints: the client's version, then the daemon's report. */
export function formatInfo(clientVersion: string, info: InfoResponse): string {
  return `Client:\n${println(' Version:   ', clientVersion)}\nServer:\n${formatServerInfo(info)}`;
}
