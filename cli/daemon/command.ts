// `shoal daemon`: run this host's daemon in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';

export const DEFAULT_DATA_ROOT = '/var/lib/shoal';
/** Kept here (not imported from worker/) so registering the command loads nothing heavy. */
const EXECUTORS = ['oci', 'sim'];

export interface DaemonCommandOptions {
  dataRoot: string;
  executor: string;
  runtime: string;
  insecureRegistry?: string[];
}

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the shoal daemon (one per host); -H sets where its API listens')
    .option('--data-root <dir>', 'where the daemon keeps its identity, swarm state and Raft log', DEFAULT_DATA_ROOT)
    .option(
      '--executor <kind>',
      `what runs this node's tasks: ${EXECUTORS.join(' or ')} (oci: real containers with runc; sim: a simulated runtime for tests and benchmarks)`,
      'oci',
    )
    .option('--runtime <path>', 'the OCI runtime the oci executor runs containers with (runc, or a path such as /usr/bin/crun)', 'runc')
    .option(
      '--insecure-registry <host>',
      'a registry (host[:port] or CIDR) spoken to over plain HTTP; loopback registries always are (repeatable)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .action(async (opts: DaemonCommandOptions, command: Command) => {
      const { runDaemon } = await import('./run.js');
      await runDaemon(opts, command);
    });
}
