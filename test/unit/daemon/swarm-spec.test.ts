import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withSwarmDefaults } from '../../../manager/swarm-spec.js';
import { newClusterRecord } from '../../../manager/membership/cluster-record.js';
import { checkToken, fingerprintOf } from '../../../manager/membership/tokens.js';
import { toApiSwarm } from '../../../manager/views.js';

test("the docker CLI's zero values get Docker's defaults", () => {
  // What `docker swarm init` sends when no setting is given.
  const spec = withSwarmDefaults({ Name: '', Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {} });
  assert.equal(spec.Name, 'default');
  assert.equal(spec.Orchestration?.TaskHistoryRetentionLimit, 5);
  assert.deepEqual([spec.Raft?.SnapshotInterval, spec.Raft?.ElectionTick, spec.Raft?.HeartbeatTick], [10000, 10, 1]);
  assert.equal(spec.Dispatcher?.HeartbeatPeriod, 5e9);
  assert.equal(spec.CAConfig?.NodeCertExpiry, 90 * 24 * 3600 * 1e9);
});

test('values given are kept', () => {
  const spec = withSwarmDefaults({ Name: 'prod', Labels: { a: 'b' }, Dispatcher: { HeartbeatPeriod: 5e8 }, Orchestration: { TaskHistoryRetentionLimit: 2 } });
  assert.equal(spec.Name, 'prod');
  assert.deepEqual(spec.Labels, { a: 'b' });
  assert.equal(spec.Dispatcher?.HeartbeatPeriod, 5e8);
  assert.equal(spec.Orchestration?.TaskHistoryRetentionLimit, 2);
});

test('a new cluster record: defaults, a key whose fingerprint is in both tokens, and distinct role secrets', () => {
  const c = newClusterRecord('c1', { DataPathPort: 0, DefaultAddrPool: [], SubnetSize: 0 });
  assert.deepEqual([c.DataPathPort, c.DefaultAddrPool, c.SubnetSize], [4789, ['10.0.0.0/8'], 24]);
  assert.equal(c.Internal.Fingerprint, fingerprintOf(c.Internal.ClusterPublicKey));
  assert.notEqual(c.Internal.WorkerSecret, c.Internal.ManagerSecret);
  const tokens = toApiSwarm(c).JoinTokens;
  assert.equal(checkToken(tokens.Worker, c.Internal), 'worker');
  assert.equal(checkToken(tokens.Manager, c.Internal), 'manager');
  assert.ok(!('Internal' in toApiSwarm(c)), 'the API view has no secrets');
});
