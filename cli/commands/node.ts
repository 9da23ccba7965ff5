// `shoal node ls|inspect|update|promote|demote|rm|ps`, following the docker CLI's requests
// and wording (cli/command/node in docker/cli).

import { Option, type Command } from 'commander';
import type { Node, NodeAvailability, NodeRole, Task } from '../../shared/model/index.js';
import { parseFilters } from '../format/filters.js';
import { formatNodeIds, formatNodePretty, formatNodeTable, mergeNodeUpdate, validateLabel, type NodeUpdateChanges } from '../format/node.js';
import { ClusterApi } from './api.js';
import { asOptionParser, collect, formatOption, PreformattedError, printJson, type CommandContext } from './context.js';
import { describeError } from './errors.js';
import { ServiceApi } from './service-api.js';
import { renderTaskTable } from './task-table.js';

/** docker's updateNodes: read each node, change its spec, write it back at the version read. */
async function updateNodes(
  api: ClusterApi,
  refs: readonly string[],
  change: (node: Node) => Node['Spec'] | 'unchanged',
  success: (ref: string) => void,
): Promise<void> {
  for (const ref of refs) {
    const node = await api.inspectNode(ref);
    const spec = change(node);
    if (spec === 'unchanged') continue;
    await api.updateNode(node.ID, node.Version.Index, spec);
    success(ref);
  }
}

/** Throws every collected error at once, one per line, as docker does for multi-node commands. */
function failIfAny(errors: readonly unknown[]): void {
  if (errors.length > 0) throw new PreformattedError(errors.map((e) => describeError(e)).join('\n'));
}

interface UpdateOpts {
  availability?: NodeAvailability;
  role?: NodeRole;
  labelAdd?: string[];
  labelRm?: string[];
}

interface PsOpts {
  filter?: string[];
  /** false with --no-trunc. */
  trunc?: boolean;
  /** false with --no-resolve. */
  resolve?: boolean;
  quiet?: boolean;
  format?: 'json';
}

export function registerNode(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const node = program.command('node').description('manage swarm nodes');

  node
    .command('ls')
    .alias('list')
    .description('list nodes in the swarm')
    .option('-q, --quiet', 'only display IDs')
    .addOption(new Option('-f, --filter <name=value>', 'filter output (id, label, node.label, membership, name, role); repeatable').argParser(collect))
    .addOption(formatOption())
    .action(async (opts: { quiet?: boolean; filter?: string[]; format?: 'json' }, cmd: Command) => {
      const filters = parseFilters(opts.filter ?? []);
      const api = new ClusterApi(ctx.client(cmd));
      const nodes = await api.listNodes(filters);
      if (opts.format === 'json') return printJson(io, nodes);
      if (opts.quiet) return io.out(formatNodeIds(nodes));
      // Like docker, ask /info which node is "self" only when there is a row to mark.
      const selfId = nodes.length > 0 ? await api.selfNodeId() : '';
      io.out(formatNodeTable(nodes, selfId));
    });

  node
    .command('inspect')
    .description('display detailed information on one or more nodes ("self" is this node)')
    .argument('<node...>', 'node ID, ID prefix, hostname, or "self"')
    .option('--pretty', 'print the information in a human friendly format')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (refs: string[], opts: { pretty?: boolean; format?: 'json' }, cmd: Command) => {
      const api = new ClusterApi(ctx.client(cmd));
      if (opts.pretty && opts.format === undefined) {
        // docker stops at the first node it cannot show in this mode.
        for (const ref of refs) io.out(formatNodePretty(await api.inspectNode(await api.resolveNodeRef(ref))));
        return;
      }
      const found: Node[] = [];
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          found.push(await api.inspectNode(await api.resolveNodeRef(ref)));
        } catch (err) {
          errors.push(err);
        }
      }
      // docker prints what it found (even "[]") and then the errors.
      printJson(io, found, opts.format === 'json' ? undefined : 4);
      failIfAny(errors);
    });

  node
    .command('update')
    .description('update a node')
    .argument('<node>', 'node ID, ID prefix or hostname')
    .addOption(new Option('--availability <availability>', 'availability of the node').choices(['active', 'pause', 'drain']))
    .addOption(new Option('--role <role>', 'role of the node').choices(['worker', 'manager']))
    .addOption(
      new Option('--label-add <key=value>', 'add or update a node label (repeatable)').argParser(
        asOptionParser((v: string, prev?: string[]) => collect(validateLabel(v), prev)),
      ),
    )
    .addOption(new Option('--label-rm <key>', 'remove a node label if it exists (repeatable)').argParser(collect))
    .action(async (ref: string, opts: UpdateOpts, cmd: Command) => {
      const changes: NodeUpdateChanges = {
        role: opts.role,
        availability: opts.availability,
        labelAdd: opts.labelAdd ?? [],
        labelRm: opts.labelRm ?? [],
      };
      await updateNodes(
        new ClusterApi(ctx.client(cmd)),
        [ref],
        (n) => mergeNodeUpdate(n.Spec, changes),
        () => io.out(`${ref}\n`),
      );
    });

  node
    .command('promote')
    .description('promote one or more nodes to manager in the swarm')
    .argument('<node...>', 'node ID, ID prefix or hostname')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await updateNodes(
        new ClusterApi(ctx.client(cmd)),
        refs,
        (n) => {
          if (n.Spec.Role === 'manager') {
            io.out(`Node ${n.ID} is already a manager.\n`);
            return 'unchanged';
          }
          return { ...n.Spec, Role: 'manager' };
        },
        (ref) => io.out(`Node ${ref} promoted to a manager in the swarm.\n`),
      );
    });

  node
    .command('demote')
    .description('demote one or more nodes from manager in the swarm')
    .argument('<node...>', 'node ID, ID prefix or hostname')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await updateNodes(
        new ClusterApi(ctx.client(cmd)),
        refs,
        (n) => {
          if (n.Spec.Role === 'worker') {
            io.out(`Node ${n.ID} is already a worker.\n`);
            return 'unchanged';
          }
          return { ...n.Spec, Role: 'worker' };
        },
        (ref) => io.out(`Manager ${ref} demoted in the swarm.\n`),
      );
    });

  node
    .command('rm')
    .alias('remove')
    .description('remove one or more nodes from the swarm')
    .argument('<node...>', 'node ID, ID prefix or hostname')
    .option('-f, --force', 'force remove a node from the swarm')
    .action(async (refs: string[], opts: { force?: boolean }, cmd: Command) => {
      const api = new ClusterApi(ctx.client(cmd));
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          await api.removeNode(ref, opts.force === true);
          io.out(`${ref}\n`);
        } catch (err) {
          errors.push(err);
        }
      }
      failIfAny(errors);
    });

  node
    .command('ps')
    .description('list tasks running on one or more nodes (default: this node)')
    .argument('[node...]', 'node ID, ID prefix, hostname, or "self"')
    .addOption(new Option('-f, --filter <name=value>', 'filter output; repeatable').argParser(collect))
    .option('--no-trunc', 'do not truncate output')
    .option('--no-resolve', 'do not map IDs to names')
    .option('-q, --quiet', 'only display task IDs')
    .addOption(formatOption())
    .action(async (refs: string[], opts: PsOpts, cmd: Command) => {
      const client = ctx.client(cmd);
      const api = new ClusterApi(client);
      const tasksApi = new ServiceApi(client);
      const extra = parseFilters(opts.filter ?? []);
      const tasks: Task[] = [];
      const errors: unknown[] = [];
      // docker lists each node's tasks with GET /tasks?filters={"node":[<id>]}, plus the -f filters.
      for (const ref of refs.length > 0 ? refs : ['self']) {
        try {
          const n = await api.inspectNode(await api.resolveNodeRef(ref));
          tasks.push(...(await tasksApi.listTasks({ ...extra, node: [n.ID] })));
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length === 0 || tasks.length > 0) {
        if (opts.format === 'json') printJson(io, tasks);
        else if (opts.quiet) io.out(tasks.map((t) => `${t.ID}\n`).join(''));
        else io.out(await renderTaskTable(tasksApi, tasks, opts));
      }
      failIfAny(errors);
    });
}
