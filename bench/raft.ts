// The Raft driver's figures: three RaftNodes in one process, each on its own
// DiskStorage in one directory on a real disk, talking over the MemoryNetwork.
//
//   fdatasync_p50/p99   the physical floor: 4 KiB write + fdatasync, same directory
//   seq_commit_p50/p99  one proposer, 256-byte entries, propose -> resolved
//   throughput          64 concurrent proposers of 256-byte entries
//   batch stats         how many entries each proposeEntries call and each fsync carried
//
// A commit needs two fsyncs in a row (the leader's, then a follower's) plus
// the message hops between them, so seq_commit_p50 / fdatasync_p50 near 2 is
// the best this design can do.
import { mkdir, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryNetwork } from '../manager/raft/memory-transport.js';
import { RaftNode, type RaftNodeStats, type StateMachine } from '../manager/raft/node.js';
import type { Entry } from '../manager/raft/types.js';
import { createLogger } from '../shared/logger.js';

const TMPFS_MAGIC = 0x01021994;
const ENTRY_BYTES = 256;
const PROPOSERS = 64;

function report(metric: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ bench: 'raft', metric, value: round(value), unit, ...extra })}\n`);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Counts bytes: the benchmark measures Raft, not an application. */
class CountingStateMachine implements StateMachine {
  applied = 0;
  bytes = 0;
  apply(e: Entry): undefined {
    this.applied++;
    this.bytes += e.data.byteLength;
    return undefined;
  }
  snapshot(): Uint8Array {
    return new Uint8Array(Buffer.from(JSON.stringify({ applied: this.applied, bytes: this.bytes })));
  }
  restore(data: Uint8Array): void {
    if (data.byteLength === 0) return;
    const s = JSON.parse(Buffer.from(data).toString()) as { applied: number; bytes: number };
    this.applied = s.applied;
    this.bytes = s.bytes;
  }
}

/** A directory on a real disk: tmpfs would make every fsync free and every figure meaningless. */
async function benchRoot(): Promise<string> {
  const tmp = tmpdir();
  const fs = await statfs(tmp);
  let base = tmp;
  if (fs.type === TMPFS_MAGIC) {
    base = fileURLToPath(new URL('../../.bench-tmp/', import.meta.url));
    await mkdir(base, { recursive: true });
    process.stderr.write(`bench: ${tmp} is tmpfs; using ${base} instead\n`);
  }
  return mkdtemp(join(base, 'shoal-bench-raft-'));
}

/** The physical floor: 4 KiB write + fdatasync, 200 times, sorted (ms). */
export async function fdatasyncFloor(dir: string): Promise<number[]> {
  const fh = await open(join(dir, 'fsync-probe'), 'w');
  const buf = Buffer.alloc(4096, 0xab);
  const times: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await fh.write(buf, 0, buf.length, i * buf.length);
      await fh.datasync();
      times.push(performance.now() - t);
    }
  } finally {
    await fh.close();
  }
  return times.sort((a, b) => a - b);
}

function delta(a: RaftNodeStats, b: RaftNodeStats): RaftNodeStats {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof RaftNodeStats)[]) if (k !== 'maxProposeBatch') out[k] = b[k] - a[k];
  return out;
}

export async function runRaftBench(args: string[]): Promise<void> {
  const secondsArg = args.find((a) => a.startsWith('--seconds='));
  const seconds = secondsArg ? Number(secondsArg.split('=')[1]) : 5;
  const root = await benchRoot();
  process.stderr.write(`bench: raft in ${root}\n`);
  const logger = createLogger({ level: process.env['SHOAL_LOG_LEVEL'] ?? 'warn', name: 'bench' });
  const network = new MemoryNetwork();
  const ids = ['b1', 'b2', 'b3'];
  const nodes: RaftNode[] = [];
  try {
    const floor = await fdatasyncFloor(root);
    report('fdatasync_p50', percentile(floor, 0.5), 'ms');
    report('fdatasync_p99', percentile(floor, 0.99), 'ms');

    for (const id of ids) {
      nodes.push(
        await RaftNode.start({
          id,
          dataDir: join(root, id),
          transport: network.transport(id),
          stateMachine: new CountingStateMachine(),
          bootstrap: ids,
          logger,
        }),
      );
    }
    // Elect b1 quickly rather than waiting out a randomized timeout.
    const leader = nodes[0]!;
    await nodes[1]!.waitForLeader(10_000);
    if (!leader.isLeader()) await nodes[1]!.transferLeadership('b1').catch(() => undefined);
    const lead = nodes.find((n) => n.isLeader()) ?? leader;
    const payload = (i: number): Uint8Array => {
      const b = new Uint8Array(ENTRY_BYTES);
      new DataView(b.buffer).setUint32(0, i);
      return b;
    };

    // Warm up the JIT and the files.
    for (let i = 0; i < 200; i++) await lead.propose(payload(i));

    const seq: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = performance.now();
      await lead.propose(payload(i));
      seq.push(performance.now() - t);
    }
    seq.sort((a, b) => a - b);
    const p50 = percentile(seq, 0.5);
    report('seq_commit_p50', p50, 'ms');
    report('seq_commit_p99', percentile(seq, 0.99), 'ms');
    report('seq_commit_p50_over_fdatasync_p50', p50 / percentile(floor, 0.5), 'ratio');

    const before = lead.stats();
    const followerBefore = nodes.filter((n) => n !== lead).map((n) => n.stats());
    const latencies: number[] = [];
    let committed = 0;
    let stop = false;
    const started = performance.now();
    const proposer = async (w: number): Promise<void> => {
      let i = 0;
      while (!stop) {
        const t = performance.now();
        await lead.propose(payload(w * 1_000_000 + i++));
        latencies.push(performance.now() - t);
        committed++;
      }
    };
    setTimeout(() => {
      stop = true;
    }, seconds * 1000);
    await Promise.all(Array.from({ length: PROPOSERS }, (_, w) => proposer(w)));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    report('throughput', committed / elapsed, 'entries/s', { proposers: PROPOSERS, entryBytes: ENTRY_BYTES, seconds: round(elapsed) });
    report('throughput_commit_p50', percentile(latencies, 0.5), 'ms');
    report('throughput_commit_p99', percentile(latencies, 0.99), 'ms');

    const d = delta(before, lead.stats());
    report('leader_entries_per_propose_batch', d.proposalsBatched / Math.max(1, d.proposeBatches), 'entries');
    report('leader_max_propose_batch', lead.stats().maxProposeBatch, 'entries');
    report('leader_entries_per_fsync', d.entriesSaved / Math.max(1, d.saves), 'entries');
    report('leader_fsyncs_per_s', d.saves / elapsed, '1/s');
    report('leader_save_ms_avg', d.saveMsTotal / Math.max(1, d.saves), 'ms');
    report('leader_readies_per_s', d.readies / elapsed, '1/s');
    const fd = nodes
      .filter((n) => n !== lead)
      .map((n, i) => delta(followerBefore[i]!, n.stats()))
      .reduce((acc, s) => ({ saves: acc.saves + s.saves, entries: acc.entries + s.entriesSaved }), { saves: 0, entries: 0 });
    report('follower_entries_per_fsync', fd.entries / Math.max(1, fd.saves), 'entries');
    report('snapshots_during_throughput', d.snapshotsSaved, 'count');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(root, { recursive: true, force: true });
  }
}
