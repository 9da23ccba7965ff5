// `shoal version`: the client section of `docker version`. A server section joins it once
// the daemon exists.

import { Option, type Command } from 'commander';
import { API_VERSION, MIN_API_VERSION, VERSION } from '../shared/version.js';

export interface ClientVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  NodeVersion: string;
  Os: string;
  Arch: string;
}

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

export function formatClientVersion(v: ClientVersion): string {
  const rows: [string, string][] = [
    ['Version', v.Version],
    ['API version', `${v.ApiVersion} (minimum ${v.MinAPIVersion})`],
    ['Node version', v.NodeVersion],
    ['OS/Arch', `${v.Os}/${v.Arch}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return ['Client:', ...rows.map(([k, val]) => ` ${`${k}:`.padEnd(width)}${val}`)].join('\n') + '\n';
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('show version information')
    .addOption(new Option('-f, --format <format>', 'output format (default: a table)').choices(['json']))
    .action((opts: { format?: 'json' }) => {
      const v = clientVersion();
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify({ Client: v })}\n` : formatClientVersion(v));
    });
}
