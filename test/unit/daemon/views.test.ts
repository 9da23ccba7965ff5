import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, NotFoundError } from '../../../shared/errors.js';
import type { ClusterRecord, NodeRecord } from '../../../shared/model/index.js';
import { fingerprintOf, newSecret } from '../../../manager/membership/tokens.js';
import { resolveNode, toApiNode, toApiSwarm, toClusterInfo, type RaftView } from '../../../manager/views.js';

function record(id: string, hostname: string, over: { raftId?: number; name?: string; multiaddr?: string } = {}): NodeRecord {
  return {
    ID: id,
    Version: { Index: 5 },
    CreatedAt: '2024-01-01T00:00:00.000000000Z',
    UpdatedAt: '2024-01-01T00:00:00.000000000Z',
    Spec: { ...(over.name !== undefined ? { Name: over.name } : {}), Labels: { zone: 'eu' }, Role: over.raftId ? 'manager' : 'worker', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1 << 30 },
      Engine: { EngineVersion: '0.1.0', Labels: {}, Plugins: [] },
    },
    Status: { State: 'ready', Addr: '10.0.0.1' },
    Internal: { PeerID: `peer-${id}`, Multiaddr: over.multiaddr ?? '/ip4/10.0.0.1/tcp/2377', RaftID: over.raftId ?? 0 },
  };
}

function raft(leader: number, members: number[], reachable: number[] = []): RaftView {
  return { leader, members: new Set(members), reachable: (id) => reachable.includes(id) };
}

test('toApiNode never serves Internal, and does not change the record', () => {
  const r = record('n1', 'mgr-1', { raftId: 7 });
  const before = structuredClone(r);
  const n = toApiNode(r, raft(7, [7]));
  assert.equal('Internal' in n, false);
  assert.equal(JSON.stringify(n).includes('peer-n1'), false, 'not even the peer id');
  assert.deepEqual(r, before);
  n.Spec.Labels!['zone'] = 'us';
  assert.equal(r.Spec.Labels!['zone'], 'eu', 'a deep copy');
});

test('toApiNode: ManagerStatus only for Raft members, Leader only on the leader', () => {
  const view = raft(1, [1, 2, 3], [2]);
  const leader = toApiNode(record('a', 'a', { raftId: 1, multiaddr: '/ip4/10.0.0.1/tcp/2377' }), view);
  assert.deepEqual(leader.ManagerStatus, { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' });
  const follower = toApiNode(record('b', 'b', { raftId: 2, multiaddr: '/ip6/fd00::2/tcp/4000' }), view);
  assert.deepEqual(follower.ManagerStatus, { Reachability: 'reachable', Addr: '[fd00::2]:4000' });
  assert.equal('Leader' in follower.ManagerStatus!, false, 'no Leader: false either, as in Docker');
  const unreachable = toApiNode(record('c', 'c', { raftId: 3 }), view);
  assert.equal(unreachable.ManagerStatus?.Reachability, 'unreachable');
  assert.equal(unreachable.ManagerStatus?.Leader, undefined);
  // A raft id that is not (or no longer) in the conf, and a worker: no ManagerStatus.
  assert.equal(toApiNode(record('d', 'd', { raftId: 4 }), view).ManagerStatus, undefined);
  assert.equal(toApiNode(record('w', 'w'), view).ManagerStatus, undefined);
  // Without a known leader nobody is Leader, and the leader's own reachability is the prober's.
  const noLeader = toApiNode(record('a', 'a', { raftId: 1 }), raft(0, [1, 2], []));
  assert.deepEqual(noLeader.ManagerStatus, { Reachability: 'unreachable', Addr: '10.0.0.1:2377' });
});

function cluster(): ClusterRecord {
  const publicKey = new Uint8Array(32).fill(3);
  return {
    ID: 'cluster1',
    Version: { Index: 2 },
    CreatedAt: 't',
    UpdatedAt: 't',
    Spec: { Name: 'default', Dispatcher: { HeartbeatPeriod: 5e9 } },
    TLSInfo: {},
    RootRotationInProgress: false,
    DataPathPort: 4789,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    JoinTokens: { Worker: 'stale', Manager: 'stale' },
    Internal: {
      Fingerprint: fingerprintOf(publicKey),
      WorkerSecret: newSecret(),
      ManagerSecret: newSecret(),
      ClusterKey: new Uint8Array(48).fill(0xee),
      ClusterPublicKey: publicKey,
    },
  };
}

test('toApiSwarm derives the join tokens from the secrets and serves no key material', () => {
  const c = cluster();
  const s = toApiSwarm(c);
  assert.equal(s.JoinTokens.Worker, `SWMTKN-1-${c.Internal.Fingerprint}-${c.Internal.WorkerSecret}`);
  assert.equal(s.JoinTokens.Manager, `SWMTKN-1-${c.Internal.Fingerprint}-${c.Internal.ManagerSecret}`);
  assert.equal('Internal' in s, false);
  assert.equal(s.ID, 'cluster1');
  assert.equal(s.Spec.Dispatcher?.HeartbeatPeriod, 5e9);
  const info = toClusterInfo(c);
  assert.equal('JoinTokens' in info, false, '/info never shows tokens');
  assert.equal('Internal' in info, false);
  info.DefaultAddrPool.push('x');
  assert.deepEqual(c.DefaultAddrPool, ['10.0.0.0/8'], 'a copy');
});

const nodes = [
  record('abc111aaaa', 'mgr-1', { raftId: 1 }),
  record('abc222bbbb', 'mgr-2', { raftId: 2, name: 'primary' }),
  record('def333cccc', 'wrk', {}),
  record('def444dddd', 'wrk', {}),
  record('mgr-1x0000', 'other', {}), // an ID that starts with another node's hostname
];

function ambiguous(err: unknown): boolean {
  return err instanceof InvalidArgumentError && /ambiguous/.test(err.message) && err.status === 400;
}

test('resolveNode: exact ID first, then a unique name or hostname, then a unique ID prefix', () => {
  assert.equal(resolveNode(nodes, 'abc111aaaa').ID, 'abc111aaaa');
  assert.equal(resolveNode(nodes, 'mgr-2').ID, 'abc222bbbb', 'hostname');
  assert.equal(resolveNode(nodes, 'primary').ID, 'abc222bbbb', 'Spec.Name');
  assert.equal(resolveNode(nodes, 'mgr-1').ID, 'abc111aaaa', 'a hostname beats an ID prefix');
  assert.equal(resolveNode(nodes, 'abc2').ID, 'abc222bbbb', 'unique prefix');
  assert.equal(resolveNode(nodes, 'def3').ID, 'def333cccc');
  // An exact ID beats a node whose hostname is that ID.
  const tricky = [record('h1', 'zzz'), record('zzz', 'h2')];
  assert.equal(resolveNode(tricky, 'zzz').ID, 'zzz');
});

test('resolveNode reports ambiguity and absence', () => {
  assert.throws(() => resolveNode(nodes, 'abc'), ambiguous, 'prefix of two IDs');
  assert.throws(() => resolveNode(nodes, 'wrk'), ambiguous, 'hostname of two nodes');
  assert.throws(() => resolveNode(nodes, 'nope'), (err: unknown) => err instanceof NotFoundError && /node nope not found/.test(err.message));
  assert.throws(() => resolveNode(nodes, ''), NotFoundError, 'an empty reference names nothing');
  assert.throws(() => resolveNode([nodes[0]!], ''), NotFoundError, 'not even the only node');
  assert.throws(() => resolveNode([], 'x'), NotFoundError);
});

test('resolveNode: a name shared by several nodes never falls through to an ID prefix', () => {
  // Two nodes are called "web"; a third node's ID starts with "web". `docker node rm web`
  // must not remove that third node.
  const list = [record('aaa1', 'web'), record('aaa2', 'web'), record('web9zzzz', 'db')];
  assert.throws(
    () => resolveNode(list, 'web'),
    (err: unknown) => ambiguous(err) && /\(2 matches found\)/.test((err as Error).message),
  );
});
