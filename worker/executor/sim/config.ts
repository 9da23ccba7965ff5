// How a simulated task behaves, read from its container spec: environment
// variables (`-e SHOAL_SIM_RUN_MS=2000`) or container labels of the same
// names, the environment winning. A value that does not parse fails the
// task's prepare with a message naming the variable, like a bad image would.
import type { Task } from '../../../shared/model/index.js';

export type SimHealthPlan =
  | { kind: 'fixed'; state: 'healthy' | 'unhealthy' | 'starting' }
  /** `starting` until `afterMs` after the start, then `then`. */
  | { kind: 'after'; afterMs: number; then: 'healthy' | 'unhealthy' };

export interface SimConfig {
  /** Time prepare takes (an image pull). */
  prepareMs: number;
  /** Time start takes. */
  startMs: number;
  /** Run time until the process exits by itself; undefined: until stopped. */
  runMs: number | undefined;
  exitCode: number;
  /** Time the process takes to exit after its stop signal; past the grace period it is killed. */
  stopMs: number;
  health: SimHealthPlan;
  prepareError: string | undefined;
  startError: string | undefined;
}

export const SIM_VARS = {
  prepareMs: 'SHOAL_SIM_PREPARE_MS',
  startMs: 'SHOAL_SIM_START_MS',
  runMs: 'SHOAL_SIM_RUN_MS',
  exitCode: 'SHOAL_SIM_EXIT_CODE',
  stopMs: 'SHOAL_SIM_STOP_MS',
  health: 'SHOAL_SIM_HEALTH',
  prepareError: 'SHOAL_SIM_PREPARE_ERROR',
  startError: 'SHOAL_SIM_START_ERROR',
} as const;

export const SIM_DEFAULTS = { prepareMs: 0, startMs: 10, exitCode: 0, stopMs: 0 } as const;

export class SimConfigError extends Error {}

/** The task's SHOAL_SIM_* settings (labels first, then env over them). */
export function simSettings(task: Task): Map<string, string> {
  const out = new Map<string, string>();
  const c = task.Spec.ContainerSpec;
  for (const [k, v] of Object.entries(c?.Labels ?? {})) if (k.startsWith('SHOAL_SIM_')) out.set(k, v);
  for (const e of c?.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0 && e.startsWith('SHOAL_SIM_')) out.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return out;
}

function ms(settings: Map<string, string>, name: string, dflt: number): number;
function ms(settings: Map<string, string>, name: string, dflt: undefined): number | undefined;
function ms(settings: Map<string, string>, name: string, dflt: number | undefined): number | undefined {
  const raw = settings.get(name);
  if (raw === undefined || raw.trim() === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new SimConfigError(`${name} must be a number of milliseconds >= 0, got "${raw}"`);
  return v;
}

function health(raw: string | undefined): SimHealthPlan {
  const v = (raw ?? 'healthy').trim();
  if (v === 'healthy' || v === 'unhealthy' || v === 'starting') return { kind: 'fixed', state: v };
  const m = /^(?:(healthy|unhealthy)-after-)?(\d+(?:\.\d+)?)$/.exec(v);
  if (m) return { kind: 'after', afterMs: Number(m[2]), then: m[1] === 'unhealthy' ? 'unhealthy' : 'healthy' };
  throw new SimConfigError(
    `${SIM_VARS.health} must be healthy, unhealthy, starting, healthy-after-<ms>, unhealthy-after-<ms> or <ms> (healthy after that long), got "${v}"`,
  );
}

/** Throws SimConfigError naming the bad variable. */
export function simConfig(task: Task): SimConfig {
  const s = simSettings(task);
  const code = s.get(SIM_VARS.exitCode);
  let exitCode: number = SIM_DEFAULTS.exitCode;
  if (code !== undefined && code.trim() !== '') {
    exitCode = Number(code);
    if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) throw new SimConfigError(`${SIM_VARS.exitCode} must be an integer 0-255, got "${code}"`);
  }
  const nonEmpty = (k: string): string | undefined => {
    const v = s.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  return {
    prepareMs: ms(s, SIM_VARS.prepareMs, SIM_DEFAULTS.prepareMs),
    startMs: ms(s, SIM_VARS.startMs, SIM_DEFAULTS.startMs),
    runMs: ms(s, SIM_VARS.runMs, undefined),
    exitCode,
    stopMs: ms(s, SIM_VARS.stopMs, SIM_DEFAULTS.stopMs),
    health: health(s.get(SIM_VARS.health)),
    prepareError: nonEmpty(SIM_VARS.prepareError),
    startError: nonEmpty(SIM_VARS.startError),
  };
}

/** Health `sinceStartMs` after the start, per the plan. */
export function healthAt(plan: SimHealthPlan, sinceStartMs: number): 'healthy' | 'unhealthy' | 'starting' {
  if (plan.kind === 'fixed') return plan.state;
  return sinceStartMs >= plan.afterMs ? plan.then : 'starting';
}
