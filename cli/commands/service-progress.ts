// Watching a service converge after create/update/scale/rollback (docker's
// waitOnService): poll GET /services/{id}, its up-to-date tasks and the nodes
// every 200 ms, feed a ConvergenceWatch and print what it says, until it says
// done, fails, the deadline passes, or Ctrl-C (the operation goes on in the
// background, as in docker).

import { ShoalError } from '../../shared/errors.js';
import { ConvergenceWatch, ProgressRenderer, type ProgressRecord } from '../format/progress.js';
import type { CliIO } from './context.js';
import type { ServiceApi } from './service-api.js';

export interface Terminal {
  isTTY: boolean;
  columns: number;
}

export interface WatchOptions {
  /** Print nothing (-q); the watch still decides the exit status. */
  quiet: boolean;
  terminal: Terminal;
  pollMs?: number;
  /** Give up after this long (the service keeps converging in the background). */
  deadlineMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Ends the watch early, like docker's SIGINT handling. */
  signal?: AbortSignal;
}

export const DEFAULT_POLL_MS = 200;
export const DEFAULT_DEADLINE_MS = 60 * 60 * 1000;

/** The watch failed (update paused, rollback paused) or timed out: the command exits 1 with this. */
export class ConvergenceError extends ShoalError {
  constructor(message: string) {
    super('not_converged', message, 500);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves when the service converged; rejects with ConvergenceError (or the
 * daemon's error). `ref` is what the user named the service by (the new ID
 * after create), as docker inspects and reports it: "Service web converged".
 */
export async function watchService(api: ServiceApi, ref: string, io: CliIO, opts: WatchOptions): Promise<void> {
  const renderer = new ProgressRenderer(opts.terminal.isTTY, opts.terminal.columns);
  const print = (p: ProgressRecord): void => {
    if (opts.quiet) return;
    const text = renderer.render(p);
    if (text !== '') io.out(text);
  };
  const watch = new ConvergenceWatch(ref, print);
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = now() + (opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
  for (;;) {
    const service = await api.inspectService(ref);
    let step = watch.onService(service, now());
    if (step.kind === 'continue') {
      const [tasks, nodes] = await Promise.all([
        api.listTasks({ service: [service.ID], '_up-to-date': ['true'] }),
        api.listNodes(),
      ]);
      const active = new Set(nodes.filter((n) => n.Status.State !== 'down').map((n) => n.ID));
      step = watch.onTasks(service, tasks, active, now());
    }
    if (step.kind === 'done') return;
    if (step.kind === 'failed') throw new ConvergenceError(step.message);
    if (opts.signal?.aborted) {
      print({ id: '', message: 'Operation continuing in background.' });
      print({ id: '', message: `Use \`shoal service ps ${ref}\` to check progress.` });
      return;
    }
    if (now() >= deadline) {
      throw new ConvergenceError(
        `service ${ref} has not converged in ${Math.round((opts.deadlineMs ?? DEFAULT_DEADLINE_MS) / 1000)}s; it keeps converging in the background (check with: shoal service ps ${ref})`,
      );
    }
    await sleep(opts.pollMs ?? DEFAULT_POLL_MS);
  }
}
