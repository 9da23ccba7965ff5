// One slot's story, shared by every mode. A slot is a replica number
// (replicated modes) or a node (global modes); it holds the task meant to run
// there now plus its history. Examining a slot does the per-task work (stop
// tasks that ended, lost their node or broke their constraints; start
// restarted tasks whose delay ran out) and says what the slot needs next,
// which the mode then weighs against the service's size.
import type { TaskRecord } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';
import { type NodeLookup, nodeLost, violatesConstraints } from './nodes.js';
import type { PlanBuilder } from './plan.js';
import { endedOnItsOwn, type GenerationOf, isRunnable, restartPolicyOf, runCeiling, shouldRestart } from './restart.js';
import { byCreation, createdAt } from './times.js';

export type SlotKind =
  /** Something is meant to run there (and still can). */
  | 'live'
  /** Jobs: a task of this execution completed. */
  | 'done'
  /** Its task ended on its own and the restart policy asks for another. */
  | 'restart'
  /** Its task was stopped this round because its node was lost or no longer fits: a new one, at once. */
  | 'replace'
  /** Its task of the current generation ended on its own and the policy says no more: the slot is used up. */
  | 'finished'
  /** Nothing runs and nothing is owed: only history, or a slot the service gave up. */
  | 'free';

export interface SlotReport {
  kind: SlotKind;
  /** Tasks still meant to run after this round's stops (two during a start-first update). */
  live: TaskRecord[];
  /** All the slot's tasks, oldest first. */
  tasks: TaskRecord[];
}

export interface SlotContext {
  job: boolean;
  /** The service's current generation (spec version; job iteration for jobs). */
  generation: number;
  generationOf: GenerationOf;
  nodes: NodeLookup;
  /**
   * Jobs: tasks of an earlier execution are stopped. Services leave tasks of
   * an older spec running: replacing them is the updater's work.
   */
  stopOtherGenerations: boolean;
}

/** The better of two duplicates: further along, then older. */
function better(a: TaskRecord, b: TaskRecord): TaskRecord {
  const d = stateIndex(a.Status.State) - stateIndex(b.Status.State);
  if (d !== 0) return d > 0 ? a : b;
  return byCreation(a, b) <= 0 ? a : b;
}

export function examineSlot(b: PlanBuilder, slotTasks: readonly TaskRecord[], ctx: SlotContext): SlotReport {
  const { job, generation, generationOf, nodes } = ctx;
  const tasks = [...slotTasks].sort(byCreation);
  const done = job && tasks.some((t) => t.Status.State === 'complete' && generationOf(t) === generation);
  let lost = false;
  let live: TaskRecord[] = [];

  for (const t of tasks) {
    if (!isRunnable(t, job)) continue;
    if (isTerminal(t.Status.State)) {
      // A completed job task keeps desired "complete": that is its record of success.
      if (!(job && t.Status.State === 'complete')) b.setDesired(t, 'shutdown');
      continue;
    }
    if ((ctx.stopOtherGenerations && generationOf(t) !== generation) || done) {
      b.setDesired(t, 'shutdown');
      continue;
    }
    if (t.NodeID !== undefined && t.NodeID !== '') {
      const node = nodes.get(t.NodeID);
      if (node === undefined || nodeLost(node) || violatesConstraints(t, node)) {
        b.setDesired(t, 'shutdown');
        lost = true;
        continue;
      }
    }
    live.push(t);
  }

  // Two tasks of the current generation in one slot are never intended (an
  // update's start-first pairs differ in generation); they appear when a
  // proposal whose outcome was unknown committed after all. Keep one.
  const current = live.filter((t) => generationOf(t) === generation);
  if (current.length > 1) {
    const keep = current.reduce(better);
    for (const t of current) if (t !== keep) b.setDesired(t, 'shutdown');
    live = live.filter((t) => generationOf(t) !== generation || t === keep);
  }

  // Restarted tasks wait in desired "ready" until their delay, counted from creation, has passed.
  for (const t of live) {
    if (t.DesiredState !== 'ready') continue;
    const due = createdAt(t) + restartPolicyOf(t.Spec).delayMs;
    if (b.now >= due) b.setDesired(t, runCeiling(job));
    else b.wakeAt(due);
  }

  const report = (kind: SlotKind): SlotReport => ({ kind, live, tasks });
  if (done) return report('done');
  if (live.length > 0) return report('live');
  if (lost) return report('replace');
  const latest = tasks.at(-1);
  if (latest && endedOnItsOwn(latest, job)) {
    const sameGeneration = generationOf(latest) === generation;
    // A new job execution starts afresh: earlier executions' failures do not count.
    if (job && !sameGeneration) return report('free');
    if (shouldRestart(latest, tasks, generationOf, job)) return report('restart');
    return report(sameGeneration ? 'finished' : 'free');
  }
  return report('free');
}

/** Stop every task still meant to run (a completed job task is left as the record it is). */
export function stopAll(b: PlanBuilder, tasks: readonly TaskRecord[], job: boolean): void {
  for (const t of tasks) {
    if (isRunnable(t, job) && !(job && t.Status.State === 'complete')) b.setDesired(t, 'shutdown');
  }
}

/** Desired state for a task replacing one that ended: "ready" while a restart delay runs. */
export function restartDesired(b: PlanBuilder, job: boolean): 'ready' | 'running' | 'complete' {
  return restartPolicyOf(b.service.Spec.TaskTemplate).delayMs > 0 ? 'ready' : runCeiling(job);
}

/** Group tasks by a key, keeping the keys in first-seen order. */
export function groupBy<K>(tasks: readonly TaskRecord[], key: (t: TaskRecord) => K): Map<K, TaskRecord[]> {
  const m = new Map<K, TaskRecord[]>();
  for (const t of tasks) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}
