// Request bodies and texts of `shoal swarm`, and the `info` / `version` layouts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatInfo, formatSwarmInfo, type InfoResponse } from '../../../cli/format/info.js';
import { buildInitRequest, buildJoinRequest, joinCommandText, mergeSwarmSpec } from '../../../cli/format/swarm.js';
import { formatClientVersion, formatVersion, type ClientVersion } from '../../../cli/format/version.js';
import type { ClusterInfo } from '../../../shared/model/index.js';

test('buildInitRequest sends only the flags given', () => {
  assert.deepEqual(buildInitRequest({}), {});
  assert.deepEqual(
    buildInitRequest({
      advertiseAddr: '10.0.0.1',
      listenAddr: '0.0.0.0:2377',
      defaultAddrPool: ['10.10.0.0/16', '10.20.0.0/16'],
      defaultAddrPoolMaskLength: 26,
      forceNewCluster: true,
      taskHistoryLimit: 3,
      dispatcherHeartbeat: 2e9,
    }),
    {
      AdvertiseAddr: '10.0.0.1',
      ListenAddr: '0.0.0.0:2377',
      DefaultAddrPool: ['10.10.0.0/16', '10.20.0.0/16'],
      SubnetSize: 26,
      ForceNewCluster: true,
      Spec: { Orchestration: { TaskHistoryRetentionLimit: 3 }, Dispatcher: { HeartbeatPeriod: 2e9 } },
    },
  );
});

test('mergeSwarmSpec keeps what it was not asked to change', () => {
  const spec = {
    Name: 'default',
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5e9 },
  };
  assert.deepEqual(mergeSwarmSpec(spec, { snapshotInterval: 500 }), { ...spec, Raft: { ...spec.Raft, SnapshotInterval: 500 } });
  assert.deepEqual(mergeSwarmSpec(spec, {}), spec);
  assert.equal(spec.Raft.SnapshotInterval, 10000, 'the input is not modified');
});

test('buildJoinRequest', () => {
  assert.deepEqual(buildJoinRequest('10.0.0.1:2377', { token: 'SWMTKN-1-x-y' }), { JoinToken: 'SWMTKN-1-x-y', RemoteAddrs: ['10.0.0.1:2377'] });
  assert.deepEqual(buildJoinRequest('m:2377', { token: 't', availability: 'drain', advertiseAddr: '10.0.0.9', listenAddr: '0.0.0.0:4000' }), {
    JoinToken: 't',
    RemoteAddrs: ['m:2377'],
    ListenAddr: '0.0.0.0:4000',
    AdvertiseAddr: '10.0.0.9',
    Availability: 'drain',
  });
});

test('joinCommandText is docker\'s, naming shoal', () => {
  assert.equal(
    joinCommandText('worker', 'SWMTKN-1-abc-def', '10.0.0.1:2377'),
    'To add a worker to this swarm, run the following command:\n\n    shoal swarm join --token SWMTKN-1-abc-def 10.0.0.1:2377\n\n',
  );
});

const cluster: ClusterInfo = {
  ID: 'cluster-id',
  Version: { Index: 12 },
  CreatedAt: '2026-11-22T10:00:00Z',
  UpdatedAt: '2026-11-22T10:00:00Z',
  Spec: {
    Name: 'default',
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5e9 },
    CAConfig: { NodeCertExpiry: 2160 * 3600e9 },
  },
  TLSInfo: {},
  RootRotationInProgress: false,
  DataPathPort: 4789,
  DefaultAddrPool: ['10.0.0.0/8'],
  SubnetSize: 24,
};

test('formatSwarmInfo prints docker\'s swarm section of `docker info`', () => {
  const out = formatSwarmInfo({
    NodeID: 'node-1-id',
    NodeAddr: '10.0.0.1',
    LocalNodeState: 'active',
    ControlAvailable: true,
    Error: '',
    RemoteManagers: [
      { NodeID: 'b', Addr: '10.0.0.2:2377' },
      { NodeID: 'a', Addr: '10.0.0.1:2377' },
    ],
    Nodes: 3,
    Managers: 2,
    Cluster: cluster,
  });
  assert.equal(
    out,
    [
      '  NodeID: node-1-id',
      '  Is Manager: true',
      '  ClusterID: cluster-id',
      '  Managers: 2',
      '  Nodes: 3',
      '  Default Address Pool: 10.0.0.0/8  ',
      '  SubnetSize: 24',
      '  Data Path Port: 4789',
      '  Orchestration:',
      '   Task History Retention Limit: 5',
      '  Raft:',
      '   Snapshot Interval: 10000',
      '   Number of Old Snapshots to Retain: 0',
      '   Heartbeat Tick: 1',
      '   Election Tick: 10',
      '  Dispatcher:',
      '   Heartbeat Period: 5 seconds',
      '  CA Configuration:',
      '   Expiry Duration: 3 months',
      '   Force Rotate: 0',
      '  Autolock Managers: false',
      '  Root Rotation In Progress: false',
      '  Node Address: 10.0.0.1',
      '  Manager Addresses:',
      '   10.0.0.1:2377',
      '   10.0.0.2:2377',
      '',
    ].join('\n'),
  );
  assert.equal(formatSwarmInfo({ LocalNodeState: 'inactive', NodeID: '' }), '');
  // A worker sees no cluster details.
  assert.equal(
    formatSwarmInfo({ NodeID: 'w', NodeAddr: '10.0.0.3', LocalNodeState: 'active', ControlAvailable: false, RemoteManagers: [{ NodeID: 'a', Addr: '10.0.0.1:2377' }] }),
    '  NodeID: w\n  Is Manager: false\n  Node Address: 10.0.0.3\n  Manager Addresses:\n   10.0.0.1:2377\n',
  );
});

test('formatInfo: client version, then the server facts shoal reports', () => {
  const info: InfoResponse = {
    ID: 'daemon-id',
    Name: 'host-1',
    ServerVersion: '0.1.0',
    KernelVersion: '6.1.0',
    OperatingSystem: 'Debian GNU/Linux 12',
    OSType: 'linux',
    Architecture: 'x86_64',
    NCPU: 4,
    MemTotal: 8 * 1024 ** 3,
    DockerRootDir: '/var/lib/shoal',
    Labels: ['zone=eu'],
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
  };
  assert.equal(
    formatInfo('0.1.0', info),
    [
      'Client:',
      ' Version:    0.1.0',
      '',
      'Server:',
      ' Server Version: 0.1.0',
      ' Swarm: inactive',
      ' Kernel Version: 6.1.0',
      ' Operating System: Debian GNU/Linux 12',
      ' OSType: linux',
      ' Architecture: x86_64',
      ' CPUs: 4',
      ' Total Memory: 8GiB',
      ' Name: host-1',
      ' ID: daemon-id',
      ' Shoal Root Dir: /var/lib/shoal',
      ' Debug Mode: false',
      ' Labels:',
      '  zone=eu',
      '',
      '',
    ].join('\n'),
  );
});

const client: ClientVersion = { Version: '0.1.0', ApiVersion: '1.56', MinAPIVersion: '1.24', NodeVersion: 'v24.21.0', Os: 'linux', Arch: 'amd64' };

test('version output uses docker\'s column (tabwriter min width 20)', () => {
  assert.equal(
    formatClientVersion(client),
    'Client:\n Version:           0.1.0\n API version:       1.56 (minimum 1.24)\n Node version:      v24.21.0\n OS/Arch:           linux/amd64\n',
  );
  const out = formatVersion(client, {
    Platform: { Name: 'shoal' },
    Components: [{ Name: 'Engine', Version: '0.1.0', Details: { NodeVersion: 'v24.21.0' } }],
    Version: '0.1.0',
    ApiVersion: '1.56',
    MinAPIVersion: '1.24',
    GitCommit: '',
    GoVersion: '',
    Os: 'linux',
    Arch: 'amd64',
    KernelVersion: '6.1.0',
    BuildTime: '',
  });
  assert.equal(
    out,
    [
      'Client:',
      ' Version:           0.1.0',
      ' API version:       1.56 (minimum 1.24)',
      ' Node version:      v24.21.0',
      ' OS/Arch:           linux/amd64',
      '',
      'Server: shoal',
      ' Engine:',
      '  Version:          0.1.0',
      '  API version:      1.56 (minimum version 1.24)',
      '  Node version:     v24.21.0',
      '  OS/Arch:          linux/amd64',
      '  Kernel version:   6.1.0',
      '',
    ].join('\n'),
  );
});
