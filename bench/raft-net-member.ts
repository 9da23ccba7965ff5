// One member of the raft-net bench, run as its own OS process by bench/raft-net.ts:
// a RaftNode on DiskStorage with a KvStateMachine, talking to the other members
// through its own P2PHost (TCP, Noise, Yamux on 127.0.0.1) and a P2PTransport,
// as a manager daemon does (manager/manager.ts).
//
//   node dist/bench/raft-net-member.js <raft id> <data dir>
//
// Control channel: it prints one JSON line on stdout once listening
// ({"event": "listening", peerId, addr}), then answers one JSON line per
// command read from stdin ({"seq": n, "cmd": ..., ...} -> {"seq": n, "ok": true, "result": ...}).
// Timings are taken here, next to the proposer, so the control channel adds nothing.
// Logs (SHOAL_LOG_LEVEL, default warn) go to stderr.
import { createInterface } from 'node:readline';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { encodePut, KvStateMachine } from '../manager/raft/kv-state-machine.js';
import { RaftNode, type RaftNodeStats } from '../manager/raft/node.js';
import { P2PTransport, RAFT_PROTOCOL, type P2PTransportStats } from '../manager/raft/p2p-transport.js';
import type { NodeId } from '../manager/raft/types.js';
import { createLogger } from '../shared/logger.js';
import { P2PHost, type PeerTarget } from '../shared/p2p/host.js';

export type MemberCommand =
  | { cmd: 'start'; ids: NodeId[]; book: Record<NodeId, PeerTarget> }
  | { cmd: 'status' }
  | { cmd: 'stats' }
  /** `n` proposals one after another, after `warmup` unmeasured ones. */
  | { cmd: 'sequential'; n: number; warmup: number; bytes: number }
  /** `proposers` concurrent loops for `seconds`. */
  | { cmd: 'load'; proposers: number; seconds: number; bytes: number }
  | { cmd: 'stop' };

export interface MemberStatus {
  id: NodeId;
  leader: NodeId | undefined;
  isLeader: boolean;
  applied: number;
  commit: number;
}

export interface MemberStats {
  raft: RaftNodeStats;
  transport: P2PTransportStats;
}

export interface SequentialResult {
  /** Milliseconds per proposal, propose() -> resolved (applied on this leader), in order. */
  latencies: number[];
}

export interface LoadResult {
  committed: number;
  failed: number;
  elapsedS: number;
  /** Ascending latencies of the committed proposals, ms. */
  p50: number;
  p99: number;
}

export type MemberReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };

/** A 256-byte (or `bytes`) put: a fixed-width key from a small key space, padded with the value. */
function payloadMaker(bytes: number): (i: number) => Uint8Array {
  const key = (i: number): string => `k${(i % 1024).toString().padStart(4, '0')}`;
  let valueLen = Math.max(0, bytes - encodePut(key(0), '').byteLength);
  while (valueLen > 0 && encodePut(key(0), 'x'.repeat(valueLen)).byteLength > bytes) valueLen--;
  const value = 'x'.repeat(valueLen);
  return (i) => encodePut(key(i), value);
}

function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const [id, dataDir] = process.argv.slice(2);
  if (id === undefined || dataDir === undefined) throw new Error('usage: raft-net-member <raft id> <data dir>');
  const logger = createLogger({ level: process.env['SHOAL_LOG_LEVEL'] ?? 'warn', name: `raft-net-${id}` });
  const book = new Map<NodeId, PeerTarget>();
  const host = await P2PHost.create({
    privateKey: await generateKeyPair('Ed25519'),
    listenHost: '127.0.0.1',
    listenPort: 0,
    logger,
    // As the daemon's guard does: only the other members may speak raft.
    guard: (peer, protocol) =>
      protocol === RAFT_PROTOCOL && [...book.values()].some((t) => t.peerId === peer) ? { allow: true } : { allow: false, reason: 'not a member' },
  });
  let transport: P2PTransport | undefined;
  let node: RaftNode | undefined;
  const raft = (): RaftNode => {
    if (!node) throw new Error('not started');
    return node;
  };

  const handle = async (c: MemberCommand): Promise<unknown> => {
    switch (c.cmd) {
      case 'start': {
        for (const [k, v] of Object.entries(c.book)) book.set(k, v);
        transport = new P2PTransport(host, { resolve: (to) => book.get(to), logger });
        // The daemon's timings (manager/manager.ts): tick 100 ms, election after 10 ticks.
        node = await RaftNode.start({ id, dataDir, transport, stateMachine: new KvStateMachine(), bootstrap: c.ids, tickMs: 100, electionTick: 10, logger });
        return undefined;
      }
      case 'status': {
        const n = raft();
        const s: MemberStatus = { id, leader: n.leader(), isLeader: n.isLeader(), applied: n.appliedIndex(), commit: n.status().commit };
        return s;
      }
      case 'stats': {
        const s: MemberStats = { raft: raft().stats(), transport: transport!.stats() };
        return s;
      }
      case 'sequential': {
        const n = raft();
        const payload = payloadMaker(c.bytes);
        for (let i = 0; i < c.warmup; i++) await n.propose(payload(i));
        const latencies: number[] = [];
        for (let i = 0; i < c.n; i++) {
          const t = performance.now();
          await n.propose(payload(i));
          latencies.push(performance.now() - t);
        }
        const r: SequentialResult = { latencies };
        return r;
      }
      case 'load': {
        const n = raft();
        const payload = payloadMaker(c.bytes);
        const latencies: number[] = [];
        let failed = 0;
        let stop = false;
        const started = performance.now();
        const proposer = async (w: number): Promise<void> => {
          let i = 0;
          while (!stop) {
            const t = performance.now();
            try {
              await n.propose(payload(w * 7919 + i++));
              latencies.push(performance.now() - t);
            } catch {
              failed++;
            }
          }
        };
        const timer = setTimeout(() => {
          stop = true;
        }, c.seconds * 1000);
        await Promise.all(Array.from({ length: c.proposers }, (_, w) => proposer(w)));
        clearTimeout(timer);
        const elapsedS = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        const r: LoadResult = { committed: latencies.length, failed, elapsedS, p50: percentileOf(latencies, 0.5), p99: percentileOf(latencies, 0.99) };
        return r;
      }
      case 'stop': {
        await node?.stop();
        await transport?.close();
        await host.stop();
        return undefined;
      }
    }
  };

  const reply = (r: MemberReply): void => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  };
  process.stdout.write(`${JSON.stringify({ event: 'listening', peerId: host.peerId, addr: host.listenAddrs()[0] })}\n`);

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const msg = JSON.parse(line) as MemberCommand & { seq: number };
    try {
      reply({ seq: msg.seq, ok: true, result: await handle(msg) });
    } catch (err) {
      reply({ seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
    if (msg.cmd === 'stop') break;
  }
  lines.close();
}

main().then(
  // libp2p may leave timers behind; the parent is waiting for this process to end.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`raft-net member: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
