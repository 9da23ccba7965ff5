// `shoal demo ...`: self-contained demonstrations that need no daemon.

import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';
import { getGlobalOptions } from './globals.js';
import { runRaftDemo } from './raft-demo.js';
import { runSwarmDemo } from './swarm-demo.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CommanderArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function registerDemo(program: Command): void {
  const demo = program.command('demo').description('run self-contained demonstrations (no daemon needed)');

  demo
    .command('raft')
    .description('run a Raft cluster in one process on the on-disk WAL, commit proposals, crash the leader')
    .addOption(new Option('--nodes <n>', 'number of Raft nodes').argParser(positiveInt).default(3))
    .addOption(new Option('--proposals <n>', 'number of proposals to commit').argParser(positiveInt).default(1000))
    .addOption(new Option('--data-dir <dir>', 'where the WALs go (default: a fresh temporary directory)'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { nodes: number; proposals: number; dataDir?: string; format: 'text' | 'json' }, cmd: Command) => {
      const { logLevel } = getGlobalOptions(cmd);
      await runRaftDemo({
        nodes: opts.nodes,
        proposals: opts.proposals,
        format: opts.format,
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
        ...(logLevel !== undefined ? { logLevel } : {}),
      });
    });

  demo
    .command('swarm')
    .description('run a real swarm of daemon processes on loopback, kill its leader, watch it fail over and rejoin')
    .addOption(new Option('--managers <n>', 'number of manager daemons').argParser(positiveInt).default(3))
    .addOption(new Option('--workers <n>', 'number of worker daemons').argParser(positiveInt).default(2))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--keep', 'keep the data roots and logs afterwards', false)
    .addOption(
      new Option('--executor <kind>', 'oci: real runc containers from an image in a registry on loopback (needs root, runc, docker-registry, busybox-static); sim: the simulated runtime; auto: oci when it can run')
        .choices(['auto', 'oci', 'sim'])
        .default('auto'),
    )
    .action(async (opts: { managers: number; workers: number; format: 'text' | 'json'; keep: boolean; executor: 'auto' | 'oci' | 'sim' }, cmd: Command) => {
      const { logLevel } = getGlobalOptions(cmd);
      await runSwarmDemo({ ...opts, logLevel: logLevel ?? 'info' });
    });
}
