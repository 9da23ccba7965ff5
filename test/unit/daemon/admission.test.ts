import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNodeRecord } from '../../../manager/membership/admission.js';
import type { JoinRequest } from '../../../shared/protocol/cluster.js';

function request(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    token: 'SWMTKN-1-x-y',
    nonce: new Uint8Array(32),
    hostname: 'wrk-1',
    advertiseAddr: '/ip4/10.0.0.7/tcp/2377',
    availability: 'drain',
    platform: { Architecture: 'aarch64', OS: 'linux' },
    resources: { NanoCPUs: 2e9, MemoryBytes: 1 << 30 },
    engineVersion: '0.1.0',
    engineLabels: { disk: 'ssd' },
    ...over,
  };
}

test('a worker joins with the description it sent, ready, without a raft id', () => {
  const r = newNodeRecord(request(), '12D3KooWorker', 'worker', '2024-01-01T00:00:00.000000000Z');
  assert.match(r.ID, /^[0-9a-z]{25}$/);
  assert.deepEqual(r.Version, { Index: 0 });
  assert.equal(r.CreatedAt, '2024-01-01T00:00:00.000000000Z');
  assert.equal(r.UpdatedAt, r.CreatedAt);
  assert.deepEqual(r.Spec, { Labels: {}, Role: 'worker', Availability: 'drain' });
  assert.equal(r.Description.Hostname, 'wrk-1');
  assert.deepEqual(r.Description.Platform, { Architecture: 'aarch64', OS: 'linux' });
  assert.deepEqual(r.Description.Resources, { NanoCPUs: 2e9, MemoryBytes: 1 << 30 });
  assert.deepEqual(r.Description.Engine, { EngineVersion: '0.1.0', Labels: { disk: 'ssd' }, Plugins: [] });
  assert.deepEqual(r.Status, { State: 'ready', Addr: '10.0.0.7' }, 'Status.Addr is the bare IP, as in Docker');
  assert.deepEqual(r.Internal, { PeerID: '12D3KooWorker', Multiaddr: '/ip4/10.0.0.7/tcp/2377', RaftID: 0 });
  assert.equal(r.ManagerStatus, undefined);
});

test('a manager joins with a fresh nonzero raft id; every record gets its own ID', () => {
  const a = newNodeRecord(request({ advertiseAddr: '/ip6/fd00::5/tcp/4000' }), 'p1', 'manager', '');
  const b = newNodeRecord(request(), 'p2', 'manager', '');
  assert.equal(a.Spec.Role, 'manager');
  assert.ok(a.Internal.RaftID > 0 && Number.isSafeInteger(a.Internal.RaftID));
  assert.notEqual(a.Internal.RaftID, b.Internal.RaftID);
  assert.notEqual(a.ID, b.ID);
  assert.equal(a.Status.Addr, 'fd00::5');
});

test('a join request whose advertise address is not a dialable multiaddr is refused', () => {
  assert.throws(() => newNodeRecord(request({ advertiseAddr: '10.0.0.7:2377' }), 'p', 'worker', ''), /unsupported address/);
});
