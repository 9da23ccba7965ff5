// `npm run bench -- <name>`: runs one benchmark family, which prints JSON lines
// ({"bench", "metric", "value", "unit"}) on stdout. Benchmarks report; they never fail on a number.
import { runFailoverBench } from './failover.js';
import { runRaftNetBench } from './raft-net.js';
import { runRaftBench } from './raft.js';

const BENCHES: Record<string, { describe: string; run: (args: string[]) => Promise<void> }> = {
  raft: { describe: 'fdatasync floor, sequential commit latency and throughput of a 3-node RaftNode cluster on disk', run: runRaftBench },
  'raft-net': { describe: 'commit latency and throughput of three RaftNode processes talking over libp2p (TCP, Noise, Yamux) on loopback', run: runRaftNetBench },
  failover: { describe: 'kill -9 of the leader of 3 manager daemons (default timings): time to a new leader and to the first new committed write', run: runFailoverBench },
  converge: { describe: '1,000 sim replicas on 20 worker daemons (real processes): seconds until all running, a rolling update and a scale to 2,000', run: async (args) => (await import('./converge.js')).runConvergeBench(args) },
  'converge-real': { describe: `a 50-replica service of real runc containers on one node, create to all running, beside 50 plain runc run -d and Docker Swarm (root)`, run: async (args) => (await import('./converge-real.js')).runConvergeRealBench(args) },
  overlay: { describe: 'throughput and round-trip latency between containers on two test hosts over a VXLAN overlay, beside a plain veth pair (root)', run: async (args) => (await import('./overlay.js')).runOverlayBench(args) },
  scheduler: { describe: '100,000 tasks of 100 services with constraints placed on 1,000 nodes through a 3-node Raft on disk: placements/s', run: async (args) => (await import('./scheduler.js')).runSchedulerBench(args) },
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
