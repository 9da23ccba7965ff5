// `shoal network create|ls|inspect|rm`, following the docker CLI's requests
// and wording (cli/command/network in docker/cli).

import { Option, type Command } from 'commander';
import { ShoalError } from '../../shared/errors.js';
import type { Network, NetworkCreateRequest } from '../../shared/model/index.js';
import type { NetworkCreateResponse } from '../../manager/api/backend.js';
import { encodeFilters, parseFilters, type Filters } from '../format/filters.js';
import { buildNetworkCreate, formatNetworkIds, formatNetworkTable, type NetworkCreateFlags } from '../format/network.js';
import type { DaemonClient } from '../http-client.js';
import { array, object, seg } from './answers.js';
import { collect, formatOption, PreformattedError, printJson, type CommandContext } from './context.js';
import { describeError } from './errors.js';

export class NetworkApi {
  constructor(readonly client: DaemonClient) {}

  async create(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    return object<NetworkCreateResponse>(await this.client.post('/networks/create', req), 'POST /networks/create');
  }

  async list(filters: Filters = {}): Promise<Network[]> {
    return array<Network>(await this.client.get('/networks', { filters: encodeFilters(filters) }), 'GET /networks');
  }

  async inspect(ref: string): Promise<Network> {
    return object<Network>(await this.client.get(`/networks/${seg(ref)}`), `GET /networks/${ref}`);
  }

  async remove(ref: string): Promise<void> {
    await this.client.delete(`/networks/${seg(ref)}`);
  }
}

export function registerNetwork(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const network = program.command('network').description('manage swarm networks');

  network
    .command('create')
    .description('create an overlay network')
    .argument('<name>', 'network name')
    .option('-d, --driver <driver>', 'driver to manage the network (only "overlay")', 'overlay')
    .option('--attachable', 'enable manual container attachment')
    .option('--internal', 'restrict external access to the network')
    .option('--ingress', 'create the swarm routing-mesh network')
    .addOption(new Option('--subnet <cidr>', 'subnet in CIDR format, e.g. 10.10.0.0/24').argParser(collect))
    .addOption(new Option('--gateway <ip>', 'gateway for the subnet').argParser(collect))
    .addOption(new Option('--label <key=value>', 'set metadata on the network (repeatable)').argParser(collect))
    .addOption(new Option('-o, --opt <key=value>', 'driver options, e.g. com.docker.network.driver.mtu=1400 (repeatable)').argParser(collect))
    .action(async (name: string, opts: NetworkCreateFlags, cmd: Command) => {
      let req: NetworkCreateRequest;
      try {
        req = buildNetworkCreate(name, opts);
      } catch (err) {
        throw new ShoalError('invalid_argument', (err as Error).message, 400);
      }
      const created = await new NetworkApi(ctx.client(cmd)).create(req);
      if (created.Warning) io.err(`${created.Warning}\n`);
      io.out(`${created.Id}\n`);
    });

  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'only display network IDs')
    .option('--no-trunc', 'do not truncate the output')
    .addOption(new Option('-f, --filter <name=value>', 'filter output (driver, id, label, name, scope, type); repeatable').argParser(collect))
    .addOption(formatOption())
    .action(async (opts: { quiet?: boolean; trunc?: boolean; filter?: string[]; format?: 'json' }, cmd: Command) => {
      const networks = await new NetworkApi(ctx.client(cmd)).list(parseFilters(opts.filter ?? []));
      if (opts.format === 'json') return printJson(io, networks);
      if (opts.quiet) return io.out(formatNetworkIds(networks, opts.trunc !== false));
      io.out(formatNetworkTable(networks, opts.trunc !== false));
    });

  network
    .command('inspect')
    .description('display detailed information on one or more networks')
    .argument('<network...>', 'network name, ID or ID prefix')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (refs: string[], opts: { format?: 'json' }, cmd: Command) => {
      const api = new NetworkApi(ctx.client(cmd));
      const found: Network[] = [];
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          found.push(await api.inspect(ref));
        } catch (err) {
          errors.push(err);
        }
      }
      // docker prints what it found (even "[]") and then the errors.
      printJson(io, found, opts.format === 'json' ? undefined : 4);
      if (errors.length > 0) throw new PreformattedError(errors.map((e) => describeError(e)).join('\n'));
    });

  network
    .command('rm')
    .alias('remove')
    .description('remove one or more networks')
    .argument('<network...>', 'network name, ID or ID prefix')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const api = new NetworkApi(ctx.client(cmd));
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          await api.remove(ref);
          io.out(`${ref}\n`);
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw new PreformattedError(errors.map((e) => describeError(e)).join('\n'));
    });
}
