// What a service asks for, with Docker's defaults filled in: which of the four
// modes it runs in and how many tasks that means. Docker's API lets every
// count be left out; these are the values dockerd uses then.
import type { ServiceRecord, ServiceSpec } from '../../shared/model/index.js';

export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

/** The spec's mode; no mode at all means replicated (with one replica). */
export function modeOf(spec: ServiceSpec): ModeKind {
  const m = spec.Mode;
  if (m?.Global !== undefined) return 'global';
  if (m?.ReplicatedJob !== undefined) return 'replicated-job';
  if (m?.GlobalJob !== undefined) return 'global-job';
  return 'replicated';
}

export function isJobMode(kind: ModeKind): boolean {
  return kind === 'replicated-job' || kind === 'global-job';
}

/** Slots are per node (keyed by node ID) in the global modes, numbered otherwise. */
export function isPerNodeMode(kind: ModeKind): boolean {
  return kind === 'global' || kind === 'global-job';
}

function count(v: number | undefined): number | undefined {
  return v !== undefined && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

export function replicasOf(spec: ServiceSpec): number {
  return count(spec.Mode?.Replicated?.Replicas) ?? 1;
}

export interface JobCounts {
  /** At most this many tasks of the job run at once. */
  maxConcurrent: number;
  /** The job is done once this many tasks completed. */
  totalCompletions: number;
}

/** Docker: MaxConcurrent defaults to 1 and TotalCompletions to MaxConcurrent. */
export function jobCountsOf(spec: ServiceSpec): JobCounts {
  const j = spec.Mode?.ReplicatedJob;
  const given = count(j?.MaxConcurrent);
  const maxConcurrent = given === undefined || given === 0 ? 1 : given;
  const total = count(j?.TotalCompletions);
  return { maxConcurrent, totalCompletions: total === undefined || total === 0 ? maxConcurrent : total };
}

/**
 * Which execution of a job this is. Docker bumps JobStatus.JobIteration on
 * every spec update; when the record carries none, the spec generation plays
 * that part (it too moves on every spec change).
 */
export function jobIterationOf(service: ServiceRecord): number {
  return service.JobStatus?.JobIteration?.Index ?? service.Internal.SpecVersion;
}
