// The task reaper as a control loop: keys are service IDs, as for the
// orchestrator. A change of the cluster's TaskHistoryRetentionLimit makes it
// look at everything.
import type { StoreView } from '../store/memory-store.js';
import type { StoreEvent } from '../store/watch.js';
import { createReconcileLoop, type LoopOptions, type Planner, type ReconcileLoop, type Round } from './loop.js';
import { nodeMap } from './nodes.js';
import { allServiceKeys } from './orchestrator.js';
import { DEFAULT_RETENTION_LIMIT, planReap } from './reaper.js';

export function retentionLimitOf(view: StoreView): number {
  const v = view.list('cluster')[0]?.Spec.Orchestration?.TaskHistoryRetentionLimit;
  return v !== undefined && Number.isFinite(v) ? Math.trunc(v) : DEFAULT_RETENTION_LIMIT;
}

export function reaperPlanner(): Planner {
  return {
    collect(events: readonly StoreEvent[], view: StoreView, dirty: Set<string>): boolean {
      let everything = false;
      for (const e of events) {
        switch (e.table) {
          case 'services':
            dirty.add(e.object.ID);
            break;
          case 'tasks':
            dirty.add(e.object.ServiceID);
            break;
          case 'nodes':
            // Tasks to remove on a node that went down or away; global history of a removed node.
            for (const t of view.find('tasks', 'node', e.object.ID)) dirty.add(t.ServiceID);
            break;
          case 'cluster': {
            const before = e.kind === 'update' ? e.previous.Spec.Orchestration?.TaskHistoryRetentionLimit : undefined;
            if (e.kind !== 'update' || before !== e.object.Spec.Orchestration?.TaskHistoryRetentionLimit) everything = true;
            break;
          }
        }
      }
      return everything;
    },

    plan(view: StoreView, keys: ReadonlySet<string> | undefined, now: number): Round {
      const nodes = nodeMap(view.list('nodes'));
      const retentionLimit = retentionLimitOf(view);
      const examined = [...(keys ?? allServiceKeys(view))].sort();
      const round: Round = { work: [], examined, wakeups: new Map() };
      for (const key of examined) {
        const doomed = planReap({ service: view.get('services', key), tasks: view.find('tasks', 'service', key), nodes, retentionLimit, now });
        if (doomed.length > 0) round.work.push({ key, ops: doomed.map((task) => ({ op: 'delete' as const, task })) });
      }
      return round;
    },
  };
}

/** Deletes task history beyond the retention limit and the tasks of deleted services. */
export function createTaskReaper(opts: LoopOptions = {}): ReconcileLoop {
  return createReconcileLoop('task-reaper', reaperPlanner(), { debounceMs: 100, ...opts });
}
