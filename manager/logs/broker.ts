// The manager's side of `docker service logs`: finds the tasks a request
// covers, asks each node that ran some of them for their output over
// /shoal/logs/1, and combines the answers. Without follow, the lines come
// out in time order across nodes; following, as they arrive, and a service's
// new tasks join as they start. A node that cannot answer is a warning, not
// the end: one dead node must not hide the others' output.
import type { Logger } from '../../shared/logger.js';
import type { TaskRecord } from '../../shared/model/index.js';
import { fanIn, logTimeNs, mergeSorted } from '../../shared/protocol/logs.js';
import type { ReplicatedStore } from '../store/replicated-store.js';
import type { Watcher } from '../store/watch.js';
import { nodeEvents, nodeRequests, type OpenLogStream } from './node-source.js';
import { groupByNode, hasOutput, type NodeGroup, selectLogTasks } from './selection.js';
import type { LogEvent, LogsQuery, LogTarget } from './types.js';

export interface LogBrokerOptions {
  store: ReplicatedStore;
  /** Opens /shoal/logs/1 to a node's daemon (the daemon serves its own node in-process). */
  open: OpenLogStream;
  logger: Logger;
}

export class LogBroker {
  constructor(private readonly o: LogBrokerOptions) {}

  /**
   * Resolves the target with a linearizable read (a service just created is
   * found) and starts asking the nodes. An unknown or ambiguous target fails
   * here, before any line: the API can still answer 404 or 400. Aborting
   * `signal` stops every node and ends the events.
   */
  async open(target: LogTarget, q: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogEvent>> {
    const { serviceId, groups, watcher } = await this.o.store.readLinearizable((v) => {
      const selection = selectLogTasks(v, target);
      const id = selection.serviceId;
      // Watched from within the same read, so no task can start unseen in between.
      const w =
        q.follow && id !== undefined
          ? this.o.store.watch({ tables: ['tasks'], filter: (e) => e.table === 'tasks' && e.object.ServiceID === id })
          : undefined;
      const tasks = selection.tasks.filter((t) => hasOutput(t, q.follow));
      return { serviceId: id, groups: groupByNode(tasks, (n) => v.get('nodes', n)), watcher: w };
    });
    const sources = groups.flatMap((g) => this.sources(g, q, signal));
    if (!q.follow) return this.logged(mergeSorted(sources, timeKey));
    if (watcher === undefined || serviceId === undefined) return this.logged(fanIn(sources));
    const seen = new Set(groups.flatMap((g) => g.tasks.map((t) => t.ID)));
    return this.logged(fanIn(sources, this.newTaskSources(watcher, serviceId, seen, q, signal)));
  }

  private sources(g: NodeGroup, q: LogsQuery, signal: AbortSignal): AsyncIterable<LogEvent>[] {
    return nodeRequests(g, q).map((r) => nodeEvents(g, r, this.o.open, signal));
  }

  /** A source for each task of the service that starts from now on. */
  private async *newTaskSources(
    watcher: Watcher,
    serviceId: string,
    seen: Set<string>,
    q: LogsQuery,
    signal: AbortSignal,
  ): AsyncGenerator<AsyncIterable<LogEvent>, void, undefined> {
    const stop = (): void => watcher.close();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const ev of watcher) {
        let candidates: readonly TaskRecord[];
        if (ev.kind === 'reset') candidates = this.o.store.view().find('tasks', 'service', serviceId);
        else if (ev.kind !== 'delete' && ev.table === 'tasks') candidates = [ev.object];
        else continue;
        for (const t of candidates) {
          if (seen.has(t.ID) || !hasOutput(t, true)) continue;
          seen.add(t.ID);
          const view = this.o.store.view();
          for (const g of groupByNode([t], (n) => view.get('nodes', n))) yield* this.sources(g, q, signal);
        }
      }
    } catch (err) {
      // Lines of the tasks already followed keep coming; only new tasks are missed.
      if (!signal.aborted) this.o.logger.warn({ err, service: serviceId }, 'logs: stopped picking up new tasks of the service');
    } finally {
      signal.removeEventListener('abort', stop);
      watcher.close();
    }
  }

  private async *logged(events: AsyncIterable<LogEvent>): AsyncGenerator<LogEvent, void, undefined> {
    for await (const e of events) {
      if (e.kind === 'warning') this.o.logger.warn({ reason: e.message }, 'logs: some output could not be read');
      yield e;
    }
  }
}

/** Order of events across nodes: warnings first, lines by their time. */
function timeKey(e: LogEvent): bigint {
  if (e.kind === 'warning') return -1n;
  try {
    return logTimeNs(e.time);
  } catch {
    return 0n;
  }
}
