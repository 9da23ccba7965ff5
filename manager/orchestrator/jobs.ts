// Replicated jobs: TotalCompletions slots (1..n), each run until a task
// completes in it, at most MaxConcurrent at a time. Tasks are desired
// "complete"; a failed one is restarted in its slot per the restart policy,
// and a slot whose task failed for good under that policy stays failed (the
// job then never completes, as with any job whose attempts ran out). A new
// execution (JobIteration) starts over; tasks of an older one are stopped.
import type { TaskRecord } from '../../shared/model/index.js';
import { jobCountsOf, jobIterationOf } from './mode.js';
import { PlanBuilder, type ServicePlan } from './plan.js';
import type { ServiceInput } from './replicated.js';
import { examineSlot, groupBy, restartDesired, type SlotReport, stopAll } from './slots.js';

export function reconcileReplicatedJob(input: ServiceInput): ServicePlan {
  const { service, nodes, now } = input;
  const b = new PlanBuilder(service, now, input.newId);
  const iteration = jobIterationOf(service);
  const ctx = {
    job: true,
    generation: iteration,
    generationOf: (t: TaskRecord) => t.JobIteration?.Index ?? -1,
    nodes,
    stopOtherGenerations: true,
  };
  const { maxConcurrent, totalCompletions } = jobCountsOf(service.Spec);

  const reports = new Map<number, SlotReport>();
  for (const [slot, tasks] of groupBy(input.tasks, (t) => t.Slot ?? 0)) {
    if (slot < 1 || slot > totalCompletions) {
      stopAll(b, tasks, true);
      continue;
    }
    reports.set(slot, examineSlot(b, tasks, ctx));
  }

  let active = 0;
  for (const [slot, r] of [...reports].sort(([a], [c]) => a - c)) {
    switch (r.kind) {
      case 'live':
        active++;
        break;
      // A restart or replacement takes the place of a task that was running: it does not add to concurrency.
      case 'restart':
        b.create({ slot, desired: restartDesired(b, true), jobIteration: iteration });
        active++;
        break;
      case 'replace':
        b.create({ slot, desired: 'complete', jobIteration: iteration });
        active++;
        break;
      default:
        break;
    }
  }

  for (let slot = 1; slot <= totalCompletions && active < maxConcurrent; slot++) {
    const kind = reports.get(slot)?.kind ?? 'free';
    if (kind !== 'free') continue;
    b.create({ slot, desired: 'complete', jobIteration: iteration });
    active++;
  }
  return b.result();
}
