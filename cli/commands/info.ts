// `shoal info`: the daemon's GET /info, laid out like `docker info`.

import type { Command } from 'commander';
import { VERSION } from '../../shared/version.js';
import { formatInfo } from '../format/info.js';
import { ClusterApi } from './api.js';
import { formatOption, printJson, type CommandContext } from './context.js';

export function registerInfo(program: Command, ctx: CommandContext): void {
  program
    .command('info')
    .description('display system-wide information (this daemon and its swarm)')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (opts: { format?: 'json' }, cmd: Command) => {
      const info = await new ClusterApi(ctx.client(cmd)).info();
      if (opts.format === 'json') printJson(ctx.io, info);
      else ctx.io.out(formatInfo(VERSION, info));
    });
}
