// What one reconcile step decides for one service: tasks to create, tasks
// whose desired state moves forward, and when to look again (a restart delay
// running out). Pure data; the loop turns it into store transactions.
import type { ServiceRecord, TaskRecord, TaskState } from '../../shared/model/index.js';
import { stateIndex } from '../../shared/model/task-states.js';
import type { Draft } from '../store/transaction.js';
import { formatTime } from '../store/transaction.js';

export type TaskDraft = Draft<TaskRecord>;

export interface ServicePlan {
  creates: TaskDraft[];
  /** Copies of tasks as read (Version included, so the write is checked against it) with a new DesiredState. */
  updates: TaskRecord[];
  /** Clock time (ms) at which this service needs another look, if any. */
  wakeAt?: number;
}

export function emptyPlan(): ServicePlan {
  return { creates: [], updates: [] };
}

/** Where a new task goes. */
export interface NewTaskPlace {
  /** Replicated modes: 1..n. Global modes: 0. */
  slot: number;
  /** Global modes: the node the task is made for. */
  nodeId?: string;
  desired: TaskState;
  /** Job modes: the execution the task belongs to. */
  jobIteration?: number;
}

/**
 * docs/task-lifecycle.md, "create": the fields the orchestrator writes.
 * `now` is the clock in ms or, to spare formatting it for every task of a
 * large batch, the timestamp already formatted.
 */
export function newTask(service: ServiceRecord, place: NewTaskPlace, id: string, now: number | string): TaskDraft {
  const name = service.Spec.Name ?? service.ID;
  const draft: TaskDraft = {
    ID: id,
    Name: place.nodeId !== undefined ? `${name}.${place.nodeId}` : `${name}.${place.slot}`,
    ServiceID: service.ID,
    Slot: place.slot,
    // The template is frozen in the store and never edited, so sharing it costs nothing.
    Spec: service.Spec.TaskTemplate,
    Status: { Timestamp: typeof now === 'string' ? now : formatTime(now), State: 'pending', Message: 'pending task scheduling' },
    DesiredState: place.desired,
    Internal: { SpecVersion: service.Internal.SpecVersion },
  };
  if (place.nodeId !== undefined) draft.NodeID = place.nodeId;
  if (place.jobIteration !== undefined) draft.JobIteration = { Index: place.jobIteration };
  return draft;
}

/** Collects one service's decisions. Desired states only ever move forward here, as the lifecycle demands. */
export class PlanBuilder {
  private readonly creates: TaskDraft[] = [];
  private readonly changed = new Map<string, TaskRecord>();
  private wake: number | undefined;
  private stamp: string | undefined;

  constructor(
    readonly service: ServiceRecord,
    readonly now: number,
    private readonly newId: () => string,
  ) {}

  /** The task's desired state including this round's decisions. */
  desiredOf(t: TaskRecord): TaskState {
    return (this.changed.get(t.ID) ?? t).DesiredState;
  }

  /** Move the task's desired state to `state` unless it is already there or beyond. */
  setDesired(t: TaskRecord, state: TaskState): void {
    const current = this.desiredOf(t);
    if (stateIndex(state) <= stateIndex(current)) return;
    this.changed.set(t.ID, { ...(this.changed.get(t.ID) ?? t), DesiredState: state });
  }

  create(place: NewTaskPlace): TaskDraft {
    this.stamp ??= formatTime(this.now);
    const draft = newTask(this.service, place, this.newId(), this.stamp);
    this.creates.push(draft);
    return draft;
  }

  wakeAt(at: number): void {
    if (this.wake === undefined || at < this.wake) this.wake = at;
  }

  result(): ServicePlan {
    const plan: ServicePlan = { creates: this.creates, updates: [...this.changed.values()] };
    if (this.wake !== undefined) plan.wakeAt = this.wake;
    return plan;
  }
}
