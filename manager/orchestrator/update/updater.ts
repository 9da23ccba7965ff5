// The updater's shell: runs planUpdate for services whose tasks or spec
// changed (store commits are the hint, debounced so a burst costs one round)
// or whose Delay/Monitor wait ended (a clock timer), and proposes each
// service's plan as versioned transactions. A conflict means someone else
// moved first; the service is simply planned again in the next round.
//
// The only memory kept here is a cache: when tasks were first seen up, which
// makes the Monitor window of a task that has since failed exact. A new
// leader starts without it and counts such failures (see UpdateInput.upSince).
import { type Cancel } from '../../../shared/clock.js';
import { ConflictError, NotFoundError } from '../../../shared/errors.js';
import { newObjectId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { NodeRecord, ServiceRecord, TaskRecord } from '../../../shared/model/index.js';
import type { ControlLoop, LeaderContext } from '../../control-loop.js';
import type { CommitEvent } from '../../store/memory-store.js';
import { MAX_OPS } from '../../store/transaction.js';
import type { Tx } from '../../store/tx-builder.js';
import type { ResetEvent } from '../../store/watch.js';
import { compiledConstraints, nodeMatches } from '../constraints.js';
import { nodeAcceptsTasks } from '../nodes.js';
import { planUpdate, type UpdateInput, type UpdatePlan, type UpdateStep } from './plan.js';
import { isUp, serviceKind } from './tasks.js';
import { parseTime } from './time.js';

export interface UpdaterOptions {
  /** Quiet time after a commit before a round runs (default 20 ms). */
  debounceMs?: number;
  /** Wait after a proposal failed for another reason than a conflict: no leader, timeout (default 1 s). */
  retryMs?: number;
  /** Task IDs (default: random, swarmkit-shaped). */
  newId?: () => string;
  /** Per-proposal timeout passed to the store. */
  proposalTimeoutMs?: number;
}

export interface Updater extends ControlLoop {
  /** Resolves when no round is running: with a ManualClock, advance the clock, then await idle(). */
  idle(): Promise<void>;
}

const DEFAULT_DEBOUNCE_MS = 20;
const DEFAULT_RETRY_MS = 1_000;
/** Ops per transaction, below the store's limit; one slot's step is never split. */
const OPS_PER_TX = Math.floor(MAX_OPS / 2);

/** One leadership term: created by start(), closed by stop(). */
class Session {
  private readonly log: Logger;
  private readonly unsubscribe: () => void;
  /** Services to plan in the next round; `all` plans every service. */
  private marked = new Set<string>();
  private all = true;
  /** Per service, when its plan asked to be looked at again. */
  private readonly wakeups = new Map<string, number>();
  private roundTimer: { at: number; cancel: Cancel } | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Task ID → when it was first seen up (ms). */
  private readonly upSince = new Map<string, number>();

  constructor(
    private readonly ctx: LeaderContext,
    private readonly opts: Required<Omit<UpdaterOptions, 'proposalTimeoutMs'>> & Pick<UpdaterOptions, 'proposalTimeoutMs'>,
  ) {
    this.log = ctx.log.child({ loop: 'updater' });
    this.scanUp();
    this.unsubscribe = ctx.memory.onCommit((e) => this.onCommit(e));
    this.schedule(ctx.clock.now());
  }

  /** Resolves once the round in progress (if any) is over. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.roundTimer?.cancel();
    this.roundTimer = undefined;
    await this.idle();
  }

  private noteUp(task: TaskRecord): void {
    if (!this.upSince.has(task.ID) && isUp(task)) this.upSince.set(task.ID, parseTime(task.UpdatedAt) ?? this.ctx.clock.now());
  }

  private scanUp(): void {
    this.upSince.clear();
    for (const t of this.ctx.memory.list('tasks')) this.noteUp(t);
  }

  private onCommit(e: CommitEvent | ResetEvent): void {
    if (this.closed) return;
    if (e.kind === 'reset') {
      this.scanUp();
      this.all = true;
    } else {
      for (const ev of e.events) {
        if (ev.table === 'tasks') {
          this.marked.add(ev.object.ServiceID);
          if (ev.kind === 'delete') this.upSince.delete(ev.object.ID);
          else this.noteUp(ev.object);
        } else if (ev.table === 'services') {
          this.marked.add(ev.object.ID);
          if (ev.kind === 'delete') this.wakeups.delete(ev.object.ID);
        } else if (ev.table === 'nodes') {
          // Node readiness and availability decide which global slots may be updated.
          this.all = true;
        }
      }
      if (!this.all && this.marked.size === 0) return;
    }
    this.schedule(this.ctx.clock.now() + this.opts.debounceMs);
  }

  /** Run a round at `at` (or earlier, if one is already due earlier). */
  private schedule(at: number): void {
    if (this.closed) return;
    if (this.roundTimer && this.roundTimer.at <= at) return;
    this.roundTimer?.cancel();
    const now = this.ctx.clock.now();
    const cancel = this.ctx.clock.setTimeout(() => {
      this.roundTimer = undefined;
      this.kick();
    }, Math.max(0, at - now));
    this.roundTimer = { at, cancel };
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      // The round in progress reschedules when it ends (marks stay set).
      return;
    }
    let failed = false;
    this.running = this.round()
      .catch((err: unknown) => {
        failed = true;
        this.log.error({ err }, 'updater round failed; looking at every service again shortly');
      })
      .finally(() => {
        this.running = undefined;
        this.rescheduleAfterRound(failed);
      });
  }

  private rescheduleAfterRound(failed: boolean): void {
    if (this.closed) return;
    const now = this.ctx.clock.now();
    if (failed) {
      // What the failed round had taken is lost: look at everything, but not in a tight loop.
      this.all = true;
      this.schedule(now + this.opts.retryMs);
      return;
    }
    if (this.all || this.marked.size > 0) this.schedule(now + this.opts.debounceMs);
    let next: number | undefined;
    for (const at of this.wakeups.values()) if (next === undefined || at < next) next = at;
    if (next !== undefined) this.schedule(next);
  }

  /** Which services this round plans: marked ones, everything on a full scan, and those whose wait ended. */
  private takeDue(now: number): ServiceRecord[] {
    const ids = this.all ? this.ctx.memory.list('services').map((s) => s.ID) : [...this.marked];
    for (const [id, at] of this.wakeups) if (at <= now) ids.push(id);
    this.all = false;
    this.marked = new Set();
    const out: ServiceRecord[] = [];
    for (const id of new Set(ids)) {
      this.wakeups.delete(id);
      const s = this.ctx.memory.get('services', id);
      if (s) out.push(s);
    }
    return out;
  }

  /** Nodes a global service's new task may go to: the orchestrator's rule (ready, active, constraints met). */
  private eligibleNodes(service: ServiceRecord, nodes: readonly NodeRecord[]): Set<string> {
    const constraints = compiledConstraints(service.Spec.TaskTemplate.Placement?.Constraints);
    const ids = new Set<string>();
    for (const n of nodes) if (nodeAcceptsTasks(n) && nodeMatches(constraints, n)) ids.add(n.ID);
    return ids;
  }

  private async round(): Promise<void> {
    const now = this.ctx.clock.now();
    const services = this.takeDue(now);
    if (services.length === 0) return;
    let nodes: NodeRecord[] | undefined;
    const work: Array<Promise<void>> = [];
    for (const service of services) {
      const tasks = this.ctx.memory.find('tasks', 'service', service.ID);
      const input: UpdateInput = { service, tasks, now, newId: this.opts.newId, upSince: this.upSince };
      if (serviceKind(service) === 'global') input.eligibleNodes = this.eligibleNodes(service, (nodes ??= this.ctx.memory.list('nodes')));
      const plan = planUpdate(input);
      if (plan.wakeAt !== undefined) this.wakeups.set(service.ID, plan.wakeAt);
      if (plan.service || plan.steps.length > 0) work.push(this.apply(service, plan));
    }
    // Concurrently: Raft batches proposals that arrive together.
    await Promise.all(work);
  }

  private async apply(service: ServiceRecord, plan: UpdatePlan): Promise<void> {
    const chunks = chunk(plan.steps);
    try {
      for (let i = 0; i < Math.max(1, chunks.length); i++) {
        if (this.closed) return;
        const steps = chunks[i] ?? [];
        await this.ctx.store.update(
          (t) => {
            // The service write rides with the first chunk: a start and its first batch commit together.
            if (i === 0 && plan.service) t.services.update(plan.service, { expectedVersion: service.Version.Index });
            for (const s of steps) writeStep(t, s);
          },
          this.opts.proposalTimeoutMs !== undefined ? { timeoutMs: this.opts.proposalTimeoutMs } : {},
        );
      }
      if (plan.outcome) this.logOutcome(service, plan);
    } catch (err) {
      // Plan this service again: in the next round for a conflict (someone
      // moved first: the store has news), after retryMs otherwise (no
      // leader, timeout: asking again at once would only add load).
      if (err instanceof ConflictError || err instanceof NotFoundError) {
        this.marked.add(service.ID);
        this.log.debug({ service: service.ID, err: err.message }, 'update step conflicted; planning again');
      } else {
        this.log.warn({ service: service.ID, err }, 'update step not committed; retrying');
        this.wakeups.set(service.ID, this.ctx.clock.now() + this.opts.retryMs);
      }
    }
  }

  private logOutcome(service: ServiceRecord, plan: UpdatePlan): void {
    const status = plan.service?.UpdateStatus;
    this.log.info({ service: service.ID, name: service.Spec.Name, state: status?.State, message: status?.Message }, `service update ${plan.outcome}`);
  }
}

function writeStep(t: Tx, step: UpdateStep): void {
  for (const old of step.shutdown) t.tasks.update({ ...old, DesiredState: 'shutdown' });
  if (step.create) t.tasks.create(step.create);
}

/** Steps in groups that fit in one transaction each. */
function chunk(steps: readonly UpdateStep[]): UpdateStep[][] {
  const out: UpdateStep[][] = [];
  let current: UpdateStep[] = [];
  let ops = 0;
  for (const s of steps) {
    const n = s.shutdown.length + (s.create ? 1 : 0);
    if (current.length > 0 && ops + n > OPS_PER_TX) {
      out.push(current);
      current = [];
      ops = 0;
    }
    current.push(s);
    ops += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

class UpdaterLoop implements Updater {
  readonly name = 'updater';
  private session: Session | undefined;
  private readonly opts: Required<Omit<UpdaterOptions, 'proposalTimeoutMs'>> & Pick<UpdaterOptions, 'proposalTimeoutMs'>;

  constructor(opts: UpdaterOptions) {
    this.opts = {
      debounceMs: opts.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      retryMs: opts.retryMs ?? DEFAULT_RETRY_MS,
      newId: opts.newId ?? (() => newObjectId()),
      ...(opts.proposalTimeoutMs !== undefined ? { proposalTimeoutMs: opts.proposalTimeoutMs } : {}),
    };
  }

  start(ctx: LeaderContext): void {
    // A start without a stop (should not happen) must not leave two sessions proposing.
    void this.session?.close();
    this.session = new Session(ctx, this.opts);
  }

  async stop(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.close();
  }

  async idle(): Promise<void> {
    await this.session?.idle();
  }
}

/** The rolling-update control loop (leader only). */
export function createUpdater(opts: UpdaterOptions = {}): Updater {
  return new UpdaterLoop(opts);
}
