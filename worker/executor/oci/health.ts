// Healthchecks as Docker runs them (daemon/health.go): the probe runs every
// Interval (StartInterval while still starting within the start period), a
// probe slower than Timeout fails, `Retries` failures in a row make the
// container unhealthy and one success makes it healthy. Failures during the
// start period do not count, and a success ends the start period. Pure: the
// checker (health-checker.ts) runs the probes and feeds the results in.
import { InvalidArgumentError } from '../../../shared/errors.js';
import type { HealthConfig } from '../../../shared/model/index.js';
import type { ImageRuntimeConfig } from '../../../shared/registry/types.js';
import type { HealthState } from '../executor.js';

export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 3;
export const DEFAULT_START_INTERVAL_MS = 5_000;

export interface HealthSettings {
  /** What to run inside the container. */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

function ms(ns: number | undefined): number | undefined {
  return ns !== undefined && ns > 0 ? Math.max(1, Math.round(ns / 1e6)) : undefined;
}

/**
 * The service's healthcheck, its unset fields taken from the image's (as
 * Docker merges them); undefined when there is none or it is `NONE`.
 */
export function healthSettings(spec: HealthConfig | undefined, image: ImageRuntimeConfig['Healthcheck'] | undefined): HealthSettings | undefined {
  const test = spec?.Test !== undefined && spec.Test.length > 0 ? spec.Test : image?.Test;
  if (test === undefined || test.length === 0 || test[0] === 'NONE') return undefined;
  let argv: string[];
  if (test[0] === 'CMD') argv = test.slice(1);
  else if (test[0] === 'CMD-SHELL') argv = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else throw new InvalidArgumentError(`unknown healthcheck type "${test[0]}"; a healthcheck test starts with CMD, CMD-SHELL or NONE`);
  if (argv.length === 0 || argv[0] === '') throw new InvalidArgumentError('the healthcheck test has no command; give one after CMD or CMD-SHELL');
  const pick = (own: number | undefined, img: number | undefined, dflt: number): number => ms(own) ?? ms(img) ?? dflt;
  const retries = spec?.Retries !== undefined && spec.Retries > 0 ? spec.Retries : image?.Retries !== undefined && image.Retries > 0 ? image.Retries : DEFAULT_RETRIES;
  return {
    argv,
    intervalMs: pick(spec?.Interval, image?.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: pick(spec?.Timeout, image?.Timeout, DEFAULT_TIMEOUT_MS),
    retries,
    startPeriodMs: pick(spec?.StartPeriod, image?.StartPeriod, 0),
    startIntervalMs: pick(spec?.StartInterval, image?.StartInterval, DEFAULT_START_INTERVAL_MS),
  };
}

export interface HealthStatus {
  state: HealthState;
  failingStreak: number;
}

export function initialHealth(): HealthStatus {
  return { state: 'starting', failingStreak: 0 };
}

export interface ProbeResult {
  ok: boolean;
  /** When the probe started, unix ms. */
  startedAtMs: number;
}

/** @param containerStartedAtMs when the container's process started, unix ms */
export function afterProbe(s: HealthStatus, r: ProbeResult, cfg: HealthSettings, containerStartedAtMs: number): HealthStatus {
  if (r.ok) return { state: 'healthy', failingStreak: 0 };
  const inStartPeriod = s.state === 'starting' && r.startedAtMs - containerStartedAtMs < cfg.startPeriodMs;
  if (inStartPeriod) return s;
  const failingStreak = s.failingStreak + 1;
  return { state: failingStreak >= cfg.retries ? 'unhealthy' : s.state, failingStreak };
}

/** How long until the next probe. */
export function probeDelayMs(s: HealthStatus, cfg: HealthSettings, nowMs: number, containerStartedAtMs: number): number {
  const starting = s.state === 'starting' && nowMs - containerStartedAtMs < cfg.startPeriodMs;
  return starting ? cfg.startIntervalMs : cfg.intervalMs;
}
