// Raft over the real network stack, between three OS processes: each member
// (bench/raft-net-member.ts) is a RaftNode on DiskStorage with a
// KvStateMachine and its own libp2p host on 127.0.0.1 (TCP, Noise, Yamux),
// joined by P2PTransport as in a manager daemon, with the daemon's timings.
// This process only starts them, hands out the address book, picks the
// leader and asks it to run the workloads (timed inside the leader process).
//
//   fdatasync_p50/p99        the disk's floor, same filesystem as the members' logs
//   seq_commit_p50/p99       one proposer on the leader, 256-byte puts, propose -> applied
//   throughput               64 concurrent proposers on the leader for --seconds (default 3)
//   *_entries_per_fsync      entries per durable write, leader and followers
//   leader_messages_per_frame  Raft messages per libp2p frame the leader sent
//
// Compare with `npm run bench -- raft` (the same driver in one process over the MemoryNetwork).
//
//   npm run bench -- raft-net [--seconds=3] [--sequential=1000]
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RaftNodeStats } from '../manager/raft/node.js';
import type { P2PTransportStats } from '../manager/raft/p2p-transport.js';
import type { PeerTarget } from '../shared/p2p/host.js';
import { fdatasyncFloor } from './raft.js';
import { benchRoot, eventually, percentile, reporter } from './daemons.js';
import type { LoadResult, MemberCommand, MemberReply, MemberStats, MemberStatus, SequentialResult } from './raft-net-member.js';

const report = reporter('raft-net');
const MEMBER = fileURLToPath(new URL('./raft-net-member.js', import.meta.url));
const ENTRY_BYTES = 256;
const PROPOSERS = 64;
const WARMUP = 200;

/** The parent's end of one member process. */
class Member {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  readonly ready: Promise<PeerTarget>;

  constructor(
    readonly id: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let listening: (t: PeerTarget) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      listening = resolve;
      void this.exited.then((code) => reject(new Error(`member ${id} exited (${code}) before listening`)));
    });
    void this.exited.then((code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`member ${id} exited (${code})`));
      this.waiting.clear();
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const v = JSON.parse(line) as { event?: string; peerId?: string; addr?: string } & Partial<MemberReply>;
      if (v.event === 'listening' && v.peerId !== undefined && v.addr !== undefined) {
        listening({ peerId: v.peerId, addr: v.addr });
        return;
      }
      const r = v as MemberReply;
      const w = this.waiting.get(r.seq);
      if (!w) return;
      this.waiting.delete(r.seq);
      if (r.ok) w.resolve(r.result);
      else w.reject(new Error(`member ${id}: ${r.error}`));
    });
  }

  static spawn(id: string, dataDir: string): Member {
    const child = spawn(process.execPath, [MEMBER, id, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Member(id, child);
  }

  call<T>(c: MemberCommand): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: (v) => resolve(v as T), reject });
      this.child.stdin!.write(`${JSON.stringify({ ...c, seq })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.call({ cmd: 'stop' }).catch(() => undefined);
    this.child.stdin?.end();
    await this.exited;
    clearTimeout(timer);
  }
}

function raftDelta(a: RaftNodeStats, b: RaftNodeStats): RaftNodeStats {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof RaftNodeStats)[]) if (k !== 'maxProposeBatch') out[k] = b[k] - a[k];
  return out;
}

function transportDelta(a: P2PTransportStats, b: P2PTransportStats): P2PTransportStats {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof P2PTransportStats)[]) out[k] = b[k] - a[k];
  return out;
}

export async function runRaftNetBench(args: string[]): Promise<void> {
  const num = (name: string, dflt: number): number => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : dflt;
  };
  const seconds = num('seconds', 3);
  const sequential = num('sequential', 1000);
  const started = Date.now();
  const root = await benchRoot('shoal-bench-raft-net-');
  process.stderr.write(`bench: raft-net in ${root}\n`);
  const ids = ['r1', 'r2', 'r3'];
  const members: Member[] = [];
  try {
    const floor = await fdatasyncFloor(root);
    const fsync50 = percentile(floor, 0.5);
    report('fdatasync_p50', fsync50, 'ms');
    report('fdatasync_p99', percentile(floor, 0.99), 'ms');

    for (const id of ids) members.push(Member.spawn(id, join(root, id)));
    const book: Record<string, PeerTarget> = {};
    for (const m of members) book[m.id] = await m.ready;
    await Promise.all(members.map((m) => m.call({ cmd: 'start', ids, book })));
    const electionStarted = performance.now();
    const leaderId = await eventually(
      async () => {
        const st = await Promise.all(members.map((m) => m.call<MemberStatus>({ cmd: 'status' })));
        const l = st[0]!.leader;
        return l !== undefined && st.every((s) => s.leader === l) ? l : undefined;
      },
      'the three members to agree on a leader',
      30_000,
      20,
    );
    report('first_election_ms', performance.now() - electionStarted, 'ms', { note: 'from start to all three agreeing; the daemon timings (tick 100 ms, election 10 ticks)' });
    const leader = members.find((m) => m.id === leaderId)!;
    const followers = members.filter((m) => m !== leader);

    const seq = await leader.call<SequentialResult>({ cmd: 'sequential', n: sequential, warmup: WARMUP, bytes: ENTRY_BYTES });
    const lat = [...seq.latencies].sort((a, b) => a - b);
    const p50 = percentile(lat, 0.5);
    report('seq_commit_p50', p50, 'ms', { proposals: lat.length, entryBytes: ENTRY_BYTES });
    report('seq_commit_p99', percentile(lat, 0.99), 'ms');
    report('seq_commit_max', lat[lat.length - 1] ?? Number.NaN, 'ms');
    report('seq_commit_p50_over_fdatasync_p50', p50 / fsync50, 'ratio');

    const before = await Promise.all(members.map((m) => m.call<MemberStats>({ cmd: 'stats' })));
    const load = await leader.call<LoadResult>({ cmd: 'load', proposers: PROPOSERS, seconds, bytes: ENTRY_BYTES });
    const after = await Promise.all(members.map((m) => m.call<MemberStats>({ cmd: 'stats' })));
    report('throughput', load.committed / load.elapsedS, 'entries/s', { proposers: PROPOSERS, entryBytes: ENTRY_BYTES, seconds: Math.round(load.elapsedS * 1000) / 1000 });
    report('throughput_commit_p50', load.p50, 'ms');
    report('throughput_commit_p99', load.p99, 'ms');
    if (load.failed > 0) report('throughput_failed_proposals', load.failed, 'count');

    const li = members.indexOf(leader);
    const d = raftDelta(before[li]!.raft, after[li]!.raft);
    const t = transportDelta(before[li]!.transport, after[li]!.transport);
    report('leader_entries_per_propose_batch', d.proposalsBatched / Math.max(1, d.proposeBatches), 'entries');
    report('leader_max_propose_batch', after[li]!.raft.maxProposeBatch, 'entries');
    report('leader_entries_per_fsync', d.entriesSaved / Math.max(1, d.saves), 'entries');
    report('leader_fsyncs_per_s', d.saves / load.elapsedS, '1/s');
    report('leader_save_ms_avg', d.saveMsTotal / Math.max(1, d.saves), 'ms');
    report('leader_messages_per_frame', t.messagesSent / Math.max(1, t.framesSent), 'messages');
    report('leader_bytes_per_frame', t.bytesSent / Math.max(1, t.framesSent), 'bytes');
    report('leader_frames_per_s', t.framesSent / load.elapsedS, '1/s');
    report('leader_send_mbit_per_s', (t.bytesSent * 8) / 1e6 / load.elapsedS, 'Mbit/s');
    const fr = followers.map((m) => {
      const i = members.indexOf(m);
      return { raft: raftDelta(before[i]!.raft, after[i]!.raft), transport: transportDelta(before[i]!.transport, after[i]!.transport) };
    });
    const sum = (f: (x: (typeof fr)[number]) => number): number => fr.reduce((acc, x) => acc + f(x), 0);
    report('follower_entries_per_fsync', sum((x) => x.raft.entriesSaved) / Math.max(1, sum((x) => x.raft.saves)), 'entries');
    report('follower_messages_per_frame', sum((x) => x.transport.messagesSent) / Math.max(1, sum((x) => x.transport.framesSent)), 'messages');
    const dropped = [t, ...fr.map((x) => x.transport)].reduce((acc, s) => acc + s.droppedOverflow + s.droppedUnreachable + s.droppedOversize, 0);
    report('messages_dropped_during_throughput', dropped, 'count');
    report('snapshots_during_throughput', d.snapshotsSaved, 'count');
    report('wall_s', (Date.now() - started) / 1000, 's');
  } catch (err) {
    process.stderr.write(`bench: raft-net stopped: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await rm(root, { recursive: true, force: true });
  }
}
