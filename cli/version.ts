// `shoal version`: the Client and Server sections of `docker version`. The client part
// is printed even when the daemon cannot be reached, then the error, as docker does.

import type { Command } from 'commander';
import { API_VERSION, MIN_API_VERSION, VERSION } from '../shared/version.js';
import { ClusterApi } from './commands/api.js';
import { formatOption, printJson, type CommandContext } from './commands/context.js';
import { formatClientVersion, formatVersion, type ClientVersion, type ServerVersion } from './format/version.js';

export type { ClientVersion } from './format/version.js';
export { formatClientVersion } from './format/version.js';

// Docker reports Go's GOARCH names; map Node's so the output reads the same.
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };

export function clientVersion(): ClientVersion {
  return {
    Version: VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    NodeVersion: process.version,
    Os: process.platform,
    Arch: GO_ARCH[process.arch] ?? process.arch,
  };
}

export function registerVersion(program: Command, ctx: CommandContext): void {
  program
    .command('version')
    .description('show the version of this client and of the daemon')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (opts: { format?: 'json' }, cmd: Command) => {
      const client = clientVersion();
      let server: ServerVersion;
      try {
        server = await new ClusterApi(ctx.client(cmd)).version();
      } catch (err) {
        if (opts.format === 'json') printJson(ctx.io, { Client: client, Server: null });
        else ctx.io.out(formatClientVersion(client));
        throw err;
      }
      if (opts.format === 'json') printJson(ctx.io, { Client: client, Server: server });
      else ctx.io.out(formatVersion(client, server));
    });
}
