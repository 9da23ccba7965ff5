// Builders for updater tests: services and tasks as the store holds them
// (for the pure planner), and a leader on a MemoryStore + FakeProposer with a
// ManualClock where the test plays the API, the orchestrator and the agents.
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { formatTime, type Draft } from '../../../manager/store/transaction.js';
import { createUpdater, type Updater, type UpdaterOptions } from '../../../manager/orchestrator/update/index.js';
import { isLive } from '../../../manager/orchestrator/update/tasks.js';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import type { ServiceRecord, ServiceSpec, TaskRecord, TaskSpec, TaskState, UpdateConfig, UpdateStatus } from '../../../shared/model/index.js';
import { FakeProposer } from '../store/fixtures.js';

export const silent = createLogger({ level: 'silent' });

/** 2024-05-01T12:00:00Z: test times are offsets from here, in ms. */
export const BASE = Date.UTC(2024, 4, 1, 12, 0, 0);
export const at = (ms: number): string => formatTime(BASE + ms);
export const SEC = 1_000;
export const NS_PER_MS = 1e6;

export function template(image: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { ContainerSpec: { Image: image }, ...extra };
}

export interface ServiceOptions {
  id?: string;
  name?: string;
  replicas?: number;
  global?: boolean;
  image?: string;
  previousImage?: string;
  version?: number;
  update?: UpdateConfig;
  rollback?: UpdateConfig;
  status?: UpdateStatus;
  task?: Partial<TaskSpec>;
}

export function serviceSpec(o: ServiceOptions): ServiceSpec {
  return {
    Name: o.name ?? 'web',
    TaskTemplate: template(o.image ?? 'web:2', o.task),
    Mode: o.global ? { Global: {} } : { Replicated: { Replicas: o.replicas ?? 3 } },
    ...(o.update ? { UpdateConfig: o.update } : {}),
    ...(o.rollback ? { RollbackConfig: o.rollback } : {}),
  };
}

/** A stored service (for the pure planner: Version and times filled in). */
export function service(o: ServiceOptions = {}): ServiceRecord {
  const spec = serviceSpec(o);
  return {
    ID: o.id ?? 'svc1',
    Version: { Index: 10 },
    CreatedAt: at(0),
    UpdatedAt: at(0),
    Spec: spec,
    ...(o.previousImage ? { PreviousSpec: { ...spec, TaskTemplate: template(o.previousImage) } } : {}),
    ...(o.status ? { UpdateStatus: o.status } : {}),
    Internal: { SpecVersion: o.version ?? 2 },
  };
}

export const updating = (startedMs = 0): UpdateStatus => ({ State: 'updating', StartedAt: at(startedMs), Message: 'update in progress' });

export interface TaskOptions {
  slot?: number;
  node?: string;
  version?: number;
  image?: string;
  state?: TaskState;
  desired?: TaskState;
  /** UpdatedAt, as an offset from BASE. */
  written?: number;
  health?: 'starting' | 'healthy' | 'unhealthy';
  healthcheck?: boolean;
  service?: string;
}

/** A stored task. Its image defaults to the one of its generation: web:<version>. */
export function task(id: string, o: TaskOptions = {}): TaskRecord {
  const version = o.version ?? 1;
  const image = o.image ?? `web:${version}`;
  const spec = template(image);
  if (o.healthcheck) spec.ContainerSpec = { Image: image, HealthCheck: { Test: ['CMD', 'true'] } };
  return {
    ID: id,
    Version: { Index: 5 },
    CreatedAt: at(0),
    UpdatedAt: at(o.written ?? 0),
    ServiceID: o.service ?? 'svc1',
    Slot: o.node ? 0 : (o.slot ?? 1),
    ...(o.node ? { NodeID: o.node } : {}),
    Name: `web.${o.node ?? o.slot ?? 1}`,
    Spec: spec,
    Status: { Timestamp: at(o.written ?? 0), State: o.state ?? 'running', Message: '' },
    DesiredState: o.desired ?? 'running',
    Internal: { SpecVersion: version, ...(o.health ? { Health: o.health } : {}) },
  };
}

/** n running tasks of generation 1 in slots 1..n. */
export function oldTasks(n: number, o: TaskOptions = {}): TaskRecord[] {
  return Array.from({ length: n }, (_, i) => task(`old${i + 1}`, { slot: i + 1, ...o }));
}

export function ids(prefix = 'new'): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}

// ---- the loop on a store ----

export interface Harness {
  clock: ManualClock;
  memory: MemoryStore;
  store: ReplicatedStore;
  proposer: FakeProposer;
  updater: Updater;
}

export const DEBOUNCE_MS = 20;

export function harness(opts: UpdaterOptions = {}, memory = new MemoryStore({ logger: silent })): Harness {
  const clock = new ManualClock(BASE);
  const proposer = new FakeProposer([memory]);
  const store = new ReplicatedStore(memory, proposer, clock);
  const updater = createUpdater({ debounceMs: DEBOUNCE_MS, newId: ids(), ...opts });
  return { clock, memory, store, proposer, updater };
}

export function startLeader(h: Harness): void {
  h.updater.start({ store: h.store, memory: h.memory, clock: h.clock, log: silent });
}

/** Move the clock by `ms`, letting every round that falls due run to its end. */
export async function advance(h: Harness, ms: number): Promise<void> {
  const target = h.clock.now() + ms;
  // This loop only ever yields to promise jobs, never to the event loop, so
  // not even a test timeout could end it if rounds kept coming due without
  // time passing: count them and fail instead.
  for (let atThisInstant = 0; ; ) {
    await h.updater.idle();
    const next = h.clock.nextDue();
    if (next === undefined || next > target) break;
    atThisInstant = next === h.clock.now() ? atThisInstant + 1 : 0;
    if (atThisInstant > 1000) throw new Error(`the updater keeps scheduling rounds at ${h.clock.now()} without time passing`);
    h.clock.advance(next - h.clock.now());
  }
  h.clock.advance(target - h.clock.now());
  await h.updater.idle();
}

/** What the API writes for `service create`, with the orchestrator's tasks already running. */
export async function createService(h: Harness, o: ServiceOptions & { replicas: number }): Promise<void> {
  const spec = serviceSpec({ ...o, image: o.image ?? 'web:1' });
  await h.store.update((t) => {
    t.services.create({ ID: o.id ?? 'svc1', Spec: spec, Internal: { SpecVersion: 1 } });
    for (let slot = 1; slot <= o.replicas; slot++) t.tasks.create(newTaskDraft(o.id ?? 'svc1', spec, 1, slot, `t${slot}`, h.clock.now(), 'running'));
  });
}

export function newTaskDraft(serviceId: string, spec: ServiceSpec, version: number, slot: number, id: string, now: number, state: TaskState = 'pending'): Draft<TaskRecord> {
  return {
    ID: id,
    ServiceID: serviceId,
    Slot: slot,
    Name: `${spec.Name}.${slot}`,
    Spec: structuredClone(spec.TaskTemplate),
    Status: { Timestamp: formatTime(now), State: state, Message: state === 'pending' ? 'pending task scheduling' : '' },
    DesiredState: 'running',
    Internal: { SpecVersion: version },
  };
}

/** What the API writes for `service update`: new spec, previous spec kept, generation bumped, status updating. */
export async function updateService(h: Harness, edit: (spec: ServiceSpec) => ServiceSpec, id = 'svc1'): Promise<void> {
  const s = h.memory.get('services', id)!;
  await h.store.update((t) =>
    t.services.update({
      ...s,
      PreviousSpec: s.Spec,
      Spec: edit(structuredClone(s.Spec)),
      Internal: { SpecVersion: s.Internal.SpecVersion + 1 },
      UpdateStatus: { State: 'updating', StartedAt: formatTime(h.clock.now()), Message: 'update in progress' },
    }),
  );
}

export interface AgentOptions {
  /** Images whose tasks fail once started. */
  failing?: ReadonlySet<string>;
  /** Images whose tasks have a healthcheck and report this health once running. */
  health?: ReadonlyMap<string, 'healthy' | 'unhealthy' | 'starting'>;
}

/**
 * One pass of every agent: a pending task with desired running starts
 * (running, or failed for a failing image); a task desired shut down stops.
 * Each task change is its own transaction, as status reports would be.
 */
export async function agents(h: Harness, o: AgentOptions = {}): Promise<void> {
  for (const t of h.memory.list('tasks')) {
    const image = t.Spec.ContainerSpec?.Image ?? '';
    if (t.DesiredState === 'running' && t.Status.State === 'pending') {
      const failed = o.failing?.has(image) ?? false;
      const health = o.health?.get(image);
      await h.store.update((tx) =>
        tx.tasks.update({
          ...t,
          NodeID: t.NodeID ?? 'node1',
          Status: { ...t.Status, Timestamp: formatTime(h.clock.now()), State: failed ? 'failed' : 'running', Message: failed ? 'task: non-zero exit (1)' : 'started' },
          Internal: { ...t.Internal, ...(health && !failed ? { Health: health } : {}) },
        }),
      );
    } else if (t.DesiredState === 'shutdown' && !['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'].includes(t.Status.State)) {
      await h.store.update((tx) => tx.tasks.update({ ...t, Status: { ...t.Status, Timestamp: formatTime(h.clock.now()), State: 'shutdown', Message: 'shutdown' } }));
    }
  }
}

/** The orchestrator's part that matters here: an empty slot gets a task of the current spec. */
export async function orchestrate(h: Harness, id = 'svc1'): Promise<void> {
  const s = h.memory.get('services', id)!;
  const replicas = s.Spec.Mode?.Replicated?.Replicas ?? 0;
  const tasks = h.memory.find('tasks', 'service', id);
  const missing: number[] = [];
  for (let slot = 1; slot <= replicas; slot++) if (!tasks.some((t) => t.Slot === slot && isLive(t))) missing.push(slot);
  if (missing.length === 0) return;
  await h.store.update((t) => {
    for (const slot of missing) t.tasks.create(newTaskDraft(id, s.Spec, s.Internal.SpecVersion, slot, `r${slot}-${h.clock.now()}`, h.clock.now()));
  });
}

export function liveTasks(h: Harness, id = 'svc1'): TaskRecord[] {
  return h.memory.find('tasks', 'service', id).filter(isLive);
}

/** Running tasks whose desired state is still running: what `docker service ls` counts. */
export function runningCount(h: Harness, id = 'svc1'): number {
  return h.memory.find('tasks', 'service', id).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
}
