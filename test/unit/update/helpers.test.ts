// The small rules the planner is built from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTaskDirty, isUp, resolveConfig } from '../../../manager/orchestrator/update/index.js';
import { dataEqual } from '../../../manager/orchestrator/update/spec-equal.js';
import { parseTime } from '../../../manager/orchestrator/update/time.js';
import { formatTime } from '../../../manager/store/transaction.js';
import { BASE, service, task } from './fixtures.js';

test('parseTime reads the store times back to the millisecond fraction', () => {
  assert.equal(parseTime(formatTime(BASE + 1234.5)), BASE + 1234.5);
  assert.equal(parseTime('2024-05-01T12:00:00Z'), BASE);
  assert.equal(parseTime('2024-05-01T14:00:00.5+02:00'), BASE + 500);
  assert.equal(parseTime('yesterday'), undefined);
  assert.equal(parseTime(undefined), undefined);
});

test('dataEqual: absent, undefined and null fields are all "not set"', () => {
  assert.ok(dataEqual({ a: 1, b: undefined }, { a: 1 }));
  assert.ok(dataEqual({ a: null }, {}));
  assert.ok(dataEqual({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x', c: undefined }] }));
  assert.ok(!dataEqual({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!dataEqual({ a: 1 }, { a: 1, b: 0 }));
  assert.ok(!dataEqual({ a: {} }, { a: [] }));
});

test('resolveConfig: Docker defaults for fields left out; Parallelism 0 is unlimited; durations to ms', () => {
  assert.deepEqual(resolveConfig(undefined), { parallelism: 1, delayMs: 0, monitorMs: 5000, failureAction: 'pause', maxFailureRatio: 0, order: 'stop-first' });
  const c = resolveConfig({ Parallelism: 0, Delay: 2e9, Monitor: 0, FailureAction: 'rollback', MaxFailureRatio: 0.5, Order: 'start-first' });
  assert.deepEqual(c, { parallelism: Infinity, delayMs: 2000, monitorMs: 0, failureAction: 'rollback', maxFailureRatio: 0.5, order: 'start-first' });
});

test('isTaskDirty: another generation AND another spec; ForceUpdate is a spec change', () => {
  const s = service({ version: 2, image: 'web:2' });
  assert.ok(isTaskDirty(s, task('a', { version: 1, image: 'web:1' })));
  assert.ok(!isTaskDirty(s, task('b', { version: 1, image: 'web:2' })), 'same spec, older generation: nothing to change');
  assert.ok(!isTaskDirty(s, task('c', { version: 2, image: 'web:1' })), 'the generation says it was made from this spec');
  const forced = service({ version: 3, image: 'web:2', task: { ForceUpdate: 1 } });
  assert.ok(isTaskDirty(forced, task('d', { version: 2, image: 'web:2' })));
});

test('isTaskDirty: a new endpoint or network list makes every older task dirty, whatever its spec', () => {
  const base = service({ version: 2, image: 'web:1', previousImage: 'web:1' });
  const ports = { ...base, Spec: { ...base.Spec, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } } };
  assert.ok(isTaskDirty(ports, task('a', { version: 1, image: 'web:1' })));
  const networks = { ...base, Spec: { ...base.Spec, Networks: [{ Target: 'backend' }] } };
  assert.ok(isTaskDirty(networks, task('b', { version: 1, image: 'web:1' })));
  assert.ok(!isTaskDirty(base, task('c', { version: 1, image: 'web:1' })));
});

test('isUp: running, desired running, and healthy if health is reported', () => {
  assert.ok(isUp(task('a')));
  assert.ok(!isUp(task('b', { state: 'starting' })));
  assert.ok(!isUp(task('c', { desired: 'shutdown' })));
  assert.ok(!isUp(task('d', { healthcheck: true })), 'a healthcheck and no report yet');
  assert.ok(!isUp(task('e', { healthcheck: true, health: 'starting' })));
  assert.ok(isUp(task('f', { healthcheck: true, health: 'healthy' })));
  assert.ok(!isUp(task('g', { health: 'unhealthy' })), "the image's own healthcheck counts too");
});
