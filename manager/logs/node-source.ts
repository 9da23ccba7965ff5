// One node's part of a logs request: a /shoal/logs/1 stream to the node's
// daemon, its frames turned into LogEvents. Lines are read off the stream
// only as the consumer takes them, so a slow HTTP client slows the node down
// (through the stream's window) instead of filling the manager's memory.
import type { MessageStream } from '../../shared/p2p/host.js';
import { type LogsRequest, MAX_TASKS_PER_LOGS_REQUEST, parseLogsFrame } from '../../shared/protocol/logs.js';
import type { TaskRecord } from '../../shared/model/index.js';
import { type NodeGroup, unavailableMessage } from './selection.js';
import type { LogEvent, LogNode, LogsQuery } from './types.js';

export type OpenLogStream = (node: LogNode, signal: AbortSignal) => Promise<MessageStream>;

/** The streams a node group needs: one, unless it has more tasks than one request may carry. */
export function nodeRequests(g: NodeGroup, q: LogsQuery): LogsRequest[] {
  const out: LogsRequest[] = [];
  for (let i = 0; i < g.tasks.length; i += MAX_TASKS_PER_LOGS_REQUEST) {
    const r: LogsRequest = {
      type: 'request',
      taskIds: g.tasks.slice(i, i + MAX_TASKS_PER_LOGS_REQUEST).map((t) => t.ID),
      follow: q.follow,
      stdout: q.stdout,
      stderr: q.stderr,
    };
    if (q.tail !== undefined) r.tail = q.tail;
    if (q.sinceMs !== undefined) r.sinceMs = q.sinceMs;
    if (q.untilMs !== undefined) r.untilMs = q.untilMs;
    out.push(r);
  }
  return out;
}

/**
 * The events of one request to one node. Never throws: a node that cannot be
 * reached, or fails midway, becomes a warning and the end of this source.
 */
export async function* nodeEvents(
  g: NodeGroup,
  req: LogsRequest,
  open: OpenLogStream,
  signal: AbortSignal,
): AsyncGenerator<LogEvent, void, undefined> {
  if (g.node === undefined || g.down) {
    yield { kind: 'warning', message: unavailableMessage(g) };
    return;
  }
  const wanted = new Set(req.taskIds);
  const tasks = new Map<string, TaskRecord>(g.tasks.filter((t) => wanted.has(t.ID)).map((t) => [t.ID, t]));
  let s: MessageStream;
  try {
    s = await open(g.node, signal);
  } catch (err) {
    if (!signal.aborted) yield { kind: 'warning', message: unavailableMessage(g, messageOf(err)) };
    return;
  }
  let ended = false;
  const cancel = (): void => s.abort(new Error('the logs request was cancelled'));
  signal.addEventListener('abort', cancel, { once: true });
  try {
    s.send(req);
    for (;;) {
      const r = await s.read({ signal });
      if (r.done) {
        yield { kind: 'warning', message: unavailableMessage(g, 'it closed the log stream before the end') };
        return;
      }
      const f = parseLogsFrame(r.value);
      if (f.type === 'end') {
        ended = true;
        return;
      }
      if (f.type === 'error') {
        const who = f.taskId === undefined ? `node ${g.node.hostname}` : `task ${f.taskId} on node ${g.node.hostname}`;
        yield { kind: 'warning', message: `${who}: ${f.message}` };
        if (f.taskId === undefined) return;
        continue;
      }
      for (const e of f.entries) {
        const t = tasks.get(e.taskId);
        // Only what was asked for: a node cannot slip in other tasks' output.
        if (t === undefined) continue;
        yield { kind: 'line', taskId: t.ID, serviceId: t.ServiceID, nodeId: g.nodeId, stream: e.stream === 1 ? 'stdout' : 'stderr', time: e.time, line: e.line };
      }
    }
  } catch (err) {
    if (!signal.aborted) yield { kind: 'warning', message: unavailableMessage(g, messageOf(err)) };
  } finally {
    signal.removeEventListener('abort', cancel);
    if (ended) void s.close();
    else s.abort(new Error('the logs request was cancelled'));
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
