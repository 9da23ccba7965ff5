import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterNodes, nodeFilter, parseFilters, validateFilterNames } from '../../../manager/api/filters.js';
import { makeNode } from './fake-backend.js';

const NODES = [
  makeNode({ id: 'abc123', hostname: 'mgr-1', role: 'manager', labels: { zone: 'eu', tier: 'a' }, engineLabels: { storage: 'ssd' } }),
  makeNode({ id: 'abd456', hostname: 'mgr-2', role: 'manager', labels: { zone: 'us' } }),
  makeNode({ id: 'xyz789', hostname: 'Worker-1', labels: { zone: 'eu' }, engineLabels: { storage: 'hdd' } }),
];

function ids(filters: Record<string, unknown>): string[] {
  return filterNodes(NODES, parseFilters(JSON.stringify(filters))).map((n) => n.ID);
}

test('parseFilters: both JSON forms give the same arguments', () => {
  assert.deepEqual(parseFilters('{"role":["manager","worker"]}'), new Map([['role', ['manager', 'worker']]]));
  assert.deepEqual(parseFilters('{"role":{"manager":true,"worker":true}}'), new Map([['role', ['manager', 'worker']]]));
  // dockerd counts a key of the map form whatever its boolean says.
  assert.deepEqual(parseFilters('{"role":{"manager":false}}'), new Map([['role', ['manager']]]));
});

test('parseFilters: absent, empty and null mean no filters', () => {
  assert.equal(parseFilters(undefined).size, 0);
  assert.equal(parseFilters('').size, 0);
  assert.equal(parseFilters('null').size, 0);
  assert.equal(parseFilters('{}').size, 0);
  assert.deepEqual(parseFilters('{"role":null}'), new Map([['role', []]]));
});

test('parseFilters: anything else is a 400 that shows the expected shape', () => {
  for (const raw of ['role=manager', '[1]', '"x"', '{"role":"manager"}', '{"role":[1]}', '{"role":{"manager":"yes"}}', '{"role":{"manager":true},"name":["x"]}']) {
    assert.throws(() => parseFilters(raw), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400, raw);
      assert.match(err.message, /^invalid filter: .*\{"role":\["manager"\]\}/);
      return true;
    });
  }
});

test('validateFilterNames: unknown names get dockerd message', () => {
  assert.doesNotThrow(() => validateFilterNames(new Map([['role', ['manager']]]), ['role']));
  assert.throws(() => validateFilterNames(new Map([['colour', []]]), ['role']), { status: 400, message: "invalid filter 'colour'" });
});

test('id: prefix of the node ID, values ORed', () => {
  assert.deepEqual(ids({ id: ['ab'] }), ['abc123', 'abd456']);
  assert.deepEqual(ids({ id: ['abc', 'xyz'] }), ['abc123', 'xyz789']);
  assert.deepEqual(ids({ id: ['nope'] }), []);
});

test('name: case-sensitive prefix of the hostname', () => {
  assert.deepEqual(ids({ name: ['mgr'] }), ['abc123', 'abd456']);
  assert.deepEqual(ids({ name: ['Worker-1'] }), ['xyz789']);
  assert.deepEqual(ids({ name: ['worker'] }), []);
});

test('role: case-insensitive, empty values ignored, unknown values refused', () => {
  assert.deepEqual(ids({ role: ['worker'] }), ['xyz789']);
  assert.deepEqual(ids({ role: ['MANAGER'] }), ['abc123', 'abd456']);
  assert.deepEqual(ids({ role: [''] }), ['abc123', 'abd456', 'xyz789']);
  assert.throws(() => ids({ role: ['leader'] }), { status: 400, message: "Invalid role filter: 'leader'" });
});

test('membership: every stored node is accepted', () => {
  assert.deepEqual(ids({ membership: ['accepted'] }), ['abc123', 'abd456', 'xyz789']);
  assert.deepEqual(ids({ membership: ['pending'] }), []);
  assert.throws(() => ids({ membership: ['maybe'] }), { status: 400, message: "Invalid membership filter: 'maybe'" });
});

test('node.label: Spec.Labels, key or key=value, all must match', () => {
  assert.deepEqual(ids({ 'node.label': ['zone=eu'] }), ['abc123', 'xyz789']);
  assert.deepEqual(ids({ 'node.label': ['tier'] }), ['abc123']);
  assert.deepEqual(ids({ 'node.label': ['zone=eu', 'tier=a'] }), ['abc123']);
  assert.deepEqual(ids({ 'node.label': ['zone='] }), ['abc123', 'abd456', 'xyz789']);
  assert.deepEqual(ids({ 'node.label': ['zone=asia'] }), []);
});

test('label: engine labels (Description.Engine.Labels), not node labels', () => {
  assert.deepEqual(ids({ label: ['storage'] }), ['abc123', 'xyz789']);
  assert.deepEqual(ids({ label: ['storage=hdd'] }), ['xyz789']);
  assert.deepEqual(ids({ label: ['zone'] }), []);
});

test('different filter names are ANDed', () => {
  assert.deepEqual(ids({ role: ['manager'], 'node.label': ['zone=eu'] }), ['abc123']);
  assert.deepEqual(ids({ name: { mgr: true }, id: { abd: true } }), ['abd456']);
});

test('nodeFilter checks names before values', () => {
  assert.throws(() => nodeFilter(new Map([['role', ['boss']], ['x', []]])), { message: "invalid filter 'x'" });
});
