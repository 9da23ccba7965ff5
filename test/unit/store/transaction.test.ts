import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTransaction, encodeTransaction, formatTime, MAX_OPS } from '../../../manager/store/transaction.js';
import { tx } from '../../../manager/store/tx-builder.js';
import { InvalidArgumentError } from '../../../shared/errors.js';
import { clusterDraft, nodeDraft, T0 } from './fixtures.js';

test('formatTime prints RFC 3339 with nanoseconds in UTC, as Docker does', () => {
  assert.equal(formatTime(0), '1970-01-01T00:00:00.000000000Z');
  assert.equal(formatTime(Date.UTC(2024, 4, 1, 12, 0, 0, 123)), '2024-05-01T12:00:00.123000000Z');
  assert.equal(formatTime(1.5), '1970-01-01T00:00:00.001500000Z');
  assert.throws(() => formatTime(Number.NaN), RangeError);
});

test('the builder records typed ops; encode and decode round-trip them without the stamped fields', () => {
  const t = tx();
  const stored = { ...nodeDraft('n1'), Version: { Index: 4 }, CreatedAt: T0, UpdatedAt: T0 };
  t.nodes.create(nodeDraft('n2'));
  t.nodes.update(stored);
  t.update('cluster', clusterDraft(), 9);
  t.cluster.update(clusterDraft('c2'), { unconditional: true });
  t.nodes.delete('n3');
  t.delete('nodes', 'n4', { expectedVersion: 2 });
  const decoded = decodeTransaction(encodeTransaction({ time: T0, ops: t.ops }));
  assert.equal(decoded.time, T0);
  assert.deepEqual(
    decoded.ops.map((op) => [op.op, op.table, op.op === 'delete' ? op.id : op.object.ID, op.op === 'create' ? undefined : op.expectedVersion]),
    [
      ['create', 'nodes', 'n2', undefined],
      ['update', 'nodes', 'n1', 4],
      ['update', 'cluster', 'swarm1', 9],
      ['update', 'cluster', 'c2', undefined],
      ['delete', 'nodes', 'n3', undefined],
      ['delete', 'nodes', 'n4', 2],
    ],
  );
  const update = decoded.ops[1]!;
  assert.ok(update.op === 'update');
  assert.equal('Version' in update.object || 'CreatedAt' in update.object || 'UpdatedAt' in update.object, false);
  assert.deepEqual(update.object['Spec'], nodeDraft('n1').Spec);
});

test('an update must say which version it is based on, or that it is unconditional', () => {
  assert.throws(() => tx().nodes.update(nodeDraft('n1')), (err: unknown) => err instanceof InvalidArgumentError && /neither which version/.test(err.message));
});

test('encode checks objects before anything is proposed', () => {
  const bad = { ...nodeDraft('n1'), Spec: { Role: 'boss', Availability: 'active' } } as unknown as ReturnType<typeof nodeDraft>;
  const t = tx();
  t.nodes.create(bad);
  assert.throws(() => encodeTransaction({ time: T0, ops: t.ops }), /invalid store transaction: ops\[0\] \(create node n1\): Spec\.Role must be one of worker, manager \(got "boss"\)$/);
  assert.throws(() => encodeTransaction({ time: 'now', ops: [] }), /time must be an RFC 3339 time/);
  // A version parsed from a bad query string.
  const nan = tx();
  nan.nodes.update(nodeDraft('n1'), Number.NaN);
  assert.throws(() => encodeTransaction({ time: T0, ops: nan.ops }), /ops\[0\]\.expectedVersion must be an integer \(got NaN\)/);
  const many = tx();
  for (let i = 0; i <= MAX_OPS; i++) many.nodes.delete(`n${i}`);
  assert.throws(() => encodeTransaction({ time: T0, ops: many.ops }), /at most 10000 ops/);
});
