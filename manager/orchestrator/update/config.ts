// The UpdateConfig in force, with Docker's defaults for the fields a spec
// leaves out (docs/task-lifecycle.md): Parallelism 1, Delay 0, FailureAction
// pause, Monitor 5 s, MaxFailureRatio 0, Order stop-first. A rollback runs
// under the spec's RollbackConfig, as in swarmkit.
import type { FailureAction, ServiceSpec, UpdateConfig } from '../../../shared/model/index.js';
import { nanosToMs } from './time.js';

export const DEFAULT_MONITOR_MS = 5_000;

export interface RolloutConfig {
  /** Slots replaced at once; Infinity for Docker's 0 ("all at once"). */
  parallelism: number;
  delayMs: number;
  monitorMs: number;
  failureAction: FailureAction;
  maxFailureRatio: number;
  order: 'stop-first' | 'start-first';
}

export function resolveConfig(config: UpdateConfig | undefined): RolloutConfig {
  const c = config ?? {};
  const parallelism = c.Parallelism ?? 1;
  return {
    parallelism: parallelism <= 0 ? Infinity : parallelism,
    delayMs: nanosToMs(Math.max(0, c.Delay ?? 0)),
    monitorMs: c.Monitor === undefined ? DEFAULT_MONITOR_MS : nanosToMs(Math.max(0, c.Monitor)),
    failureAction: c.FailureAction ?? 'pause',
    maxFailureRatio: Math.max(0, c.MaxFailureRatio ?? 0),
    order: c.Order ?? 'stop-first',
  };
}

/** The config that drives the rollout in progress: RollbackConfig while rolling back. */
export function configFor(spec: ServiceSpec, rollingBack: boolean): RolloutConfig {
  return resolveConfig(rollingBack ? spec.RollbackConfig : spec.UpdateConfig);
}
