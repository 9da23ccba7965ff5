// The orchestrator as a control loop: keys are service IDs. A commit
// touching a service, one of its tasks, or a node one of its tasks runs on
// marks the service; node changes also mark every global service (a node
// joining, draining or changing labels changes where they run). A service ID
// with no service behind it is a deleted service whose tasks go to desired
// "remove". The first round after start (and after a snapshot restore) looks
// at everything, which also finds orphans left by an earlier leader.
import { newObjectId } from '../../shared/ids.js';
import type { StoreView } from '../store/memory-store.js';
import type { StoreEvent } from '../store/watch.js';
import { createReconcileLoop, type LoopOptions, type Planner, type ReconcileLoop, type Round, type TaskOp } from './loop.js';
import { isPerNodeMode, modeOf } from './mode.js';
import { nodeMap } from './nodes.js';
import type { ServicePlan } from './plan.js';
import { reconcileOrphans, reconcileService } from './reconcile.js';

export interface OrchestratorOptions extends LoopOptions {
  /** Task ID generator (tests and simulations pass a seeded one). */
  newId?: () => string;
}

export function planOps(plan: ServicePlan): TaskOp[] {
  return [...plan.updates.map((task) => ({ op: 'update' as const, task })), ...plan.creates.map((task) => ({ op: 'create' as const, task }))];
}

/** Every key worth a look after a restart: all services, and the service IDs of all tasks (deleted services among them). */
export function allServiceKeys(view: StoreView): Set<string> {
  const keys = new Set<string>();
  for (const s of view.list('services')) keys.add(s.ID);
  for (const t of view.list('tasks')) keys.add(t.ServiceID);
  return keys;
}

export function orchestratorPlanner(newId: () => string = () => newObjectId()): Planner {
  return {
    collect(events: readonly StoreEvent[], view: StoreView, dirty: Set<string>): boolean {
      let nodesChanged = false;
      for (const e of events) {
        switch (e.table) {
          case 'services':
            dirty.add(e.object.ID);
            break;
          case 'tasks':
            dirty.add(e.object.ServiceID);
            break;
          case 'nodes':
            nodesChanged = true;
            for (const t of view.find('tasks', 'node', e.object.ID)) dirty.add(t.ServiceID);
            break;
          default:
            break;
        }
      }
      if (nodesChanged) for (const s of view.list('services')) if (isPerNodeMode(modeOf(s.Spec))) dirty.add(s.ID);
      return false;
    },

    plan(view: StoreView, keys: ReadonlySet<string> | undefined, now: number): Round {
      const nodes = nodeMap(view.list('nodes'));
      const examined = [...(keys ?? allServiceKeys(view))].sort();
      const round: Round = { work: [], examined, wakeups: new Map() };
      for (const key of examined) {
        const service = view.get('services', key);
        const tasks = view.find('tasks', 'service', key);
        const plan = service ? reconcileService({ service, tasks, nodes, now, newId }) : reconcileOrphans(tasks);
        const ops = planOps(plan);
        if (ops.length > 0) round.work.push({ key, ops });
        if (plan.wakeAt !== undefined) round.wakeups.set(key, plan.wakeAt);
      }
      return round;
    },
  };
}

/** The orchestrator loop for replicated, global, replicated-job and global-job services. */
export function createOrchestrator(opts: OrchestratorOptions = {}): ReconcileLoop {
  return createReconcileLoop('orchestrator', orchestratorPlanner(opts.newId), opts);
}
