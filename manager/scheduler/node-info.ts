// The scheduler's picture of the cluster: every node with what its placed
// tasks use. Built once from the store and then kept current from commit
// events, so a scheduling round never walks the whole tasks table. Pure data
// structures: the shell feeds them, the placement code reads and extends them.
import type { NodeRecord, TaskRecord } from '../../shared/model/index.js';
import { countsForSpread, footprint, occupiesNode, type ServiceLookup, type TaskFootprint } from './task-facts.js';

export class NodeInfo {
  /** Resources left after the reservations of the tasks placed here (may go negative if the node shrank). */
  availableNanoCPUs = 0;
  availableMemoryBytes = 0;
  /** Counted tasks (see TaskFootprint.counted), in total and per service. */
  activeTotal = 0;
  readonly activeByService = new Map<string, number>();
  /** Host ports in use, "protocol/port" -> tasks holding it. */
  readonly usedHostPorts = new Map<string, number>();
  readonly tasks = new Map<string, TaskFootprint>();

  constructor(
    readonly id: string,
    /** Undefined while the node is gone from the store but tasks still point at it. */
    public node: NodeRecord | undefined,
  ) {
    this.resetResources();
  }

  setNode(node: NodeRecord | undefined): void {
    this.node = node;
    this.resetResources();
  }

  /** Place (or re-place) a task here. */
  addTask(taskId: string, f: TaskFootprint): void {
    if (this.tasks.has(taskId)) this.removeTask(taskId);
    this.tasks.set(taskId, f);
    this.availableNanoCPUs -= f.nanoCPUs;
    this.availableMemoryBytes -= f.memoryBytes;
    if (f.counted) {
      this.activeTotal++;
      this.activeByService.set(f.serviceId, (this.activeByService.get(f.serviceId) ?? 0) + 1);
    }
    for (const p of f.hostPorts) this.usedHostPorts.set(p, (this.usedHostPorts.get(p) ?? 0) + 1);
  }

  /** Forget a task; true if it was here. */
  removeTask(taskId: string): boolean {
    const f = this.tasks.get(taskId);
    if (!f) return false;
    this.tasks.delete(taskId);
    this.availableNanoCPUs += f.nanoCPUs;
    this.availableMemoryBytes += f.memoryBytes;
    if (f.counted) {
      this.activeTotal--;
      const n = (this.activeByService.get(f.serviceId) ?? 0) - 1;
      if (n > 0) this.activeByService.set(f.serviceId, n);
      else this.activeByService.delete(f.serviceId);
    }
    for (const p of f.hostPorts) {
      const n = (this.usedHostPorts.get(p) ?? 0) - 1;
      if (n > 0) this.usedHostPorts.set(p, n);
      else this.usedHostPorts.delete(p);
    }
    return true;
  }

  serviceCount(serviceId: string): number {
    return this.activeByService.get(serviceId) ?? 0;
  }

  private resetResources(): void {
    const r = this.node?.Description?.Resources;
    let cpus = r?.NanoCPUs ?? 0;
    let mem = r?.MemoryBytes ?? 0;
    for (const f of this.tasks.values()) {
      cpus -= f.nanoCPUs;
      mem -= f.memoryBytes;
    }
    this.availableNanoCPUs = cpus;
    this.availableMemoryBytes = mem;
  }
}

export class ClusterState {
  private readonly infos = new Map<string, NodeInfo>();
  /** Task ID -> node it is counted on. */
  private readonly placedOn = new Map<string, string>();

  constructor(private readonly services: ServiceLookup) {}

  /** Start from the store's nodes and the tasks placed on them. */
  static build(nodes: Iterable<NodeRecord>, tasks: Iterable<TaskRecord>, services: ServiceLookup): ClusterState {
    const s = new ClusterState(services);
    for (const n of nodes) s.upsertNode(n);
    for (const t of tasks) s.observeTask(t.ID, t);
    return s;
  }

  /** Nodes present in the store, in no particular order. */
  *nodes(): IterableIterator<NodeInfo> {
    for (const info of this.infos.values()) if (info.node) yield info;
  }

  info(nodeId: string): NodeInfo | undefined {
    const i = this.infos.get(nodeId);
    return i?.node ? i : undefined;
  }

  upsertNode(node: NodeRecord): void {
    const info = this.infos.get(node.ID);
    if (info) info.setNode(node);
    else this.infos.set(node.ID, new NodeInfo(node.ID, node));
  }

  removeNode(nodeId: string): void {
    const info = this.infos.get(nodeId);
    if (!info) return;
    // Its tasks are still in the store until someone removes them; keep them counted in case the node returns.
    if (info.tasks.size === 0) this.infos.delete(nodeId);
    else info.setNode(undefined);
  }

  /** Record a placement decided by the scheduler before the store confirms it. */
  place(taskId: string, nodeId: string, f: TaskFootprint): void {
    if (this.placedOn.has(taskId)) this.unplace(taskId);
    let info = this.infos.get(nodeId);
    if (!info) this.infos.set(nodeId, (info = new NodeInfo(nodeId, undefined)));
    info.addTask(taskId, f);
    this.placedOn.set(taskId, nodeId);
  }

  /** True if the task was counted on a node. */
  unplace(taskId: string): boolean {
    const nodeId = this.placedOn.get(taskId);
    if (nodeId === undefined) return false;
    this.placedOn.delete(taskId);
    const info = this.infos.get(nodeId);
    if (!info) return false;
    info.removeTask(taskId);
    if (!info.node && info.tasks.size === 0) this.infos.delete(nodeId);
    return true;
  }

  /**
   * Bring one task in line with the store's version of it (undefined:
   * deleted). True when that freed room on a node: a task left it, or stopped
   * counting for spread (desired shutdown).
   */
  observeTask(taskId: string, task: TaskRecord | undefined): boolean {
    if (!task || !occupiesNode(task)) return this.unplace(taskId);
    const before = this.placedOn.get(taskId);
    const counted = countsForSpread(task.DesiredState);
    const old = before === undefined ? undefined : this.infos.get(before)?.tasks.get(taskId);
    // The common case, a placement confirmed or a status moving on: nothing
    // to redo, since a task's spec (and so its footprint) never changes.
    if (before === task.NodeID && old !== undefined && old.counted === counted) return false;
    const freed = old !== undefined && (before !== task.NodeID || (old.counted && !counted));
    this.place(taskId, task.NodeID!, footprint(task, this.services));
    return freed;
  }
}
