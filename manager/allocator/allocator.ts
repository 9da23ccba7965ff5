// The allocator's shell: a leader loop that runs planAllocations over the
// local store shortly after a relevant commit (debounced), and proposes the
// plan in a few transactions. Rounds never overlap; a failed proposal (a
// conflict: someone wrote first) only asks for another round, which reads
// the store again. Networks are written first, then services, then tasks:
// a later transaction relies on the addresses an earlier one recorded, so a
// round stops at its first failed transaction.
import type { Cancel } from '../../shared/clock.js';
import { ConflictError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { ServiceRecord, TaskRecord } from '../../shared/model/index.js';
import type { ControlLoop, LeaderContext } from '../control-loop.js';
import type { StoreView } from '../store/memory-store.js';
import type { Tx } from '../store/tx-builder.js';
import type { StoreEvent } from '../store/watch.js';
import { publishesIngress, taskNetworks } from './endpoint.js';
import { type AllocationPlan, type AllocatorInput, holdsAddresses, planAllocations } from './plan.js';

export interface AllocatorOptions {
  /** Quiet time after a relevant commit before a round (default 20 ms). */
  debounceMs?: number;
  /** Wait before retrying after a failed proposal (default 200 ms; conflicts are retried after the debounce). */
  retryMs?: number;
  /** Writes per transaction (default 1000). */
  maxOpsPerTransaction?: number;
}

export interface Allocator extends ControlLoop {
  /** Resolves once no round is running (a round only scheduled on the clock is not waited for). */
  idle(): Promise<void>;
}

/** What one round reads: the whole store's networks, services, tasks and nodes, and the cluster's address pool. */
export function allocatorInput(view: StoreView): AllocatorInput {
  const cluster = view.list('cluster')[0];
  return {
    networks: view.list('networks'),
    services: view.list('services'),
    tasks: view.list('tasks'),
    nodes: view.list('nodes'),
    ...(cluster ? { addressPool: cluster.DefaultAddrPool, subnetSize: cluster.SubnetSize } : {}),
  };
}

function needsNetworks(t: TaskRecord, service: ServiceRecord | undefined): boolean {
  return (t.NetworksAttachments?.length ?? 0) > 0 || taskNetworks(t.Spec).length > 0 || publishesIngress(service?.Spec);
}

/** Whether a committed change may change what the allocator would plan. Cheap: it runs in Raft's apply path. */
export function relevantToAllocator(ev: StoreEvent, view: StoreView): boolean {
  switch (ev.table) {
    case 'networks':
    case 'services':
      return true;
    case 'nodes':
      return ev.kind !== 'update';
    case 'tasks': {
      const t = ev.object;
      if (!needsNetworks(t, view.get('services', t.ServiceID))) return false;
      if (ev.kind !== 'update') return true;
      const p = ev.previous;
      return (
        p.NodeID !== t.NodeID ||
        holdsAddresses(p) !== holdsAddresses(t) ||
        p.NetworksAttachments !== t.NetworksAttachments ||
        p.DesiredState !== t.DesiredState
      );
    }
    default:
      return false;
  }
}

type Write = (t: Tx) => void;

/** The plan as transactions of at most `max` writes, networks first, then services, then tasks. */
export function planWrites(plan: AllocationPlan, max: number): Write[][] {
  const writes: Write[] = [
    ...plan.networks.map((n): Write => (t) => t.networks.update(n, n.Version.Index)),
    ...plan.services.map((s): Write => (t) => t.services.update(s, s.Version.Index)),
    ...plan.tasks.map((k): Write => (t) => t.tasks.update(k, k.Version.Index)),
  ];
  const chunks: Write[][] = [];
  for (let i = 0; i < writes.length; i += max) chunks.push(writes.slice(i, i + max));
  return chunks;
}

export function createAllocator(opts: AllocatorOptions = {}): Allocator {
  const debounceMs = opts.debounceMs ?? 20;
  const retryMs = opts.retryMs ?? 200;
  const maxOps = opts.maxOpsPerTransaction ?? 1000;

  let ctx: LeaderContext | undefined;
  let log: Logger | undefined;
  let epoch = 0;
  let unsubscribe: (() => void) | undefined;
  let dirty = false;
  let retryAfter: number | undefined;
  let timer: Cancel | undefined;
  let busy: Promise<void> | undefined;
  let cursors = new Map<string, number>();
  /** Problems already logged, so a stuck service is reported once, not every round. */
  let reported = new Set<string>();

  function kick(delay: number): void {
    dirty = true;
    if (!ctx || busy) return; // the running round looks at `dirty` when it ends
    // Already due: a steady stream of commits must not keep pushing the round back.
    if (timer) return;
    const mine = epoch;
    timer = ctx.clock.setTimeout(() => {
      timer = undefined;
      if (mine === epoch) startRound();
    }, delay);
  }

  function startRound(): void {
    const mine = epoch;
    let finished!: () => void;
    busy = new Promise<void>((resolve) => (finished = resolve));
    void round(mine)
      .catch((err: unknown) => {
        if (mine !== epoch) return;
        log!.error({ err }, 'allocator: round failed; retrying');
        dirty = true;
        retryAfter = retryMs;
      })
      .finally(() => {
        finished();
        if (mine !== epoch) return;
        busy = undefined;
        const delay = retryAfter;
        retryAfter = undefined;
        if (dirty) kick(delay ?? debounceMs);
      });
  }

  async function round(mine: number): Promise<void> {
    const c = ctx!;
    dirty = false;
    const plan = planAllocations(allocatorInput(c.memory.view()), cursors);
    cursors = plan.cursors;
    const now = new Set<string>();
    for (const p of plan.problems) {
      const key = `${p.kind}/${p.id}/${p.message}`;
      now.add(key);
      if (!reported.has(key)) log!.warn({ [p.kind]: p.id, problem: p.message }, 'allocator: cannot allocate');
    }
    reported = now;
    const chunks = planWrites(plan, maxOps);
    if (chunks.length > 0) {
      log!.debug({ networks: plan.networks.length, services: plan.services.length, tasks: plan.tasks.length }, 'allocator round');
    }
    for (const chunk of chunks) {
      if (mine !== epoch) return;
      try {
        await c.store.update((t) => {
          for (const w of chunk) w(t);
        });
      } catch (err) {
        if (mine !== epoch) return;
        dirty = true;
        if (err instanceof ConflictError) {
          log!.debug({ err: err.message }, 'allocator: an object changed under us; the next round re-reads');
        } else {
          retryAfter = retryMs;
          log!.warn({ err }, 'allocator: proposal failed; retrying');
        }
        // What follows may rely on what this transaction carried.
        return;
      }
    }
  }

  return {
    name: 'allocator',
    start(leader: LeaderContext): void {
      if (ctx) void this.stop();
      epoch++;
      ctx = leader;
      log = leader.log.child({ loop: 'allocator' });
      cursors = new Map();
      reported = new Set();
      unsubscribe = leader.memory.onCommit((ev) => {
        if (ev.kind === 'reset' || ev.events.some((e) => relevantToAllocator(e, leader.memory.view()))) kick(debounceMs);
      });
      kick(0);
    },
    stop(): Promise<void> {
      epoch++;
      unsubscribe?.();
      unsubscribe = undefined;
      timer?.();
      timer = undefined;
      dirty = false;
      retryAfter = undefined;
      busy = undefined;
      ctx = undefined;
      return Promise.resolve();
    },
    async idle(): Promise<void> {
      while (busy) await busy;
    },
  };
}
