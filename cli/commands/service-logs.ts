// `shoal service logs [OPTIONS] SERVICE|TASK`, as `docker service logs` does
// it (cli/command/service/logs.go): the service, else the task, by the name
// given; its logs with details (unless --raw) so each line can be prefixed
// with `service.slot.task@node`; stderr lines to stderr; an error the daemon
// puts in the stream (nodes it could not read) ends the command with it.
import { Option, type Command } from 'commander';
import { ShoalError } from '../../shared/errors.js';
import type { Node, Service, Task } from '../../shared/model/index.js';
import { DaemonError, type DaemonClient } from '../http-client.js';
import { LineFormatter, type NameSource } from '../logs/line-format.js';
import { MuxDecoder } from '../logs/mux.js';
import { logsTimestamp } from '../logs/since.js';
import { openStream } from '../logs/stream-client.js';
import { object, seg } from './answers.js';
import type { CliIO, CommandContext } from './context.js';

interface LogsOpts {
  details?: boolean;
  follow?: boolean;
  resolve: boolean;
  taskIds: boolean;
  trunc: boolean;
  raw?: boolean;
  since?: string;
  tail: string;
  timestamps?: boolean;
}

export function registerServiceLogs(service: Command, ctx: CommandContext): void {
  service
    .command('logs')
    .description('fetch the logs of a service or task')
    .argument('<service|task>', 'service name, ID or ID prefix, or a task ID or name')
    .option('--details', 'show extra details provided to logs')
    .option('-f, --follow', 'follow log output')
    .option('--no-resolve', 'do not map IDs to names in output')
    .option('--no-task-ids', 'do not include task IDs in output')
    .option('--no-trunc', 'do not truncate output')
    .option('--raw', 'do not neatly format logs')
    .option('--since <time>', 'show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .addOption(new Option('-n, --tail <n>', 'number of lines to show from the end of the logs').default('all'))
    .option('-t, --timestamps', 'show timestamps')
    .action(async (target: string, opts: LogsOpts, cmd: Command) => {
      await serviceLogs(ctx.client(cmd), ctx.io, target, opts);
    });
}

async function serviceLogs(client: DaemonClient, io: CliIO, target: string, opts: LogsOpts): Promise<void> {
  const { kind, slotWidth } = await findTarget(client, target);
  const query = {
    stdout: true,
    stderr: true,
    since: opts.since === undefined ? undefined : logsTimestamp(opts.since, new Date()),
    timestamps: opts.timestamps === true,
    follow: opts.follow === true,
    tail: opts.tail,
    // The context in the details is what names each line.
    details: opts.details === true || opts.raw !== true,
  };
  const formatter =
    opts.raw === true
      ? undefined
      : new LineFormatter(
          { timestamps: query.timestamps, details: opts.details === true, taskIds: opts.taskIds, trunc: opts.trunc, slotWidth },
          names(client, opts.resolve),
        );
  const stream = await openStream(client.address, `/${kind}s/${seg(target)}/logs`, query);
  const decoder = new MuxDecoder();
  try {
    for await (const chunk of stream.body) {
      for (const f of decoder.push(chunk)) {
        // stdcopy's words: the daemon's own error ends the copy.
        if (f.stream === 'error') throw new ShoalError('daemon_error', `error from daemon in stream: ${f.payload.toString()}`, 500);
        const text = (formatter ? await formatter.format(f.payload) : f.payload).toString();
        if (f.stream === 'stdout') io.out(text);
        else io.err(text);
      }
    }
    if (decoder.pending > 0) throw new ShoalError('bad_response', "the daemon's log stream ended in the middle of a line", 502);
  } finally {
    await stream.close();
  }
}

/** The service named, else the task (docker asks in this order), and how wide slot numbers get. */
async function findTarget(client: DaemonClient, target: string): Promise<{ kind: 'service' | 'task'; slotWidth: number }> {
  try {
    const svc = object<Service>(await client.get(`/services/${seg(target)}`), `GET /services/${target}`);
    const replicas = svc.Spec.Mode?.Replicated?.Replicas;
    return { kind: 'service', slotWidth: replicas === undefined ? 1 : String(replicas).length };
  } catch (err) {
    if (!(err instanceof DaemonError) || err.status !== 404) throw err;
  }
  try {
    const task = object<Task>(await client.get(`/tasks/${seg(target)}`), `GET /tasks/${target}`);
    return { kind: 'task', slotWidth: String(task.Slot ?? 0).length };
  } catch (err) {
    if (err instanceof DaemonError && err.status === 404) throw new ShoalError('not_found', `no such task or service: ${target}`, 404);
    throw err;
  }
}

/** Names from the daemon (docker's idresolver): a node or service that cannot be found keeps its ID. */
function names(client: DaemonClient, resolve: boolean): NameSource {
  const lookup = async (path: string, pick: (v: unknown) => string | undefined, id: string): Promise<string> => {
    if (!resolve) return id;
    try {
      return pick(await client.get(path)) || id;
    } catch {
      return id;
    }
  };
  return {
    nodeName: (id) =>
      lookup(`/nodes/${seg(id)}`, (v) => {
        const n = object<Node>(v, `GET /nodes/${id}`);
        return n.Spec?.Name || n.Description?.Hostname;
      }, id),
    serviceName: (id) => lookup(`/services/${seg(id)}`, (v) => object<Service>(v, `GET /services/${id}`).Spec?.Name, id),
    taskSlot: async (id) => object<Task>(await client.get(`/tasks/${seg(id)}`), `GET /tasks/${id}`).Slot ?? 0,
  };
}
