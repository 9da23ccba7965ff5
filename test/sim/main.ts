// npm run sim -- --seeds N [--nodes 3|5] [--steps S] [--seed X] [--bug NAME]
import { Command, InvalidArgumentError, Option } from 'commander';
import { RAFT_BUGS, type RaftBug } from '../../manager/raft/raft.js';
import { runSeed } from './world.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command('sim')
  .description('Deterministic simulation of a shoal Raft cluster under faults, with invariant and linearizability checks')
  .option('--seeds <n>', 'how many seeds to run', positiveInt, 100)
  .option('--seed <x>', 'run only this seed (replays a failure exactly)', positiveInt)
  .option('--first-seed <x>', 'first seed of the range', positiveInt, 1)
  .addOption(new Option('--nodes <n>', 'cluster size').choices(['3', '5']).default('3'))
  .option('--steps <s>', 'simulation steps (events) per seed', positiveInt, 5000)
  .addOption(new Option('--bug <name>', 'inject a known Raft bug to prove the checkers catch it').choices(RAFT_BUGS))
  .option('--stop-at-first', 'stop at the first seed with a violation')
  .option('-v, --verbose', 'print one line per seed');

program.parse();
const o = program.opts<{
  seeds: number;
  seed?: number;
  firstSeed: number;
  nodes: string;
  steps: number;
  bug?: RaftBug;
  stopAtFirst?: boolean;
  verbose?: boolean;
}>();

const nodes = Number(o.nodes);
const seeds = o.seed !== undefined ? [o.seed] : Array.from({ length: o.seeds }, (_, i) => o.firstSeed + i);
let violations = 0;
let failedSeeds = 0;
const started = Date.now();
for (const seed of seeds) {
  const res = runSeed({ seed, nodes, steps: o.steps, bugs: o.bug ? [o.bug] : [] });
  if (o.verbose) {
    console.log(
      `seed ${seed}: ${res.violations.length} violations, ${res.stats.virtualMs} virtual ms, ${res.stats.leaders} leaders, ${res.stats.ops} ops (${res.stats.acked} puts acked), ${res.stats.crashes} crashes, ${res.stats.snapshotsSent} snapshot chunks`,
    );
  }
  if (res.violations.length === 0) continue;
  violations += res.violations.length;
  failedSeeds++;
  console.log(`\nseed ${seed}: ${res.violations.length} violation(s)`);
  for (const v of res.violations) console.log(`  ${v}`);
  console.log('  trace (last events):');
  for (const line of res.trace.slice(-30)) console.log(`    ${line}`);
  const bugFlag = o.bug ? ` --bug ${o.bug}` : '';
  console.log(`  replay: npm run sim -- --seed ${seed} --nodes ${nodes} --steps ${o.steps}${bugFlag}`);
  if (o.stopAtFirst) break;
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (failedSeeds > 0) console.log(`\n${failedSeeds} seed(s) failed (${secs} s)`);
console.log(`sim: ${seeds.length} seeds, ${o.steps} steps each, ${violations} violations`);
process.exitCode = violations > 0 ? 1 : 0;
