// Healthchecks as Docker runs them (health.ts): settings merged with the
// image's, the starting → healthy/unhealthy machine, and the probe schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  afterProbe,
  DEFAULT_INTERVAL_MS,
  DEFAULT_RETRIES,
  DEFAULT_START_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  healthSettings,
  initialHealth,
  probeDelayMs,
  type HealthSettings,
  type HealthStatus,
} from '../../../worker/executor/oci/health.js';

const s = (n: number): number => n * 1e9;

test('CMD runs as is, CMD-SHELL through /bin/sh -c, NONE or nothing disables', () => {
  assert.deepEqual(healthSettings({ Test: ['CMD', 'curl', '-f', 'http://x/'] }, undefined)?.argv, ['curl', '-f', 'http://x/']);
  assert.deepEqual(healthSettings({ Test: ['CMD-SHELL', 'curl -f http://x/ || exit 1'] }, undefined)?.argv, ['/bin/sh', '-c', 'curl -f http://x/ || exit 1']);
  assert.equal(healthSettings({ Test: ['NONE'] }, { Test: ['CMD', 'true'] }), undefined, 'NONE disables the image healthcheck');
  assert.equal(healthSettings(undefined, undefined), undefined);
  assert.equal(healthSettings({ Test: [] }, undefined), undefined);
  assert.throws(() => healthSettings({ Test: ['SHELL', 'x'] }, undefined), /unknown healthcheck type "SHELL"/);
  assert.throws(() => healthSettings({ Test: ['CMD'] }, undefined), /has no command/);
});

test("Docker's defaults, and the image's healthcheck filling what the service leaves unset", () => {
  assert.deepEqual(healthSettings({ Test: ['CMD', 'true'] }, undefined), {
    argv: ['true'],
    intervalMs: DEFAULT_INTERVAL_MS,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    retries: DEFAULT_RETRIES,
    startPeriodMs: 0,
    startIntervalMs: DEFAULT_START_INTERVAL_MS,
  });
  const merged = healthSettings({ Interval: s(2), Retries: 5 }, { Test: ['CMD', 'check'], Interval: s(10), Timeout: s(3), StartPeriod: s(20), StartInterval: s(1) });
  assert.deepEqual(merged, { argv: ['check'], intervalMs: 2000, timeoutMs: 3000, retries: 5, startPeriodMs: 20_000, startIntervalMs: 1000 });
});

const cfg: HealthSettings = { argv: ['x'], intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 10_000, startIntervalMs: 200 };
const T0 = 1_000_000;

function run(results: Array<[boolean, number]>, c = cfg): HealthStatus[] {
  const out: HealthStatus[] = [];
  let st = initialHealth();
  for (const [ok, at] of results) {
    st = afterProbe(st, { ok, startedAtMs: T0 + at }, c, T0);
    out.push(st);
  }
  return out;
}

test('starting until a success; unhealthy after `retries` failures in a row; a success resets the streak', () => {
  const noGrace = { ...cfg, startPeriodMs: 0 };
  assert.deepEqual(
    run([[false, 100], [false, 200], [true, 300], [false, 400], [false, 500], [false, 600], [true, 700]], noGrace).map((x) => `${x.state}/${x.failingStreak}`),
    ['starting/1', 'starting/2', 'healthy/0', 'healthy/1', 'healthy/2', 'unhealthy/3', 'healthy/0'],
  );
});

test('failures during the start period do not count; a success ends the start period', () => {
  assert.deepEqual(
    run([[false, 1000], [false, 2000], [false, 3000], [false, 11_000], [false, 12_000], [false, 13_000]]).map((x) => `${x.state}/${x.failingStreak}`),
    ['starting/0', 'starting/0', 'starting/0', 'starting/1', 'starting/2', 'unhealthy/3'],
  );
  assert.deepEqual(
    run([[true, 1000], [false, 2000], [false, 3000], [false, 4000]]).map((x) => `${x.state}/${x.failingStreak}`),
    ['healthy/0', 'healthy/1', 'healthy/2', 'unhealthy/3'],
    'once healthy, failures count even within the start period',
  );
});

test('probes come every StartInterval while starting in the start period, every Interval otherwise', () => {
  assert.equal(probeDelayMs(initialHealth(), cfg, T0 + 500, T0), 200);
  assert.equal(probeDelayMs(initialHealth(), cfg, T0 + 10_500, T0), 1000, 'start period over');
  assert.equal(probeDelayMs({ state: 'healthy', failingStreak: 0 }, cfg, T0 + 500, T0), 1000, 'healthy ends it');
  assert.equal(probeDelayMs(initialHealth(), { ...cfg, startPeriodMs: 0 }, T0, T0), 1000);
});
