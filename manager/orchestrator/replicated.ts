// Replicated services: Replicas slots, each holding one task meant to run.
//
// Slot numbers are identities, not a range: after a scale down the slots
// kept are the ones on the least loaded nodes, so a service of 3 may run in
// slots 1, 4 and 7. Slots count as taken while something runs there, a
// restart or replacement is owed, or their task finished for good under the
// restart policy (until the spec changes); missing ones are made in the
// lowest free slot numbers.
import type { ServiceRecord, TaskRecord } from '../../shared/model/index.js';
import { replicasOf } from './mode.js';
import type { NodeLookup } from './nodes.js';
import { PlanBuilder, type ServicePlan } from './plan.js';
import { examineSlot, groupBy, restartDesired, type SlotKind, type SlotReport, stopAll } from './slots.js';

export interface ServiceInput {
  service: ServiceRecord;
  /** Every task of the service, any state. */
  tasks: readonly TaskRecord[];
  nodes: NodeLookup;
  /** Clock time in ms. */
  now: number;
  /** Fresh task IDs. */
  newId: () => string;
}

interface Slot {
  slot: number;
  report: SlotReport;
}

/** Which taken slots go first when scaling down: those running nothing, in this order. */
const IDLE_FIRST: readonly SlotKind[] = ['finished', 'restart', 'replace'];

/**
 * Docker's choice of the live slots to keep when scaling down: number each
 * slot as the nth copy of the service on its node, counting running tasks
 * before the rest, and keep the lowest numbers. What goes is then taken from
 * the nodes holding the most copies, not-yet-running tasks first. Slots whose
 * node is unknown (pending, or two tasks mid-update) go before any of those.
 */
export function keepOrder(live: readonly Slot[]): Slot[] {
  const single = (s: Slot): TaskRecord | undefined => (s.report.live.length === 1 ? s.report.live[0] : undefined);
  const running = (s: Slot): number => (single(s)?.Status.State === 'running' ? 1 : 0);
  const byRunning = [...live].sort((a, b) => running(b) - running(a) || a.slot - b.slot);
  const perNode = new Map<string, number>();
  const ranked = byRunning.map((s) => {
    const node = single(s)?.NodeID;
    if (node === undefined || node === '') return { s, rank: Infinity };
    const n = (perNode.get(node) ?? 0) + 1;
    perNode.set(node, n);
    return { s, rank: n };
  });
  ranked.sort((a, b) => a.rank - b.rank || a.s.slot - b.s.slot);
  return ranked.map((r) => r.s);
}

export function reconcileReplicated(input: ServiceInput): ServicePlan {
  return planReplicated(input).plan;
}

/**
 * The plan, and the slot numbers the service goes on using once it is
 * carried out (the task reaper clears the history of all others).
 */
export function planReplicated(input: ServiceInput): { plan: ServicePlan; slotsInUse: Set<number> } {
  const { service, nodes, now } = input;
  const b = new PlanBuilder(service, now, input.newId);
  const generation = service.Internal.SpecVersion;
  const ctx = { job: false, generation, generationOf: (t: TaskRecord) => t.Internal.SpecVersion, nodes, stopOtherGenerations: false };

  const slots: Slot[] = [];
  for (const [slot, tasks] of groupBy(input.tasks, (t) => t.Slot ?? 0)) {
    if (slot < 1) {
      // Not a replica of this service (it cannot switch modes); it must not run.
      stopAll(b, tasks, false);
      continue;
    }
    slots.push({ slot, report: examineSlot(b, tasks, ctx) });
  }
  slots.sort((a, c) => a.slot - c.slot);

  const taken = slots.filter((s) => s.report.kind !== 'free');
  const replicas = replicasOf(service.Spec);
  const gone = new Set<Slot>();
  let excess = taken.length - replicas;
  if (excess > 0) {
    // Highest slot numbers go first among the idle ones, so the numbers in use stay low.
    for (const kind of IDLE_FIRST) {
      for (const s of [...taken].reverse()) {
        if (excess > 0 && s.report.kind === kind) {
          gone.add(s);
          excess--;
        }
      }
    }
    const order = keepOrder(taken.filter((s) => s.report.kind === 'live'));
    while (excess > 0 && order.length > 0) {
      const s = order.pop()!;
      for (const t of s.report.live) b.setDesired(t, 'shutdown');
      gone.add(s);
      excess--;
    }
  }

  for (const s of taken) {
    if (gone.has(s)) continue;
    if (s.report.kind === 'restart') b.create({ slot: s.slot, desired: restartDesired(b, false) });
    else if (s.report.kind === 'replace') b.create({ slot: s.slot, desired: 'running' });
  }

  const slotsInUse = new Set(taken.filter((s) => !gone.has(s)).map((s) => s.slot));
  let missing = replicas - taken.length;
  if (missing > 0) {
    const used = new Set(taken.map((s) => s.slot));
    for (let slot = 1; missing > 0; slot++) {
      if (used.has(slot)) continue;
      b.create({ slot, desired: 'running' });
      slotsInUse.add(slot);
      missing--;
    }
  }
  return { plan: b.result(), slotsInUse };
}
