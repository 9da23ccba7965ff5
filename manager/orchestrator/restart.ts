// The restart policy, decided from the tasks in the store alone, so a new
// leader reaches the same decision as the old one and nothing has to be
// remembered between rounds.
//
// A task "ended on its own" when it reached a terminal observed state while
// it was still meant to run. Its slot then gets a new task if the policy's
// condition allows it and fewer than MaxAttempts restarts of the slot's
// current generation happened within Window before the end. Every task of the
// slot but the oldest of a generation was itself a restart, made when its
// predecessor ended: its CreatedAt is when that restart happened (swarmkit
// counts the same instants). The task reaper keeps MaxAttempts + 1 tasks per
// slot so the count survives history cleanup.
import type { RestartPolicy, TaskRecord, TaskSpec } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import { byCreation, createdAt, nsToMs, statusTime } from './times.js';

/** docs/task-lifecycle.md: Condition any, Delay 5 s, MaxAttempts 0 (unlimited), Window 0 (unbounded). */
export const DEFAULT_RESTART_DELAY_MS = 5000;

export interface EffectivePolicy {
  condition: NonNullable<RestartPolicy['Condition']>;
  delayMs: number;
  /** 0: unlimited. */
  maxAttempts: number;
  /** 0: unbounded. */
  windowMs: number;
}

export function restartPolicyOf(spec: TaskSpec): EffectivePolicy {
  const p = spec.RestartPolicy ?? {};
  const max = p.MaxAttempts;
  return {
    condition: p.Condition ?? 'any',
    delayMs: nsToMs(p.Delay) ?? DEFAULT_RESTART_DELAY_MS,
    maxAttempts: max !== undefined && Number.isFinite(max) && max > 0 ? Math.floor(max) : 0,
    windowMs: nsToMs(p.Window) ?? 0,
  };
}

/**
 * The highest desired state at which a task is still meant to run: running
 * for services, complete for jobs (whose tasks run until they complete).
 */
export function runCeiling(job: boolean): 'running' | 'complete' {
  return job ? 'complete' : 'running';
}

/** Meant to run (or to wait out a restart delay first): desired state at or below the ceiling. */
export function isRunnable(t: TaskRecord, job: boolean): boolean {
  return stateIndex(t.DesiredState) <= stateIndex(runCeiling(job));
}

/** Observed states a task reaches by itself; shutdown, remove and orphaned come from the cluster stopping it. */
const OWN_ENDINGS = new Set(['complete', 'failed', 'rejected']);

/**
 * The task stopped without being asked to: its observed state is terminal and
 * either it was still meant to run, or the state is one only the workload
 * itself causes (it exited, failed, or could not be started).
 */
export function endedOnItsOwn(t: TaskRecord, job: boolean): boolean {
  if (!isTerminal(t.Status.State)) return false;
  return isRunnable(t, job) || OWN_ENDINGS.has(t.Status.State);
}

/** How a task's generation is read: the spec version for services, the job iteration for jobs. */
export type GenerationOf = (t: TaskRecord) => number;

/**
 * Restarts of `ended`'s generation that count against MaxAttempts: the
 * creation times of the slot's tasks of that generation made up to `ended`,
 * except the oldest (the first attempt), within Window before it ended.
 */
export function restartsBefore(ended: TaskRecord, slotTasks: readonly TaskRecord[], generationOf: GenerationOf, windowMs: number): number {
  const gen = generationOf(ended);
  const attempts = slotTasks.filter((t) => generationOf(t) === gen && byCreation(t, ended) <= 0).sort(byCreation);
  const since = windowMs > 0 ? statusTime(ended) - windowMs : -Infinity;
  let n = 0;
  for (let i = 1; i < attempts.length; i++) if (createdAt(attempts[i]!) > since) n++;
  return n;
}

/**
 * Should the slot of `ended` (a task that ended on its own) get a new task?
 * For jobs a completed task is a success and never restarted.
 */
export function shouldRestart(ended: TaskRecord, slotTasks: readonly TaskRecord[], generationOf: GenerationOf, job: boolean): boolean {
  const state = ended.Status.State;
  if (job && state === 'complete') return false;
  const p = restartPolicyOf(ended.Spec);
  if (p.condition === 'none') return false;
  if (p.condition === 'on-failure' && state === 'complete') return false;
  if (p.maxAttempts === 0) return true;
  return restartsBefore(ended, slotTasks, generationOf, p.windowMs) < p.maxAttempts;
}
