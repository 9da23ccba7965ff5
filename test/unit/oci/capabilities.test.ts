// Capabilities as Docker adjusts them (capabilities.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, effectiveCapabilities, normalizeCapabilities } from '../../../worker/executor/oci/capabilities.js';

test("Docker's 14 default capabilities when nothing is added or dropped", () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.deepEqual(effectiveCapabilities(), [...DEFAULT_CAPABILITIES]);
  assert.ok(!DEFAULT_CAPABILITIES.includes('CAP_SYS_ADMIN'));
  assert.ok(!DEFAULT_CAPABILITIES.includes('CAP_NET_ADMIN'));
});

test('names are case-insensitive, with or without CAP_, deduplicated; unknown ones are refused', () => {
  assert.deepEqual(normalizeCapabilities(['net_admin', 'CAP_NET_ADMIN', 'Sys_Time', 'all']), ['CAP_NET_ADMIN', 'CAP_SYS_TIME', 'ALL']);
  assert.throws(() => normalizeCapabilities(['FLY']), /unknown capability: "FLY"/);
});

test('drop, then add', () => {
  const caps = effectiveCapabilities(['NET_ADMIN', 'KILL'], ['CHOWN', 'NET_RAW']);
  assert.ok(caps.includes('CAP_NET_ADMIN'));
  assert.ok(!caps.includes('CAP_CHOWN'));
  assert.ok(!caps.includes('CAP_NET_RAW'));
  assert.equal(caps.filter((c) => c === 'CAP_KILL').length, 1, 'no duplicates');
  assert.equal(caps.length, 13);
});

test('ALL in add grants everything but the dropped; ALL in drop keeps only the added', () => {
  const all = effectiveCapabilities(['ALL'], ['SYS_ADMIN']);
  assert.equal(all.length, ALL_CAPABILITIES.length - 1);
  assert.ok(!all.includes('CAP_SYS_ADMIN'));
  assert.ok(all.includes('CAP_BPF'));
  assert.deepEqual(effectiveCapabilities(['NET_BIND_SERVICE'], ['ALL']), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(effectiveCapabilities([], ['ALL']), []);
});
