// The worker agent: the tasks this node runs. It takes assignments from the
// session (a full set, then changes), keeps one TaskRunner per task, reports
// their status through a coalescing reporter, and keeps its task records in
// <data-root>/agent/tasks.json so that a restarted daemon picks its tasks up
// where they were: a task the executor still runs is re-attached, not started
// again; one that exited meanwhile is reported with its exit.
import type { NetworksMessage } from '../../shared/protocol/network-state.js';
import type { NetworkDataPlane } from '../network/types.js';
import { join } from 'node:path';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Task } from '../../shared/model/index.js';
import {
  parseTask,
  parseTaskStatus,
  REPORTABLE_STATES,
  TASK_HEALTH_STATES,
  type AssignmentsMessage,
  type TaskHealth,
  type TaskStatusReport,
} from '../../shared/protocol/dispatch.js';
import type { Executor } from '../executor/executor.js';
import { StateFile } from '../state-file.js';
import { StatusReporter, type StatusSink } from './reporter.js';
import { mayRun } from './task-fsm.js';
import { stopOptions, TaskRunner, type RunnerHost, type RunnerState } from './task-runner.js';

export interface AgentOptions {
  executor: Executor;
  /** Where tasks.json lives (<data-root>/agent). */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Reporter coalescing window (default 50 ms). */
  reportFlushMs?: number;
  /** Delay before retrying a failed stop or remove (default 1000 ms). */
  retryMs?: number;
  /** Tasks in one full assignment set at most (default 100000). */
  maxTasks?: number;
  /** The node's overlay networks (oci executor); without it, networks messages are ignored. */
  network?: NetworkDataPlane;
  /** How long a task on an overlay network stays up after it left the load balancers, before it is stopped (default 1000 ms). */
  drainMs?: number;
}

/** What the session hands the agent (AgentSession's SessionListener). */
export interface AssignmentListener {
  onConnected(): void;
  onAssignments(msg: AssignmentsMessage): void;
  onWritable(): void;
}

interface RecordsFile {
  version: 1;
  tasks: RunnerState[];
}

const REPORTABLE = new Set<string>(REPORTABLE_STATES);

export class Agent implements AssignmentListener {
  private readonly runners = new Map<string, TaskRunner>();
  private incoming: Map<string, Task> | undefined;
  private sink: StatusSink | undefined;
  private readonly reporter: StatusReporter;
  private readonly file: StateFile<RecordsFile>;
  private readonly host: RunnerHost;
  private readonly log: Logger;
  private orphansChecked = false;
  private closed = false;

  private constructor(private readonly o: AgentOptions) {
    this.log = o.logger;
    this.file = new StateFile(join(o.dataDir, 'tasks.json'), () => ({ version: 1, tasks: [...this.runners.values()].map((r) => r.snapshot()) }));
    this.reporter = new StatusReporter({
      clock: o.clock,
      report: (id) => this.report(id),
      sink: () => this.sink,
      ...(o.reportFlushMs !== undefined ? { flushMs: o.reportFlushMs } : {}),
    });
    this.host = {
      executor: o.executor,
      clock: o.clock,
      log: o.logger,
      retryMs: o.retryMs ?? 1000,
      drainMs: o.network !== undefined ? (o.drainMs ?? 1000) : 0,
      changed: (r) => {
        this.reporter.mark(r.id);
        this.save();
      },
      forget: (r) => {
        if (this.runners.get(r.id) === r) this.runners.delete(r.id);
        this.save();
      },
    };
  }

  /** Load the task records and resume every task in them. */
  static async open(o: AgentOptions): Promise<Agent> {
    const a = new Agent(o);
    let saved: unknown;
    try {
      saved = await a.file.load();
    } catch (err) {
      // Starting without records is recoverable: assignments bring the tasks back.
      a.log.error({ err }, 'task records unreadable; starting without them');
    }
    for (const rec of parseRecords(saved, a.log)) a.runners.set(rec.task.ID, new TaskRunner(a.host, rec));
    if (a.runners.size > 0) {
      const running = new Set(await o.executor.running());
      const alive = [...a.runners.values()].filter((r) => mayRun(r.state) && running.has(r.id)).length;
      a.log.info({ tasks: a.runners.size, running: alive }, 'resuming tasks from the local records');
    }
    for (const r of a.runners.values()) r.kick();
    return a;
  }

  /** Where reports go: the session while it is up, undefined otherwise. */
  setSink(sink: StatusSink | undefined): void {
    this.sink = sink;
    if (sink) this.reporter.flush();
  }

  /** A new session: any half-received full set belonged to the old one. */
  onConnected(): void {
    this.incoming = undefined;
    this.reporter.flush();
  }

  onWritable(): void {
    this.reporter.flush();
  }

  onNetworks(msg: NetworksMessage): void {
    if (this.closed || this.o.network === undefined) return;
    this.o.network.apply(msg).catch((err: unknown) => {
      this.log.error({ err: err instanceof Error ? err.message : String(err), networks: msg.networks.map((n) => n.name) }, 'could not set up the overlay networks; the next update from the manager tries again');
    });
  }

  onAssignments(msg: AssignmentsMessage): void {
    if (this.closed) return;
    if (!msg.full) {
      for (const t of msg.tasks) this.upsert(t, false);
      for (const id of msg.removed) this.runners.get(id)?.unassign();
      return;
    }
    const incoming = (this.incoming ??= new Map());
    const max = this.o.maxTasks ?? 100_000;
    for (const t of msg.tasks) {
      if (incoming.size >= max && !incoming.has(t.ID)) {
        this.log.error({ max }, 'assignment set larger than this agent accepts; extra tasks ignored');
        break;
      }
      incoming.set(t.ID, t);
    }
    if (!msg.last) return;
    this.incoming = undefined;
    for (const r of this.runners.values()) if (!incoming.has(r.id)) r.unassign();
    for (const t of incoming.values()) this.upsert(t, true);
    if (!this.orphansChecked) {
      this.orphansChecked = true;
      void this.removeOrphans();
    }
  }

  /** The tasks as this agent sees them (tests, debugging). */
  tasks(): RunnerState[] {
    return [...this.runners.values()].map((r) => r.snapshot());
  }

  /** Stop the agent; tasks keep running for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    this.reporter.stop();
    for (const r of this.runners.values()) r.close();
    await this.file.flush().catch((err: unknown) => this.log.warn({ err }, 'could not save the task records'));
  }

  /** The node leaves the swarm: every task is stopped and removed, and the records go. */
  async leave(): Promise<void> {
    this.closed = true;
    this.reporter.stop();
    const runners = [...this.runners.values()];
    for (const r of runners) r.close();
    const x = this.o.executor;
    const ids = new Set(runners.map((r) => r.id));
    const tasks = [...runners.map((r) => r.task), ...(await x.running().catch(() => [])).filter((id) => !ids.has(id)).map(orphanTask)];
    await Promise.all(
      tasks.map(async (t) => {
        try {
          await x.stop(t, stopOptions(t));
          await x.remove(t);
        } catch (err) {
          this.log.warn({ task: t.ID, err }, 'could not remove a task while leaving');
        }
      }),
    );
    this.runners.clear();
    await this.file.remove().catch(() => undefined);
  }

  private upsert(t: Task, full: boolean): void {
    const r = this.runners.get(t.ID);
    if (r === undefined) {
      const fresh = new TaskRunner(this.host, { task: t, status: t.Status, assigned: true, removed: false });
      this.runners.set(t.ID, fresh);
      this.save();
      fresh.kick();
      return;
    }
    r.assign(t);
    // After a (re)connect the store may have missed reports (the old leader
    // died with them): whatever differs is reported again.
    if (full && (r.state !== t.Status.State || r.health !== undefined)) this.reporter.mark(r.id);
  }

  private report(id: string): TaskStatusReport | undefined {
    const r = this.runners.get(id);
    if (r === undefined || !REPORTABLE.has(r.state)) return undefined;
    const rep: TaskStatusReport = { taskId: id, status: r.status };
    if (r.health !== undefined) rep.health = r.health;
    return rep;
  }

  /** Processes the executor runs for tasks nobody assigned (deleted while this daemon was down). */
  private async removeOrphans(): Promise<void> {
    const x = this.o.executor;
    for (const id of await x.running().catch(() => [])) {
      if (this.runners.has(id) || this.closed) continue;
      this.log.info({ task: id }, 'removing a task that is no longer assigned to this node');
      const t = orphanTask(id);
      try {
        await x.stop(t, stopOptions(t));
        await x.remove(t);
      } catch (err) {
        this.log.warn({ task: id, err }, 'could not remove an unassigned task');
      }
    }
  }

  private save(): void {
    if (this.closed) return;
    this.file.save().catch((err: unknown) => this.log.error({ err }, 'could not save the task records'));
  }
}

/** A stand-in for a task known only by its ID (its record is gone): enough to stop and remove it. */
function orphanTask(id: string): Task {
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: '',
    Spec: {},
    Status: { Timestamp: '', State: 'orphaned', Message: '' },
    DesiredState: 'remove',
  };
}

function parseRecords(saved: unknown, log: Logger): RunnerState[] {
  if (saved === undefined) return [];
  const list = (saved as { tasks?: unknown }).tasks;
  if (!Array.isArray(list)) {
    log.error('task records have no task list; starting without them');
    return [];
  }
  const out: RunnerState[] = [];
  for (const raw of list) {
    try {
      const o = raw as Record<string, unknown>;
      const rec: RunnerState = {
        task: parseTask(o['task']),
        status: parseTaskStatus(o['status'], 'status'),
        assigned: o['assigned'] !== false,
        removed: o['removed'] === true,
      };
      const h = o['health'];
      if (typeof h === 'string' && (TASK_HEALTH_STATES as readonly string[]).includes(h)) rec.health = h as TaskHealth;
      out.push(rec);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'skipping an unreadable task record');
    }
  }
  return out;
}
