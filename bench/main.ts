// `npm run bench -- <name>`: runs one benchmark family, which prints JSON lines
// ({"bench", "metric", "value", "unit"}) on stdout. Benchmarks report; they never fail on a number.
import { runRaftBench } from './raft.js';

const BENCHES: Record<string, { describe: string; run: (args: string[]) => Promise<void> }> = {
  raft: { describe: 'fdatasync floor, sequential commit latency and throughput of a 3-node RaftNode cluster on disk', run: runRaftBench },
};

const name = process.argv[2];
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  process.stderr.write(`${name === undefined ? 'name a benchmark to run' : `unknown benchmark "${name}"`}; available:\n`);
  for (const [n, b] of Object.entries(BENCHES)) process.stderr.write(`  ${n.padEnd(8)} ${b.describe}\n`);
  process.stderr.write('usage: npm run bench -- <name>\n');
  process.exitCode = 2;
} else {
  await bench.run(process.argv.slice(3));
}
