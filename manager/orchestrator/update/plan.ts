// The updater's decisions, as a pure function: one service, its tasks and
// the time in; the writes to propose and the time to look again out. No
// clock, no store, no memory between calls: everything an update needs to
// continue is in the store (task generations, states and write times, the
// service's UpdateStatus), so a new leader continues where the old one was.
//
// How swarmkit's updater (a pool of Parallelism workers, each replacing a
// slot, waiting for its new task to come up, then sleeping Delay) maps onto
// stored facts:
//   - a slot's "attempt" is a task of the service's current generation;
//   - a worker is busy while its slot's attempt is neither up nor failed
//     (in flight), and for Delay after it came up or failed;
//   - the update completes Delay + Monitor after the last slot finished
//     (swarmkit: the last worker's delay, then one more Monitor);
//   - a failure is an attempt that failed, or went unhealthy, before it had
//     been up for Monitor. The ratio counts failed slots, not failed tasks,
//     so the orchestrator restarting one bad slot does not count many times.
import type { ServiceRecord, TaskRecord } from '../../../shared/model/index.js';
import type { Draft } from '../../store/transaction.js';
import { configFor, type RolloutConfig } from './config.js';
import { newTask } from '../plan.js';
import { completeUpdate, isActive, isRollingBack, pauseUpdate, rollBack, startUpdate } from './status.js';
import { isFailure, isLive, isTaskDirty, isUp, type ServiceKind, serviceKind, slotKey } from './tasks.js';
import { parseTime } from './time.js';

export interface UpdateInput {
  service: ServiceRecord;
  /** Every task of the service, terminal ones too: failures are counted from them. */
  tasks: readonly TaskRecord[];
  /** The leader's clock, ms. */
  now: number;
  /** IDs for replacement tasks (injected so that plans are reproducible). */
  newId: () => string;
  /** Global services: nodes that may run a task now (ready and active). Absent: every node may. */
  eligibleNodes?: ReadonlySet<string>;
  /**
   * When tasks were first seen up (ms), where known. A live task that is up
   * and missing here counts as up since its UpdatedAt (its last write, so
   * never earlier than the truth). A failed task missing here is taken to
   * have failed before it had been up for Monitor.
   */
  upSince?: ReadonlyMap<string, number>;
}

export interface UpdateStep {
  /** Slot number (replicated) or node ID (global). */
  slot: string;
  /** The replacement task, if this step makes one. */
  create?: Draft<TaskRecord>;
  /** Tasks to set to DesiredState shutdown, in the same transaction as `create`. */
  shutdown: TaskRecord[];
}

export type UpdateOutcome = 'started' | 'completed' | 'paused' | 'rolled_back';

export interface UpdatePlan {
  /** The service to write (against the input's Version) when its UpdateStatus or Spec changes. */
  service?: Draft<ServiceRecord>;
  steps: UpdateStep[];
  /** When waiting (Delay, Monitor) ends and the plan may change without any commit. */
  wakeAt?: number;
  /** What the service write means, for logs. */
  outcome?: UpdateOutcome;
}

interface SlotView {
  key: string;
  tasks: TaskRecord[];
  live: TaskRecord[];
  /** Live tasks that need replacing. */
  stale: TaskRecord[];
  /** Live tasks that do not. */
  fresh: TaskRecord[];
  /** Tasks of the current generation that tell how this rollout went in the slot. */
  attempts: TaskRecord[];
  /** When the slot's first attempt came up or failed. */
  finishedAt: number | undefined;
  /** An attempt is on its way up. */
  inFlight: boolean;
}

/** The store stamps UpdatedAt on every write; a malformed one reads as "long ago". */
function writtenAt(task: TaskRecord): number {
  return parseTime(task.UpdatedAt) ?? 0;
}

function compareSlots(kind: ServiceKind): (a: string, b: string) => number {
  if (kind === 'global') return (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return (a, b) => Number(a) - Number(b);
}

function groupBySlot(kind: ServiceKind, tasks: readonly TaskRecord[]): Map<string, TaskRecord[]> {
  const slots = new Map<string, TaskRecord[]>();
  for (const t of tasks) {
    const key = slotKey(kind, t);
    // A global task without a node was never placed anywhere to update.
    if (kind === 'global' && key === '') continue;
    const list = slots.get(key);
    if (list) list.push(t);
    else slots.set(key, [t]);
  }
  return slots;
}

class Planner {
  private readonly kind: ServiceKind;
  private readonly version: number;
  private readonly upSince: ReadonlyMap<string, number>;

  constructor(private readonly input: UpdateInput) {
    this.kind = serviceKind(input.service);
    this.version = input.service.Internal.SpecVersion;
    this.upSince = input.upSince ?? new Map();
  }

  private upAt(t: TaskRecord): number {
    return this.upSince.get(t.ID) ?? writtenAt(t);
  }

  /** When the attempt stopped holding a worker: it came up, or it failed. */
  private finishedAt(t: TaskRecord): number | undefined {
    if (isUp(t)) return this.upAt(t);
    const known = this.upSince.get(t.ID);
    if (known !== undefined) return known;
    return isFailure(t) ? writtenAt(t) : undefined;
  }

  private isAttempt(t: TaskRecord, startedAt: number | undefined): boolean {
    if (t.Internal.SpecVersion !== this.version) return false;
    if (isLive(t)) return true;
    if (!isFailure(t) && !this.upSince.has(t.ID)) return false;
    // Ended before this rollout (re)started: an earlier run's business, as
    // when `service update` resumes a paused update without a new spec.
    return startedAt === undefined || writtenAt(t) >= startedAt;
  }

  private view(key: string, tasks: TaskRecord[], startedAt: number | undefined): SlotView {
    const { service } = this.input;
    const live = tasks.filter(isLive);
    const stale = live.filter((t) => isTaskDirty(service, t));
    const fresh = live.filter((t) => !isTaskDirty(service, t));
    const attempts = tasks.filter((t) => this.isAttempt(t, startedAt));
    let finishedAt: number | undefined;
    for (const t of attempts) {
      const f = this.finishedAt(t);
      if (f !== undefined && (finishedAt === undefined || f < finishedAt)) finishedAt = f;
    }
    const inFlight = finishedAt === undefined && attempts.some(isLive);
    return { key, tasks, live, stale, fresh, attempts, finishedAt, inFlight };
  }

  /**
   * A slot with a task that is up and needs no replacing, beside tasks of
   * older generations: the replacement is done (start-first), so those go.
   * Runs in every update state: it never lowers the number of tasks up.
   * Duplicates of the current generation are the orchestrator's to settle
   * (it keeps the one furthest along), so they are never touched here.
   */
  private cleanup(slot: SlotView): UpdateStep | undefined {
    if (slot.live.length < 2) return undefined;
    const up = slot.fresh.filter(isUp);
    if (up.length === 0) return undefined;
    const keep = up.find((t) => t.Internal.SpecVersion === this.version) ?? up[0]!;
    const shutdown = slot.live.filter((t) => t !== keep && t.Internal.SpecVersion !== this.version);
    return shutdown.length > 0 ? { slot: slot.key, shutdown } : undefined;
  }

  private eligible(slot: SlotView): boolean {
    const nodes = this.input.eligibleNodes;
    return this.kind !== 'global' || nodes === undefined || nodes.has(slot.key);
  }

  /** Never touched in this rollout and still running an old spec. */
  private isPending(slot: SlotView): boolean {
    return slot.stale.length > 0 && slot.fresh.length === 0 && slot.attempts.length === 0 && this.eligible(slot);
  }

  /** The failed slots' count over the slots this rollout covers exceeds MaxFailureRatio: the task that tipped it. */
  private failureTrigger(slots: readonly SlotView[], cfg: RolloutConfig): TaskRecord | undefined {
    if (cfg.failureAction === 'continue') return undefined;
    const failed: TaskRecord[] = [];
    const failedSlots = new Set<string>();
    let covered = 0;
    for (const s of slots) {
      if (s.stale.length > 0 || s.attempts.length > 0) covered++;
      for (const t of s.attempts) {
        if (!isFailure(t)) continue;
        const at = writtenAt(t);
        const up = this.upSince.get(t.ID);
        // Up for longer than Monitor before it failed: it proved itself.
        if (up !== undefined && at - up > cfg.monitorMs) continue;
        failed.push(t);
        failedSlots.add(s.key);
      }
    }
    if (failed.length === 0 || failedSlots.size / Math.max(1, covered) <= cfg.maxFailureRatio) return undefined;
    failed.sort((a, b) => writtenAt(b) - writtenAt(a) || (a.ID < b.ID ? -1 : 1));
    return failed[0];
  }

  plan(): UpdatePlan {
    const { service, now } = this.input;
    if (this.kind === 'job') return { steps: [] };
    const status = service.UpdateStatus;
    let startedAt = parseTime(status?.StartedAt);
    const grouped = groupBySlot(this.kind, this.input.tasks);
    const keys = [...grouped.keys()].sort(compareSlots(this.kind));
    let slots = keys.map((k) => this.view(k, grouped.get(k)!, startedAt));

    const steps: UpdateStep[] = [];
    for (const s of slots) {
      const step = this.cleanup(s);
      if (step) steps.push(step);
    }
    if (status?.State === 'paused' || status?.State === 'rollback_paused') return { steps };

    let serviceDraft: Draft<ServiceRecord> | undefined;
    let outcome: UpdateOutcome | undefined;
    if (!isActive(status)) {
      // Nothing announced this rollout (or an earlier one finished): start
      // one if some slot runs an old spec, as swarmkit's startUpdate does.
      if (!slots.some((s) => this.isPending(s))) return { steps };
      serviceDraft = startUpdate(service, now);
      outcome = 'started';
      startedAt = now;
      slots = keys.map((k) => this.view(k, grouped.get(k)!, startedAt));
    }

    const cfg = configFor(service.Spec, isRollingBack(status));
    const tipped = serviceDraft === undefined ? this.failureTrigger(slots, cfg) : undefined;
    if (tipped) return this.onFailure(tipped, cfg, steps);

    const pending = slots.filter((s) => this.isPending(s));
    const busy = slots.filter((s) => s.inFlight || (s.finishedAt !== undefined && now < s.finishedAt + cfg.delayMs)).length;
    const capacity = Math.max(0, cfg.parallelism - busy);
    for (const s of pending.slice(0, capacity)) {
      // Made as the orchestrator makes tasks (docs/task-lifecycle.md, "create"), desired
      // running at once: the scheduler counts a stop-first old task until it
      // stops, so a replacement on the same node waits for room there.
      const place = this.kind === 'global' ? { slot: 0, nodeId: s.key, desired: 'running' as const } : { slot: Number(s.key), desired: 'running' as const };
      const create = newTask(service, place, this.input.newId(), now);
      steps.push({ slot: s.key, create, shutdown: cfg.order === 'stop-first' ? s.live : [] });
    }

    const wake: number[] = [];
    for (const s of slots) if (s.finishedAt !== undefined && s.finishedAt + cfg.delayMs > now) wake.push(s.finishedAt + cfg.delayMs);
    if (pending.length === 0 && !slots.some((s) => s.inFlight)) {
      let last: number | undefined;
      for (const s of slots) if (s.finishedAt !== undefined && (last === undefined || s.finishedAt > last)) last = s.finishedAt;
      const completeAt = last === undefined ? now : last + cfg.delayMs + cfg.monitorMs;
      // (Not reached in the round that starts a rollout: that one has pending slots.)
      if (now >= completeAt) return { service: completeUpdate(service, now), steps, outcome: 'completed' };
      wake.push(completeAt);
    }
    const plan: UpdatePlan = { steps };
    if (serviceDraft) plan.service = serviceDraft;
    if (outcome) plan.outcome = outcome;
    if (wake.length > 0) plan.wakeAt = Math.min(...wake);
    return plan;
  }

  private onFailure(task: TaskRecord, cfg: RolloutConfig, steps: UpdateStep[]): UpdatePlan {
    const { service } = this.input;
    // Never roll back a rollback: a failing rollback pauses (rollback_paused).
    if (cfg.failureAction === 'rollback' && service.UpdateStatus?.State === 'updating') {
      const back = rollBack(service, task.ID);
      if (back) return { service: back, steps, outcome: 'rolled_back' };
    }
    return { service: pauseUpdate(service, task.ID), steps, outcome: 'paused' };
  }
}

/** What the updater should do about one service now. Pure. */
export function planUpdate(input: UpdateInput): UpdatePlan {
  return new Planner(input).plan();
}
