// The scheduler through real Raft: three RaftNodes in one process (the
// MemoryNetwork between them, each with its on-disk WAL in a directory on a
// real disk), a MemoryStore per node, the scheduler loop on the leader.
// 1,000 nodes, 100 services with constraints (some with a spread preference,
// reservations or MaxReplicas) and 100,000 pending tasks are created first;
// then the scheduler starts and the clock runs until the leader has applied
// every assignment.
//
//   placements_per_s           tasks assigned / time from start to the last assignment applied on the leader
//   time_to_all_assigned       start of the loop -> last assignment applied on the leader
//   time_to_first_assignments  start -> first committed batch of assignments
//   decide_ms                  the round's pure placement work (before proposing)
//   placements_per_cpu_s       the same per CPU-second of this process (all threads)
//   create_tasks_per_s         the same tasks created through the same store and window, before scheduling
//   placements_per_s_without_follower_apply
//                              the same with the time the two followers spent applying entries taken
//                              out: they share this process's one JavaScript thread here, not in a
//                              real cluster
//   constraint_violations      assigned tasks on a node their constraints exclude (must be 0)
//   max_spread_skew            per service, most minus fewest tasks over its eligible nodes (1 is perfect)
//
// All three replicas apply every entry in this one process, so placements_per_s
// includes three times the store's apply work; a real cluster spreads that
// over three machines.
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { MemoryNetwork } from '../manager/raft/memory-transport.js';
import { RaftNode, type StateMachine } from '../manager/raft/node.js';
import type { Entry } from '../manager/raft/types.js';
import { nodeMatchesConstraints, parseConstraints } from '../manager/scheduler/constraints.js';
import { createScheduler } from '../manager/scheduler/scheduler.js';
import type { CommitEvent } from '../manager/store/memory-store.js';
import { MemoryStore } from '../manager/store/memory-store.js';
import { ReplicatedStore } from '../manager/store/replicated-store.js';
import { type Draft, formatTime } from '../manager/store/transaction.js';
import type { ResetEvent } from '../manager/store/watch.js';
import { SystemClock } from '../shared/clock.js';
import { newObjectId } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import type { NodeRecord, ServiceRecord, TaskRecord, TaskSpec } from '../shared/model/index.js';
import { benchRoot, eventually, reporter } from './daemons.js';

const report = reporter('scheduler');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const ZONES = 5;

/** A replica's store, timing its apply calls: followers' apply time competes with the leader for the one thread. */
class TimedStore implements StateMachine {
  applyMs = 0;
  constructor(readonly store: MemoryStore) {}
  apply(e: Entry): unknown {
    const t = performance.now();
    try {
      return this.store.apply(e);
    } finally {
      this.applyMs += performance.now() - t;
    }
  }
  snapshot(): Uint8Array {
    return this.store.snapshot();
  }
  restore(data: Uint8Array): void {
    this.store.restore(data);
  }
}

function numArg(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
}

function nodeDraft(i: number): Draft<NodeRecord> {
  const id = `node${String(i).padStart(4, '0')}`;
  return {
    ID: id,
    Spec: {
      Role: i < 3 ? 'manager' : 'worker',
      Availability: 'active',
      Labels: { zone: `z${i % ZONES}`, tier: i % 4 === 0 ? 'db' : 'web', disk: i % 2 === 0 ? 'ssd' : 'hdd' },
    },
    Description: {
      Hostname: `host-${id}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 16e9, MemoryBytes: 64 * GiB },
      Engine: { EngineVersion: '0.1.0', Labels: { storage: i % 10 === 0 ? 'slow' : 'fast' } },
    },
    Status: { State: 'ready', Addr: `10.0.${i >> 8}.${i & 255}` },
    Internal: { PeerID: `peer-${id}`, Multiaddr: '/ip4/10.0.0.1/tcp/2377', RaftID: 0 },
  };
}

/** Five kinds of placement, cycling over the services; every kind has room for `perService` tasks. */
function taskTemplate(s: number, perService: number, nodeCount: number): TaskSpec {
  const base: TaskSpec = { ContainerSpec: { Image: `registry.local/app${s}:1` } };
  switch (s % 5) {
    case 0:
      return { ...base, Placement: { Constraints: ['node.labels.tier==web'] } };
    case 1:
      return { ...base, Placement: { Constraints: ['node.role==worker', `node.labels.zone!=z${ZONES - 1}`] } };
    case 2:
      return {
        ...base,
        Placement: { Constraints: ['node.labels.disk==ssd'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] },
      };
    case 3:
      return { ...base, Placement: { Constraints: ['node.platform.os==linux', 'engine.labels.storage!=slow'] } };
    default:
      return {
        ...base,
        Resources: { Reservations: { NanoCPUs: 1e8, MemoryBytes: 64 * MiB } },
        // Twice the room the zone needs, so the limit is checked but never binds.
        Placement: { Constraints: ['node.labels.zone==z1'], MaxReplicas: 2 * Math.ceil(perService / Math.floor(nodeCount / ZONES)) },
      };
  }
}

function serviceDraft(s: number, perService: number, nodeCount: number): Draft<ServiceRecord> {
  return {
    ID: `svc${String(s).padStart(3, '0')}`,
    Spec: { Name: `app${s}`, TaskTemplate: taskTemplate(s, perService, nodeCount), Mode: { Replicated: { Replicas: perService } } },
    Internal: { SpecVersion: 1 },
  };
}

function taskDraft(service: Draft<ServiceRecord>, slot: number, time: string): Draft<TaskRecord> {
  return {
    ID: newObjectId(),
    Name: `${service.Spec.Name}.${slot}`,
    ServiceID: service.ID,
    Slot: slot,
    Spec: service.Spec.TaskTemplate,
    Status: { Timestamp: time, State: 'pending', Message: 'pending task scheduling' },
    DesiredState: 'running',
    Internal: { SpecVersion: 1 },
  };
}

type TxWriter = Parameters<Parameters<ReplicatedStore['update']>[0]>[0];

/** Propose `items` in transactions of `size`, `window` transactions in flight (as the scheduler does). */
async function writeAll<T>(rs: ReplicatedStore, items: readonly T[], size: number, write: (t: TxWriter, x: T) => void, window = 4): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const chunk = items.slice(next, next + size);
      next += chunk.length;
      await rs.update((t) => {
        for (const x of chunk) write(t, x);
      });
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

export async function runSchedulerBench(args: string[]): Promise<void> {
  const nodeCount = numArg(args, 'nodes', 1000);
  const serviceCount = numArg(args, 'services', 100);
  const taskCount = numArg(args, 'tasks', 100_000);
  const batchSize = numArg(args, 'batch', 2500);
  const window = numArg(args, 'window', 4);
  const perService = Math.ceil(taskCount / serviceCount);
  const root = await benchRoot('shoal-bench-scheduler-');
  process.stderr.write(`bench: scheduler in ${root}\n`);
  const logger = createLogger({ level: process.env['SHOAL_LOG_LEVEL'] ?? 'warn', name: 'bench' });
  const network = new MemoryNetwork();
  const ids = ['s1', 's2', 's3'];
  const stores = ids.map(() => new TimedStore(new MemoryStore({ logger })));
  const rafts: RaftNode[] = [];
  const clock = new SystemClock();
  const scheduler = createScheduler({ batchSize, inFlight: window });
  try {
    for (const [i, id] of ids.entries()) {
      rafts.push(
        await RaftNode.start({ id, dataDir: join(root, id), transport: network.transport(id), stateMachine: stores[i]!, bootstrap: ids, logger }),
      );
    }
    await rafts[0]!.waitForLeader(10_000);
    if (!rafts[0]!.isLeader()) await rafts[1]!.transferLeadership('s1').catch(() => undefined);
    await eventually(() => rafts.some((r) => r.isLeader()), 'a leader');
    const li = rafts.findIndex((r) => r.isLeader());
    const leader = rafts[li]!;
    const memory = stores[li]!.store;
    const followers = stores.filter((_, i) => i !== li);
    const followerApplyMs = (): number => followers.reduce((sum, f) => sum + f.applyMs, 0);
    const rs = new ReplicatedStore(memory, leader, clock);

    // --- the cluster, the services and the pending tasks --------------------------------
    const nodes = Array.from({ length: nodeCount }, (_, i) => nodeDraft(i));
    const services = Array.from({ length: serviceCount }, (_, s) => serviceDraft(s, perService, nodeCount));
    await writeAll(rs, nodes, 500, (t, n) => t.nodes.create(n));
    await writeAll(rs, services, 100, (t, s) => t.services.create(s));
    const time = formatTime(clock.now());
    const tasks: Draft<TaskRecord>[] = [];
    for (const s of services) for (let slot = 1; slot <= perService && tasks.length < taskCount; slot++) tasks.push(taskDraft(s, slot, time));
    const createStart = performance.now();
    await writeAll(rs, tasks, batchSize, (t, x) => t.tasks.create(x), window);
    const createMs = performance.now() - createStart;
    report('create_tasks_per_s', tasks.length / (createMs / 1000), 'tasks/s', { tasks: tasks.length, batch: batchSize, window });

    // Let the followers finish applying, so the measurement starts from a quiet cluster.
    await eventually(() => rafts.every((r) => r.appliedIndex() >= leader.appliedIndex()), 'followers to catch up', 60_000);

    // --- schedule ----------------------------------------------------------------------
    let assigned = 0;
    let firstAt: number | undefined;
    let doneAt: number | undefined;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolveDone = r));
    const onCommit = (e: CommitEvent | ResetEvent): void => {
      if (e.kind !== 'commit') return;
      let n = 0;
      for (const ev of e.events) if (ev.table === 'tasks' && ev.kind === 'update' && ev.object.Status.State === 'assigned' && ev.previous.Status.State === 'pending') n++;
      if (n === 0) return;
      firstAt ??= performance.now();
      assigned += n;
      if (assigned >= tasks.length) {
        doneAt = performance.now();
        resolveDone();
      }
    };
    const unsubscribe = memory.onCommit(onCommit);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const followerApplyBefore = followerApplyMs();
    scheduler.start({ store: rs, memory, clock, log: logger });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${assigned} of ${tasks.length} tasks assigned after 100 s`)), 100_000);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
    const elapsed = (doneAt! - started) / 1000;
    // Until the last assignment: what the followers applied by then (they trail the leader slightly).
    const followerSeconds = (followerApplyMs() - followerApplyBefore) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    // The proposals resolve just after the leader applied them.
    await scheduler.idle();
    const stats = scheduler.stats();
    report('placements_per_s', assigned / elapsed, 'tasks/s', { tasks: assigned, nodes: nodeCount, services: serviceCount });
    report('placements_per_s_without_follower_apply', assigned / (elapsed - followerSeconds), 'tasks/s', { followerApplyMs: Math.round(followerSeconds * 1000) });
    report('time_to_all_assigned', elapsed * 1000, 'ms');
    // CPU time of the whole process (every thread) over the same span: less swayed than wall time by other load on a shared machine.
    report('placements_per_cpu_s', assigned / cpuSeconds, 'tasks/s', { cpuSeconds: Math.round(cpuSeconds * 1000) / 1000 });
    report('time_to_first_assignments', firstAt! - started, 'ms');
    report('decide_ms', stats.lastDecideMs, 'ms', { rounds: stats.rounds });
    report('transactions', stats.transactions, 'count', { tasksPerTransaction: Math.round(assigned / Math.max(1, stats.transactions)), conflicts: stats.conflicts, failures: stats.failures });

    // --- check the result --------------------------------------------------------------
    await scheduler.stop();
    const nodeById = new Map(memory.list('nodes').map((n) => [n.ID, n]));
    let violations = 0;
    let unassigned = 0;
    let skew = 0;
    for (const s of services) {
      const constraints = parseConstraints(s.Spec.TaskTemplate.Placement?.Constraints ?? []);
      const counts = new Map<string, number>();
      for (const n of nodeById.values()) if (nodeMatchesConstraints(constraints, n)) counts.set(n.ID, 0);
      for (const t of memory.find('tasks', 'service', s.ID)) {
        if (t.Status.State !== 'assigned' || !t.NodeID) {
          unassigned++;
          continue;
        }
        if (!counts.has(t.NodeID)) violations++;
        else counts.set(t.NodeID, counts.get(t.NodeID)! + 1);
      }
      const values = [...counts.values()];
      skew = Math.max(skew, Math.max(...values) - Math.min(...values));
    }
    report('constraint_violations', violations, 'tasks', { unassigned });
    report('max_spread_skew', skew, 'tasks');
  } finally {
    await scheduler.stop();
    await Promise.all(rafts.map((r) => r.stop()));
    await rm(root, { recursive: true, force: true });
  }
}
