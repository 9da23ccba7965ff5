import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterState } from '../../../manager/scheduler/node-info.js';
import type { TaskSpec } from '../../../shared/model/index.js';
import { CPU, GiB, lookup, node, service, task } from './helpers.js';

const reserve: TaskSpec = { Resources: { Reservations: { NanoCPUs: CPU, MemoryBytes: GiB } } };

test('placed tasks are counted on their node: resources, spread counts, host ports', () => {
  const web = service('s1', { ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 80, PublishMode: 'host' }] });
  const s = ClusterState.build([node('a')], [task('t1', 's1', { nodeId: 'a', state: 'running', spec: reserve })], lookup([web]));
  const a = s.info('a')!;
  assert.equal(a.availableNanoCPUs, 3 * CPU);
  assert.equal(a.availableMemoryBytes, 7 * GiB);
  assert.equal(a.activeTotal, 1);
  assert.equal(a.serviceCount('s1'), 1);
  assert.ok(a.usedHostPorts.has('tcp/80'));
});

test('observing a task keeps the picture in line with the store and says when room was freed', () => {
  const s = ClusterState.build([node('a'), node('b')], [], lookup());
  const t = task('t1', 's1', { nodeId: 'a', state: 'assigned', spec: reserve });
  assert.equal(s.observeTask('t1', t), false);
  assert.equal(s.info('a')!.serviceCount('s1'), 1);
  // Moving on through its states changes nothing.
  assert.equal(s.observeTask('t1', { ...t, Status: { ...t.Status, State: 'running' } }), false);
  assert.equal(s.info('a')!.availableMemoryBytes, 7 * GiB);
  // Desired shutdown: still holds its resources, no longer counts for spread.
  assert.equal(s.observeTask('t1', { ...t, DesiredState: 'shutdown', Status: { ...t.Status, State: 'running' } }), true);
  assert.equal(s.info('a')!.serviceCount('s1'), 0);
  assert.equal(s.info('a')!.availableMemoryBytes, 7 * GiB);
  // Terminal: gone from the node.
  assert.equal(s.observeTask('t1', { ...t, DesiredState: 'shutdown', Status: { ...t.Status, State: 'shutdown' } }), true);
  assert.equal(s.info('a')!.availableMemoryBytes, 8 * GiB);
  assert.equal(s.info('a')!.tasks.size, 0);
  // Deleted (never placed): nothing to free.
  assert.equal(s.observeTask('t2', undefined), false);
  // A pending task is not on a node, even with its node preset.
  assert.equal(s.observeTask('g', task('g', 's2', { nodeId: 'b', state: 'pending', spec: reserve })), false);
  assert.equal(s.info('b')!.tasks.size, 0);
});

test('a node that leaves keeps its tasks counted until they go; a node that shrinks has less room', () => {
  const s = ClusterState.build([node('a')], [task('t1', 's1', { nodeId: 'a', state: 'running', spec: reserve })], lookup());
  s.removeNode('a');
  assert.equal(s.info('a'), undefined);
  assert.equal([...s.nodes()].length, 0);
  s.upsertNode(node('a', { memory: 2 * GiB }));
  assert.equal(s.info('a')!.availableMemoryBytes, GiB);
  assert.equal(s.info('a')!.serviceCount('s1'), 1);
  assert.equal(s.observeTask('t1', undefined), true);
  s.removeNode('a');
  s.upsertNode(node('a'));
  assert.equal(s.info('a')!.tasks.size, 0);
});
