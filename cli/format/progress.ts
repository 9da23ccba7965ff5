// Convergence progress of `service create|update|scale|rollback` without
// --detach, as the docker CLI shows it (cli/command/service/progress and
// jsonmessage's display). Pure: the command polls the daemon and feeds what it
// read to a ConvergenceWatch, which emits docker's progress records; a
// ProgressRenderer turns those into terminal text.
//
//   overall progress: 2 out of 3 tasks
//   1/3: running   [==================================================>]
//   2/3: running   [==================================================>]
//   3/3: preparing [=================================>                 ]
//   verify: Waiting 5 seconds to verify that tasks are stable...

import type { Service, Task } from '../../shared/model/index.js';

/** docker's progress.Progress: a line keyed by ID; Message lines carry no bar. */
export interface ProgressRecord {
  id: string;
  action?: string;
  message?: string;
  current?: number;
  total?: number;
}

export type Emit = (p: ProgressRecord) => void;

const NUMBERED_STATES: Readonly<Record<string, number>> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  // Not shown, but ordered: complete and the failures end a task.
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};

const numbered = (state: string): number => NUMBERED_STATES[state] ?? 0;
const terminal = (state: string): boolean => numbered(state) > numbered('running');
/** The longest state shown ("allocated", "preparing"): state names are padded to it. */
const LONGEST_STATE = 9;
const MAX_PROGRESS = 9;
const MAX_JOB_PROGRESS = 10;
/** More tasks than this get only the overall line. */
const MAX_PROGRESS_BARS = 20;

const padState = (state: string): string => state.padEnd(LONGEST_STATE);

/** Newlines break the display; long errors are cut to fit narrow terminals. */
export function truncError(message: string): string {
  const flat = message.replaceAll('\n', ' ');
  return flat.length > 75 ? `${flat.slice(0, 74)}…` : flat;
}

function overall(emit: Emit, done: number, total: number, rollback: boolean): void {
  emit({ id: 'overall progress', action: rollback ? `rolling back update: ${done} out of ${total} tasks` : `${done} out of ${total} tasks` });
}

interface Updater {
  /** True once the service has converged. */
  update(service: Service, tasks: readonly Task[], activeNodes: ReadonlySet<string>, rollback: boolean): boolean;
}

/**
 * Of several tasks in one slot (or on one node), the one with the lowest
 * desired state counts, ties broken by the lower observed state (restarts,
 * start-first updates).
 */
function pickLowest<K>(tasks: readonly Task[], key: (t: Task) => K, skip: (t: Task) => boolean = () => false): Map<K, Task> {
  const out = new Map<K, Task>();
  for (const t of tasks) {
    if (numbered(t.DesiredState) === 0 || numbered(t.Status.State) === 0) continue;
    const existing = out.get(key(t));
    if (existing !== undefined) {
      if (numbered(existing.DesiredState) < numbered(t.DesiredState)) continue;
      if (numbered(existing.DesiredState) === numbered(t.DesiredState) && numbered(existing.Status.State) <= numbered(t.Status.State)) continue;
    }
    if (skip(t)) continue;
    out.set(key(t), t);
  }
  return out;
}

function taskLine(emit: Emit, id: string, t: Task, max: number): void {
  if (t.Status.Err) emit({ id, action: truncError(t.Status.Err) });
  else emit({ id, action: padState(t.Status.State), current: numbered(t.Status.State), total: max });
}

class ReplicatedUpdater implements Updater {
  private slotMap = new Map<number, number>();
  private initialized = false;
  private done = false;

  constructor(private readonly emit: Emit) {}

  update(service: Service, tasks: readonly Task[], activeNodes: ReadonlySet<string>, rollback: boolean): boolean {
    const replicas = service.Spec.Mode?.Replicated?.Replicas ?? 1;
    if (!this.initialized) {
      overall(this.emit, 0, replicas, rollback);
      if (replicas <= MAX_PROGRESS_BARS) for (let i = 1; i <= replicas; i++) this.emit({ id: `${i}/${replicas}`, action: ' ' });
      this.initialized = true;
    }
    const bySlot = pickLowest(tasks, (t) => t.Slot ?? 0, (t) => !!t.NodeID && !activeNodes.has(t.NodeID));
    if (this.done && [...bySlot.values()].some((t) => t.Status.State !== 'running')) this.done = false;
    let running = 0;
    for (const [slot, t] of [...bySlot].sort(([a], [b]) => a - b)) {
      let mapped = this.slotMap.get(slot);
      if (mapped === undefined) {
        mapped = this.slotMap.size + 1;
        this.slotMap.set(slot, mapped);
      }
      if (!terminal(t.DesiredState) && t.Status.State === 'running') running++;
      if (this.done || replicas > MAX_PROGRESS_BARS || mapped > replicas) continue;
      if (t.Status.Err || (!terminal(t.DesiredState) && !terminal(t.Status.State))) taskLine(this.emit, `${mapped}/${replicas}`, t, MAX_PROGRESS);
    }
    if (!this.done) {
      overall(this.emit, running, replicas, rollback);
      if (running === replicas) this.done = true;
    }
    return running === replicas;
  }
}

class GlobalUpdater implements Updater {
  private initialized = false;
  private done = false;

  constructor(private readonly emit: Emit) {}

  update(_service: Service, tasks: readonly Task[], activeNodes: ReadonlySet<string>, rollback: boolean): boolean {
    const byNode = pickLowest(tasks, (t) => t.NodeID ?? '');
    // The orchestrator makes the tasks of every eligible node at once: they say how many to expect.
    const nodeCount = byNode.size;
    if (!this.initialized) {
      if (nodeCount === 0) {
        this.emit({ id: 'overall progress', action: 'waiting for new tasks' });
        return false;
      }
      overall(this.emit, 0, nodeCount, rollback);
      this.initialized = true;
    }
    if (this.done && [...byNode.values()].some((t) => t.Status.State !== 'running')) this.done = false;
    let running = 0;
    for (const [node, t] of [...byNode].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!activeNodes.has(node)) continue;
      if (!terminal(t.DesiredState) && t.Status.State === 'running') running++;
      if (this.done || nodeCount > MAX_PROGRESS_BARS) continue;
      if (t.Status.Err || (!terminal(t.DesiredState) && !terminal(t.Status.State))) taskLine(this.emit, node.slice(0, 12), t, MAX_PROGRESS);
    }
    if (!this.done) {
      overall(this.emit, running, nodeCount, rollback);
      if (running === nodeCount) this.done = true;
    }
    return running === nodeCount;
  }
}

/** Padded like docker's "%*d", so the line does not jump as numbers grow. */
const padNum = (n: number, width: number): string => String(n).padStart(width);

class ReplicatedJobUpdater implements Updater {
  private initialized = false;
  private readonly concurrent: number;
  private readonly total: number;
  private readonly iteration: number | undefined;

  constructor(
    private readonly emit: Emit,
    service: Service,
  ) {
    const job = service.Spec.Mode?.ReplicatedJob;
    this.concurrent = job?.MaxConcurrent ?? 1;
    this.total = job?.TotalCompletions ?? this.concurrent;
    this.iteration = service.JobStatus?.JobIteration.Index;
  }

  private overall(active: number, completed: number): void {
    const digits = String(this.total).length;
    this.emit({ id: 'job progress', action: `${padNum(completed, digits)} out of ${this.total} complete`, current: completed, total: this.total });
    const desired = Math.min(this.total - completed, this.concurrent);
    const width = String(this.concurrent).length;
    this.emit({ id: 'active tasks', action: `${padNum(active, width)} out of ${padNum(desired, width)} tasks` });
  }

  update(_service: Service, tasks: readonly Task[]): boolean {
    if (!this.initialized) {
      this.overall(0, 0);
      if (this.total <= MAX_PROGRESS_BARS) for (let i = 1; i <= this.total; i++) this.emit({ id: `${i}/${this.total}`, action: ' ' });
      this.initialized = true;
    }
    const bySlot = new Map<number, Task>();
    for (const t of tasks) {
      if (this.iteration !== undefined && t.JobIteration?.Index !== this.iteration) continue;
      if (numbered(t.DesiredState) === 0 || numbered(t.Status.State) === 0) continue;
      const existing = bySlot.get(t.Slot ?? 0);
      if (existing === undefined || numbered(existing.Status.State) > numbered(t.Status.State)) bySlot.set(t.Slot ?? 0, t);
    }
    let active = 0;
    let complete = 0;
    for (const [slot, t] of [...bySlot].sort(([a], [b]) => a - b)) {
      // swarmkit numbers job slots from 0; the display from 1.
      if (this.total <= MAX_PROGRESS_BARS) taskLine(this.emit, `${slot + 1}/${this.total}`, t, MAX_JOB_PROGRESS);
      if (numbered(t.Status.State) < numbered('complete')) active++;
      if (t.Status.State === 'complete') complete++;
    }
    this.overall(active, complete);
    return complete === this.total;
  }
}

class GlobalJobUpdater implements Updater {
  private initialized = false;
  private total = 0;
  private nodes = new Set<string>();

  constructor(private readonly emit: Emit) {}

  private overall(complete: number): void {
    const digits = String(this.total).length;
    this.emit({ id: 'job progress', action: `${padNum(complete, digits)} out of ${this.total} complete`, current: complete, total: this.total });
  }

  update(service: Service, tasks: readonly Task[], activeNodes: ReadonlySet<string>): boolean {
    const iteration = service.JobStatus?.JobIteration.Index;
    const current = tasks.filter((t) => iteration === undefined || t.JobIteration?.Index === iteration);
    if (!this.initialized) {
      if (tasks.length === 0 && activeNodes.size !== 0) {
        this.emit({ id: 'job progress', action: 'waiting for tasks' });
        return false;
      }
      // The job's nodes are the ones it started on; nodes joining later are not waited for.
      this.nodes = new Set(current.map((t) => t.NodeID ?? ''));
      this.total = this.nodes.size;
      this.overall(0);
      this.initialized = true;
    }
    const byNode = new Map<string, Task>();
    for (const t of current) {
      const node = t.NodeID ?? '';
      if (!this.nodes.has(node)) continue;
      const existing = byNode.get(node);
      if (existing === undefined || numbered(existing.Status.State) > numbered(t.Status.State)) byNode.set(node, t);
    }
    let complete = 0;
    for (const [node, t] of [...byNode].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (this.total <= MAX_PROGRESS_BARS) taskLine(this.emit, node, t, MAX_JOB_PROGRESS);
      if (t.Status.State === 'complete') complete++;
    }
    this.overall(complete);
    return complete === this.total;
  }
}

function updaterFor(service: Service, emit: Emit): Updater {
  const m = service.Spec.Mode;
  if (m?.Replicated) return new ReplicatedUpdater(emit);
  if (m?.Global) return new GlobalUpdater(emit);
  if (m?.ReplicatedJob) return new ReplicatedJobUpdater(emit, service);
  if (m?.GlobalJob) return new GlobalJobUpdater(emit);
  throw new Error('unrecognized service mode');
}

export type WatchStep =
  /** Keep going: poll the tasks (after onService) or wait and poll again (after onTasks). */
  | { kind: 'continue' }
  | { kind: 'done' }
  /** Stop with this error (the update paused, or the rollback did). */
  | { kind: 'failed'; message: string };

const CONTINUE: WatchStep = { kind: 'continue' };
const DONE: WatchStep = { kind: 'done' };
const DEFAULT_MONITOR_MS = 5000;

/**
 * docker's ServiceProgress loop, one poll at a time. Each poll: onService
 * with the inspected service; unless that ends the watch, onTasks with its
 * up-to-date tasks (filters service=<id>, _up-to-date=true) and the IDs of
 * the nodes that are not down. `now` is epoch ms.
 */
export class ConvergenceWatch {
  private updater: Updater | undefined;
  private converged = false;
  private convergedAt: number | undefined;
  private monitorMs = DEFAULT_MONITOR_MS;
  private rollback = false;
  private finalMessage: ProgressRecord | undefined;

  constructor(
    private readonly serviceId: string,
    private readonly emit: Emit,
  ) {}

  onService(service: Service, now: number): WatchStep {
    const monitorNs = service.Spec.UpdateConfig?.Monitor ?? 0;
    if (monitorNs !== 0) this.monitorMs = monitorNs / 1e6;
    this.updater ??= updaterFor(service, this.emit);
    const status = service.UpdateStatus;
    switch (status?.State) {
      case 'updating':
        this.rollback = false;
        break;
      case 'completed':
        if (!this.converged) return DONE;
        break;
      case 'paused':
        return { kind: 'failed', message: `service update paused: ${status.Message ?? ''}` };
      case 'rollback_started':
        if (!this.rollback && status.Message) this.emit({ id: 'rollback', action: status.Message });
        this.rollback = true;
        break;
      case 'rollback_paused':
        return { kind: 'failed', message: `service rollback paused: ${status.Message ?? ''}` };
      case 'rollback_completed':
        if (!this.converged) this.finalMessage = { id: 'rollback', message: status.Message ?? '' };
        this.rollback = true;
        break;
      default:
        break;
    }
    if (this.converged && this.convergedAt !== undefined && now - this.convergedAt >= this.monitorMs) {
      this.emit({ id: 'verify', action: `Service ${this.serviceId} converged` });
      if (this.finalMessage) this.emit(this.finalMessage);
      return DONE;
    }
    return CONTINUE;
  }

  onTasks(service: Service, tasks: readonly Task[], activeNodes: ReadonlySet<string>, now: number): WatchStep {
    const updater = (this.updater ??= updaterFor(service, this.emit));
    this.converged = updater.update(service, tasks, activeNodes, this.rollback);
    if (this.converged) {
      // Jobs stay done once done: nothing to verify.
      if (service.JobStatus !== undefined) {
        this.emit({ id: '', message: 'job complete' });
        return DONE;
      }
      this.convergedAt ??= now;
      const wait = this.monitorMs - (now - this.convergedAt);
      if (wait >= 0) this.emit({ id: 'verify', action: `Waiting ${Math.max(1, Math.ceil(wait / 1000))} seconds to verify that tasks are stable...` });
    } else {
      if (this.convergedAt !== undefined) this.emit({ id: 'verify', action: 'Detected task failure' });
      this.convergedAt = undefined;
    }
    return CONTINUE;
  }
}

// --- rendering (jsonmessage.DisplayJSONMessagesStream) ----------------------------

/** JSONProgress.String(): a 50-wide bar on terminals wider than 110 columns; counts are hidden here. */
export function progressBar(current: number, total: number, width: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return '';
  const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  return width > 110 ? `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] ` : '';
}

const ESC = '\x1b[';

/**
 * Terminal text for progress records. On a terminal each ID keeps its line
 * and is redrawn in place (cursor up, clear line, cursor down), as docker
 * does. Elsewhere lines that would carry a bar are left out (docker: "disable
 * progressbar in non-terminal"), and a line is printed only when its text
 * changed, instead of docker's one copy per poll.
 */
export class ProgressRenderer {
  private ids = new Map<string, number>();
  private lastPlain = new Map<string, string>();

  constructor(
    private readonly tty: boolean,
    private readonly width: number,
  ) {}

  render(p: ProgressRecord): string {
    const hasProgress = p.message === undefined;
    const status = p.message ?? p.action ?? '';
    const bar = hasProgress ? progressBar(p.current ?? 0, p.total ?? 0, this.tty ? this.width : 200) : '';
    const prefix = p.id === '' ? '' : `${p.id}: `;
    if (!this.tty) {
      if (bar !== '') return '';
      const text = `${prefix}${status}`;
      if (p.id !== '' && this.lastPlain.get(p.id) === text) return '';
      if (p.id !== '') this.lastPlain.set(p.id, text);
      return `${text}\n`;
    }
    let out = '';
    let diff = 0;
    if (p.id !== '' && hasProgress) {
      let line = this.ids.get(p.id);
      if (line === undefined) {
        line = this.ids.size;
        this.ids.set(p.id, line);
        out += '\n';
      }
      diff = this.ids.size - line;
      if (diff > 0) out += `${ESC}${diff}A`;
    } else {
      // Anything that is not a progress line ends the block being redrawn.
      this.ids.clear();
    }
    if (hasProgress) out += `${ESC}2K\r${prefix}${status} ${bar}\r`;
    else out += `${prefix}${status}\n`;
    if (p.id !== '' && diff > 0) out += `${ESC}${diff}B`;
    return out;
  }
}
