// `shoal daemon`: run this host's daemon in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';

export const DEFAULT_DATA_ROOT = '/var/lib/shoal';
/** Kept here (not imported from worker/) so registering the command loads nothing heavy. */
const EXECUTORS = ['oci', 'sim'];

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the shoal daemon (one per host); -H sets where its API listens')
    .option('--data-root <dir>', 'where the daemon keeps its identity, swarm state and Raft log', DEFAULT_DATA_ROOT)
    .option(
      '--executor <kind>',
      `what runs this node's tasks: ${EXECUTORS.join(' or ')} (sim is a simulated runtime for tests and benchmarks; oci, real containers, is not available yet)`,
      'oci',
    )
    .action(async (opts: { dataRoot: string; executor: string }, command: Command) => {
      const { runDaemon } = await import('./run.js');
      await runDaemon(opts, command);
    });
}
