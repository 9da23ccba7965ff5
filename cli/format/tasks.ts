// `docker node ps`'s task table. Tasks have no shared model yet (GET /tasks arrives in a
// later issue), so this reads only the fields the table needs, each optional.

import { naturalCompare } from './natural.js';
import { formatTable } from './tabwriter.js';
import { capitalize, ellipsis, humanDuration } from './units.js';

export interface TaskLike {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status?: {
    Timestamp?: string;
    State?: string;
    Err?: string;
    PortStatus?: { Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number }> };
  };
}

export const TASK_TABLE_HEADER: readonly string[] = ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'];

export interface TaskTableOptions {
  /** Service ID -> name and node ID -> name; IDs are shown when missing (docker's --no-resolve). */
  serviceNames: ReadonlyMap<string, string>;
  nodeNames: ReadonlyMap<string, string>;
  /** Shorten IDs, images and errors as docker does unless --no-trunc. */
  trunc: boolean;
  /** Epoch milliseconds, for "Running 5 minutes ago". */
  now: number;
}

// docker: ServiceName.Slot for replicated services, ServiceName.NodeID for global ones.
function taskName(task: TaskLike, serviceNames: ReadonlyMap<string, string>): string {
  const service = serviceNames.get(task.ServiceID ?? '') ?? task.ServiceID ?? '';
  return task.Slot ? `${service}.${task.Slot}` : `${service}.${task.NodeID ?? ''}`;
}

/** docker's reference.FamiliarString without the digest: "docker.io/library/nginx:1@sha256:..." -> "nginx:1". */
export function displayImage(image: string, trunc: boolean): string {
  if (!trunc) return image;
  const at = image.indexOf('@');
  const named = at === -1 ? image : image.slice(0, at);
  const lastSlash = named.lastIndexOf('/');
  // Only a tagged reference loses its digest; "nginx@sha256:..." keeps it.
  if (at !== -1 && !named.slice(lastSlash + 1).includes(':')) return image;
  return named.replace(/^docker\.io\/library\/(?=[^/]+$)/, '').replace(/^docker\.io\//, '');
}

function currentState(task: TaskLike, now: number): string {
  const state = capitalize(task.Status?.State ?? '');
  const at = Date.parse(task.Status?.Timestamp ?? '');
  if (Number.isNaN(at)) return state;
  return `${state} ${humanDuration((now - at) * 1e6).toLowerCase()} ago`;
}

function ports(task: TaskLike): string {
  return (task.Status?.PortStatus?.Ports ?? []).map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort ?? 0}/${p.Protocol ?? ''}`).join(',');
}

/** Rows in docker's order: by name, newest first within a slot, older ones indented. */
export function taskRows(tasks: readonly TaskLike[], opts: TaskTableOptions): string[][] {
  const named = tasks.map((task) => ({ task, name: taskName(task, opts.serviceNames) }));
  named.sort((a, b) => naturalCompare(a.name, b.name) || Date.parse(b.task.CreatedAt ?? '') - Date.parse(a.task.CreatedAt ?? '') || 0);
  let previous: string | undefined;
  return named.map(({ task, name }) => {
    const display = name === previous ? ` \\_ ${name}` : name;
    previous = name;
    const err = task.Status?.Err ?? '';
    const shownErr = opts.trunc ? ellipsis(err, 30) : err;
    return [
      opts.trunc ? task.ID.slice(0, 12) : task.ID,
      display,
      displayImage(task.Spec?.ContainerSpec?.Image ?? '', opts.trunc),
      opts.nodeNames.get(task.NodeID ?? '') ?? task.NodeID ?? '',
      capitalize(task.DesiredState ?? ''),
      currentState(task, opts.now),
      shownErr === '' ? '' : `"${shownErr}"`,
      ports(task),
    ];
  });
}

export function formatTaskTable(tasks: readonly TaskLike[], opts: TaskTableOptions): string {
  return formatTable([TASK_TABLE_HEADER, ...taskRows(tasks, opts)]);
}
