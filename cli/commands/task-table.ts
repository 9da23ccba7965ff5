// The task table of `service ps` and `node ps` (docker's task.Print): service
// and node IDs resolved to names (docker's idresolver) unless --no-resolve.

import type { Task } from '../../shared/model/index.js';
import { formatTaskTable } from '../format/tasks.js';
import type { ServiceApi } from './service-api.js';

export interface TaskTableFlags {
  /** false with --no-trunc. */
  trunc?: boolean;
  /** false with --no-resolve. */
  resolve?: boolean;
}

export async function renderTaskTable(api: ServiceApi, tasks: readonly Task[], opts: TaskTableFlags, now = Date.now()): Promise<string> {
  const serviceNames = new Map<string, string>();
  const nodeNames = new Map<string, string>();
  if (opts.resolve !== false) {
    for (const id of new Set(tasks.map((t) => t.ServiceID).filter((id) => id !== ''))) {
      try {
        const s = await api.inspectService(id);
        if (s.Spec.Name) serviceNames.set(id, s.Spec.Name);
      } catch {
        // docker's idresolver shows the ID when the service is gone.
      }
    }
    for (const id of new Set(tasks.map((t) => t.NodeID ?? '').filter((id) => id !== ''))) {
      try {
        const n = await api.inspectNode(id);
        nodeNames.set(id, n.Spec.Name || n.Description.Hostname || id);
      } catch {
        // As above: the node may have been removed.
      }
    }
  }
  return formatTaskTable(tasks, { serviceNames, nodeNames, trunc: opts.trunc !== false, now });
}
