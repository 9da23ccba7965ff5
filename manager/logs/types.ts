// What the logs API asks of the backend and gets back (GET /services/{id}/logs,
// GET /tasks/{id}/logs). Shared by the broker, the route and the daemon.

export interface LogTarget {
  kind: 'service' | 'task';
  /** ID, name or unique ID prefix, as the user wrote it. */
  ref: string;
}

export interface LogsQuery {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Last N lines of each task; undefined: all. */
  tail?: number;
  /** Unix ms: only lines at or after. */
  sinceMs?: number;
  /** Unix ms: only lines before. */
  untilMs?: number;
}

/** One line of one task, with the context Docker's details carry. */
export interface LogLine {
  kind: 'line';
  taskId: string;
  serviceId: string;
  nodeId: string;
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds. */
  time: string;
  line: Uint8Array;
}

/** Some output could not be read (a node down, a task's log unreadable); the rest goes on. */
export interface LogWarning {
  kind: 'warning';
  message: string;
}

export type LogEvent = LogLine | LogWarning;

/** Where a node's daemon listens, from its NodeRecord. */
export interface LogNode {
  nodeId: string;
  peerId: string;
  /** Multiaddr of its cluster listener. */
  addr: string;
  hostname: string;
}
