// `shoal swarm init|join|join-token|leave|update|inspect`, following the docker CLI's
// requests and wording (cli/command/swarm in docker/cli).

import { Option, type Command } from 'commander';
import type { NodeAvailability } from '../../shared/model/index.js';
import { ShoalError } from '../../shared/errors.js';
import {
  ADD_MANAGER_HINT,
  buildInitRequest,
  buildJoinRequest,
  initMessage,
  joinCommandText,
  joinedMessage,
  LEFT_MESSAGE,
  mergeSwarmSpec,
  rotatedMessage,
  UPDATED_MESSAGE,
  type SwarmRole,
  type SwarmSpecFlags,
} from '../format/swarm.js';
import { parseDuration } from '../format/units.js';
import { DaemonError } from '../http-client.js';
import { ClusterApi } from './api.js';
import { asOptionParser, collect, formatOption, integer, nonNegativeInt, printJson, type CommandContext } from './context.js';

const AVAILABILITIES: NodeAvailability[] = ['active', 'pause', 'drain'];

function addSwarmSpecOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--task-history-limit <n>', 'task history retention limit').argParser(integer))
    .addOption(
      new Option('--dispatcher-heartbeat <duration>', 'dispatcher heartbeat period (ns|us|ms|s|m|h), e.g. 5s').argParser(
        asOptionParser((v) => {
          const ns = parseDuration(v);
          if (ns <= 0) throw new Error(`the heartbeat period must be positive, got "${v}"`);
          return ns;
        }),
      ),
    )
    .addOption(new Option('--snapshot-interval <n>', 'number of log entries between Raft snapshots').argParser(nonNegativeInt))
    .addOption(new Option('--max-snapshots <n>', 'number of additional Raft snapshots to retain').argParser(nonNegativeInt));
}

function specFlags(opts: SwarmSpecFlags): SwarmSpecFlags {
  return {
    taskHistoryLimit: opts.taskHistoryLimit,
    dispatcherHeartbeat: opts.dispatcherHeartbeat,
    snapshotInterval: opts.snapshotInterval,
    maxSnapshots: opts.maxSnapshots,
  };
}

/** docker's printJoinCommand: the join line for each role asked, via the node's manager address. */
async function joinCommands(api: ClusterApi, nodeId: string, roles: readonly SwarmRole[]): Promise<string> {
  const node = await api.inspectNode(nodeId);
  const swarm = await api.inspectSwarm();
  const addr = node.ManagerStatus?.Addr;
  // docker prints nothing when the node has no manager status (e.g. asked on a worker).
  if (addr === undefined) return '';
  return roles.map((role) => joinCommandText(role, role === 'worker' ? swarm.JoinTokens.Worker : swarm.JoinTokens.Manager, addr)).join('');
}

interface InitOpts extends SwarmSpecFlags {
  advertiseAddr?: string;
  listenAddr?: string;
  dataPathAddr?: string;
  dataPathPort?: number;
  defaultAddrPool?: string[];
  defaultAddrPoolMaskLength?: number;
  forceNewCluster?: boolean;
}

interface JoinOpts {
  token: string;
  advertiseAddr?: string;
  listenAddr?: string;
  dataPathAddr?: string;
  availability?: NodeAvailability;
}

export function registerSwarm(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const swarm = program.command('swarm').description('manage the swarm');

  addSwarmSpecOptions(
    swarm
      .command('init')
      .description('initialize a swarm with this node as its first manager')
      .option('--advertise-addr <addr>', 'advertised address (format: <ip|interface>[:port])')
      .option('--listen-addr <addr>', 'listen address (format: <ip|interface>[:port]; daemon default 0.0.0.0:2377)')
      .option('--data-path-addr <addr>', 'address or interface to use for data path traffic')
      .addOption(new Option('--data-path-port <port>', 'port number to use for data path traffic').argParser(nonNegativeInt))
      .addOption(new Option('--default-addr-pool <cidr>', 'default address pool in CIDR format (repeatable)').argParser(collect))
      .addOption(new Option('--default-addr-pool-mask-length <n>', 'default address pool subnet mask length').argParser(nonNegativeInt))
      .option('--force-new-cluster', 'force create a new cluster from current state'),
  ).action(async (opts: InitOpts, cmd: Command) => {
    const api = new ClusterApi(ctx.client(cmd));
    let nodeId: string;
    try {
      nodeId = await api.init(buildInitRequest(opts));
    } catch (err) {
      // docker's hint for the daemon's "which address?" refusal.
      if (err instanceof DaemonError && /could not choose an IP address to advertise|could not find the system's IP address/.test(err.message)) {
        throw new DaemonError(err.status, `${err.message} - specify one with --advertise-addr`);
      }
      throw err;
    }
    io.out(initMessage(nodeId));
    io.out(await joinCommands(api, nodeId, ['worker']));
    io.out(ADD_MANAGER_HINT);
  });

  swarm
    .command('join')
    .description('join a swarm as a worker or manager')
    .argument('<host:port>', 'address of a manager of the swarm')
    .requiredOption('--token <token>', 'token for entry into the swarm')
    .option('--advertise-addr <addr>', 'advertised address (format: <ip|interface>[:port])')
    .option('--listen-addr <addr>', 'listen address (format: <ip|interface>[:port]; daemon default 0.0.0.0:2377)')
    .option('--data-path-addr <addr>', 'address or interface to use for data path traffic')
    .addOption(new Option('--availability <availability>', 'availability of the node').choices(AVAILABILITIES))
    .action(async (remote: string, opts: JoinOpts, cmd: Command) => {
      const api = new ClusterApi(ctx.client(cmd));
      await api.join(buildJoinRequest(remote, opts));
      const info = await api.info();
      io.out(joinedMessage(info.Swarm?.ControlAvailable === true));
    });

  swarm
    .command('join-token')
    .description('show (or rotate) the command that joins a node as worker or manager')
    .argument('<role>', 'worker or manager')
    .option('-q, --quiet', 'only display the token')
    .option('--rotate', 'rotate the join token')
    .action(async (role: string, opts: { quiet?: boolean; rotate?: boolean }, cmd: Command) => {
      if (role !== 'worker' && role !== 'manager') throw new ShoalError('invalid_argument', `unknown role ${role}`, 400);
      const api = new ClusterApi(ctx.client(cmd));
      if (opts.rotate) {
        const current = await api.inspectSwarm();
        await api.updateSwarm(current.Version.Index, current.Spec, { worker: role === 'worker', manager: role === 'manager' });
        if (!opts.quiet) io.out(rotatedMessage(role));
      }
      // Read again: rotation changed the tokens.
      const sw = await api.inspectSwarm();
      if (opts.quiet) {
        io.out(`${role === 'worker' ? sw.JoinTokens.Worker : sw.JoinTokens.Manager}\n`);
        return;
      }
      io.out(await joinCommands(api, await api.selfNodeId(), [role]));
    });

  swarm
    .command('leave')
    .description('leave the swarm')
    .option('-f, --force', 'force this node to leave the swarm, ignoring warnings')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      await new ClusterApi(ctx.client(cmd)).leave(opts.force === true);
      io.out(LEFT_MESSAGE);
    });

  addSwarmSpecOptions(swarm.command('update').description('update the swarm settings')).action(
    async (opts: SwarmSpecFlags, cmd: Command) => {
      const flags = specFlags(opts);
      // docker shows the usage when nothing would change.
      if (Object.values(flags).every((v) => v === undefined)) cmd.help();
      const api = new ClusterApi(ctx.client(cmd));
      const current = await api.inspectSwarm();
      await api.updateSwarm(current.Version.Index, mergeSwarmSpec(current.Spec, flags));
      io.out(UPDATED_MESSAGE);
    },
  );

  swarm
    .command('inspect')
    .description('display the swarm (GET /swarm, join tokens included)')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (opts: { format?: 'json' }, cmd: Command) => {
      const sw = await new ClusterApi(ctx.client(cmd)).inspectSwarm();
      if (opts.format === 'json') printJson(io, sw);
      else printJson(io, [sw], 4);
    });
}
