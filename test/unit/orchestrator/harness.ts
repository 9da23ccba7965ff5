// The loops end to end on a real MemoryStore, a Raft stand-in that commits
// every proposal at once (FakeProposer) and virtual time (ManualClock).
// `settle` moves time in small steps and waits for running rounds after each,
// so a test reads the store only once the loops have nothing left to do.
import type { LeaderContext } from '../../../manager/control-loop.js';
import type { ReconcileLoop } from '../../../manager/orchestrator/loop.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import type { Draft } from '../../../manager/store/transaction.js';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { NodeRecord, ServiceRecord, ServiceSpec, TaskRecord, TaskState } from '../../../shared/model/index.js';
import { clusterDraft, FakeProposer, nodeDraft } from '../store/fixtures.js';
import { START } from './fixtures.js';

export const silent = createLogger({ level: 'silent' });

export class Harness {
  readonly memory = new MemoryStore({ logger: silent });
  readonly proposer = new FakeProposer([this.memory]);
  readonly clock = new ManualClock(START);
  readonly store = new ReplicatedStore(this.memory, this.proposer, this.clock);
  readonly ctx: LeaderContext = { store: this.store, memory: this.memory, clock: this.clock, log: silent };
  readonly loops: ReconcileLoop[] = [];

  start(...loops: ReconcileLoop[]): void {
    for (const l of loops) {
      this.loops.push(l);
      l.start(this.ctx);
    }
  }

  /** Advance virtual time by `ms` in `step` increments, letting every round finish along the way. */
  async settle(ms = 200, step = 5): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(step);
      for (const l of this.loops) await l.idle();
    }
  }

  async seed(opts: { nodes?: string[]; cluster?: boolean } = {}): Promise<void> {
    await this.store.update((t) => {
      if (opts.cluster !== false) t.cluster.create(clusterDraft());
      for (const id of opts.nodes ?? ['n1', 'n2', 'n3']) t.nodes.create(nodeDraft(id));
    });
  }

  async createService(id: string, spec: Partial<ServiceSpec>, extra: Partial<ServiceRecord> = {}): Promise<void> {
    const draft: Draft<ServiceRecord> = {
      ID: id,
      Spec: { Name: id, TaskTemplate: { ContainerSpec: { Image: 'sim/app:1' } }, ...spec },
      Internal: { SpecVersion: 1 },
      ...extra,
    };
    await this.store.update((t) => t.services.create(draft));
  }

  async updateService(id: string, change: (s: ServiceRecord) => Draft<ServiceRecord>): Promise<void> {
    const s = this.memory.get('services', id)!;
    await this.store.update((t) => t.services.update(change(s)));
  }

  async updateNode(id: string, change: (n: NodeRecord) => Draft<NodeRecord>): Promise<void> {
    const n = this.memory.get('nodes', id)!;
    await this.store.update((t) => t.nodes.update(change(n)));
  }

  tasks(serviceId: string): TaskRecord[] {
    return this.memory.find('tasks', 'service', serviceId);
  }

  /** What the scheduler and the agents would do: place pending tasks round-robin on ready nodes and run them. */
  async runPending(): Promise<void> {
    const nodes = this.memory.list('nodes').filter((n) => n.Status.State === 'ready' && n.Spec.Availability === 'active');
    let i = 0;
    await this.store.update((t) => {
      for (const task of this.memory.list('tasks')) {
        if (task.Status.State !== 'pending' || (task.DesiredState !== 'running' && task.DesiredState !== 'complete')) continue;
        const nodeId = task.NodeID ?? nodes[i++ % nodes.length]!.ID;
        t.tasks.update({ ...task, NodeID: nodeId, Status: { ...task.Status, State: 'running', Message: 'started' } });
      }
    });
  }

  /** An agent's status report. */
  async report(taskId: string, state: TaskState): Promise<void> {
    const task = this.memory.get('tasks', taskId)!;
    await this.store.update((t) => t.tasks.update({ ...task, Status: { ...task.Status, State: state, Timestamp: new Date(this.clock.now()).toISOString() } }));
  }
}
