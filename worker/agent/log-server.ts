// Serves /shoal/logs/1 (shared/protocol/logs.ts) from this node's executor:
// the output of the tasks a manager asks for, oldest first and merged by time
// across tasks, or as it comes while following. It reads the executor only as
// fast as the stream drains, and stops when the manager closes its end.
import { isShoalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStream } from '../../shared/p2p/host.js';
import {
  batches,
  entryWireBytes,
  fanIn,
  LOGS_BATCH_BYTES,
  type LogsFrame,
  type LogsRequest,
  logTimeNs,
  MAX_ENTRIES_PER_FRAME,
  mergeSorted,
  parseLogsRequest,
  splitLine,
  type WireLogEntry,
} from '../../shared/protocol/logs.js';
import type { Executor } from '../executor/executor.js';

export interface LogServerOptions {
  logger: Logger;
  /** How long a batch of lines may wait for more before it is sent (default 20 ms). */
  batchDelayMs?: number;
  /** Time allowed for the request to arrive (default 10 s). */
  requestTimeoutMs?: number;
}

/** One task's line, or why its output stopped. */
type Item = { kind: 'entry'; entry: WireLogEntry; key: bigint } | { kind: 'error'; taskId: string; message: string; key: bigint };

/** Serve one stream: read the request, send the lines, end. Never throws. */
export async function serveLogStream(s: MessageStream, executor: Executor, o: LogServerOptions): Promise<void> {
  const log = o.logger;
  let req: LogsRequest;
  try {
    const first = await s.read({ signal: AbortSignal.timeout(o.requestTimeoutMs ?? 10_000) });
    if (first.done) return void (await s.close());
    req = parseLogsRequest(first.value);
  } catch (err) {
    log.warn({ peer: s.remotePeer, err: message(err) }, 'bad logs request');
    trySend(s, { type: 'error', message: `bad logs request: ${message(err)}` });
    return void (await s.close());
  }

  const stop = new AbortController();
  // The manager sends nothing after its request: its end closing (or anything else) means stop.
  s.read().then(
    () => stop.abort(),
    () => stop.abort(),
  );
  let sent = 0;
  try {
    const sources = req.taskIds.map((id) => taskItems(executor, id, req, stop.signal));
    const items = req.follow ? fanIn(sources) : mergeSorted(sources, (i) => i.key);
    const grouped = batches(items, {
      maxBytes: LOGS_BATCH_BYTES,
      maxItems: MAX_ENTRIES_PER_FRAME,
      maxDelayMs: o.batchDelayMs ?? 20,
      sizeOf: (i) => (i.kind === 'entry' ? entryWireBytes(i.entry) : i.message.length + 64),
    });
    for await (const batch of grouped) {
      if (stop.signal.aborted) break;
      for (const frame of framesOf(batch)) {
        if (!s.send(frame)) await s.onDrain();
        if (frame.type === 'entries') sent += frame.entries.length;
      }
    }
    if (!stop.signal.aborted) s.send({ type: 'end' } satisfies LogsFrame);
    await s.close();
  } catch (err) {
    if (stop.signal.aborted) {
      s.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    log.warn({ peer: s.remotePeer, err: message(err) }, 'serving logs failed');
    trySend(s, { type: 'error', message: `reading logs failed: ${message(err)}` });
    await s.close();
  } finally {
    // Debug: one line per request says who asked for what and how it ended (ended early: the manager went away).
    log.debug({ peer: s.remotePeer, tasks: req.taskIds.length, follow: req.follow, lines: sent, endedEarly: stop.signal.aborted }, 'served logs');
    stop.abort();
  }
}

/** A task's lines as items, its failure as a last item: one task cannot end the others' output. */
async function* taskItems(executor: Executor, taskId: string, req: LogsRequest, signal: AbortSignal): AsyncGenerator<Item, void, undefined> {
  const opts = {
    follow: req.follow,
    ...(req.tail !== undefined ? { tail: req.tail } : {}),
    ...(req.sinceMs !== undefined ? { sinceMs: req.sinceMs } : {}),
    ...(req.untilMs !== undefined ? { untilMs: req.untilMs } : {}),
  };
  try {
    for await (const e of executor.logs(taskId, opts, signal)) {
      if (e.stream === 'stdout' ? !req.stdout : !req.stderr) continue;
      const key = logTimeNs(e.time);
      for (const line of splitLine(e.line)) {
        yield { kind: 'entry', key, entry: { taskId, stream: e.stream === 'stdout' ? 1 : 2, time: e.time, line } };
      }
    }
  } catch (err) {
    if (!signal.aborted) yield { kind: 'error', taskId, message: message(err), key: -1n };
  }
}

/** A batch as frames: entries together, each error on its own, in order. */
function framesOf(batch: readonly Item[]): LogsFrame[] {
  const out: LogsFrame[] = [];
  let entries: WireLogEntry[] = [];
  for (const i of batch) {
    if (i.kind === 'entry') {
      entries.push(i.entry);
      continue;
    }
    if (entries.length > 0) out.push({ type: 'entries', entries });
    entries = [];
    out.push({ type: 'error', taskId: i.taskId, message: i.message });
  }
  if (entries.length > 0) out.push({ type: 'entries', entries });
  return out;
}

function trySend(s: MessageStream, frame: LogsFrame): void {
  try {
    s.send(frame);
  } catch {
    // The stream is gone: nobody is left to tell.
  }
}

function message(err: unknown): string {
  if (isShoalError(err) || err instanceof Error) return err.message;
  return String(err);
}
