// Which tasks' output a logs request covers, and where each task ran. Pure:
// reads a store view. Docker shows every task of a service that a node ran,
// the history of replaced and failed tasks included.
import type { NodeRecord, TaskRecord } from '../../shared/model/index.js';
import { TASK_STATES } from '../../shared/model/task.js';
import { TASK_KEYS, type TaskFacts } from '../api/filters.js';
import { resolveRef, SERVICE_KEYS } from '../api/resolve.js';
import type { StoreView } from '../store/memory-store.js';
import type { LogNode, LogTarget } from './types.js';

export interface LogSelection {
  /** Set for a service's logs: following picks up its new tasks. */
  serviceId?: string;
  tasks: TaskRecord[];
}

/** The tasks a target names: 404 for an unknown service or task, 400 for an ambiguous prefix (resolveRef). */
export function selectLogTasks(view: StoreView, target: LogTarget): LogSelection {
  if (target.kind === 'service') {
    const svc = resolveRef(view.list('services'), target.ref, 'service', SERVICE_KEYS);
    return { serviceId: svc.ID, tasks: view.find('tasks', 'service', svc.ID) };
  }
  const facts = view.list('tasks').map((task): TaskFacts<TaskRecord> => {
    const svc = view.get('services', task.ServiceID);
    return { task, serviceName: svc?.Spec.Name, serviceLabels: svc?.Spec.Labels, upToDate: false };
  });
  return { tasks: [resolveRef(facts, target.ref, 'task', TASK_KEYS).task] };
}

const READY = TASK_STATES.indexOf('ready');

/**
 * Whether asking the task's node is worth it: it was placed there, and (when
 * following, where an empty answer would end the task's stream for good) its
 * container exists, which it does from `ready` on.
 */
export function hasOutput(task: TaskRecord, follow: boolean): boolean {
  if (task.NodeID === undefined || task.NodeID === '') return false;
  return !follow || TASK_STATES.indexOf(task.Status.State) >= READY;
}

export interface NodeGroup {
  nodeId: string;
  /** Undefined when the node is gone from the swarm. */
  node: LogNode | undefined;
  /** Its record says down: asking would only wait for a timeout. */
  down: boolean;
  tasks: TaskRecord[];
}

export function logNode(n: NodeRecord): LogNode {
  return { nodeId: n.ID, peerId: n.Internal.PeerID, addr: n.Internal.Multiaddr, hostname: n.Spec.Name || n.Description.Hostname || n.ID };
}

/** Tasks grouped by the node that ran them, in order of first appearance. */
export function groupByNode(tasks: readonly TaskRecord[], nodeOf: (id: string) => NodeRecord | undefined): NodeGroup[] {
  const groups = new Map<string, NodeGroup>();
  for (const t of tasks) {
    const id = t.NodeID ?? '';
    let g = groups.get(id);
    if (!g) {
      const n = nodeOf(id);
      g = { nodeId: id, node: n === undefined ? undefined : logNode(n), down: n === undefined || n.Status.State === 'down', tasks: [] };
      groups.set(id, g);
    }
    g.tasks.push(t);
  }
  return [...groups.values()];
}

/** swarmkit's words for a node whose logs cannot be had. */
export function unavailableMessage(g: Pick<NodeGroup, 'nodeId' | 'node'>, why?: string): string {
  return `node ${g.node?.hostname ?? g.nodeId} is not available${why === undefined ? '' : ` (${why})`}`;
}

/** How swarmkit ends a stream that missed some output: one line listing why. */
export function incompleteStreamMessage(reasons: readonly string[]): string {
  return `warning: incomplete log stream. some logs could not be retrieved for the following reasons: ${reasons.join(', ')}`;
}
