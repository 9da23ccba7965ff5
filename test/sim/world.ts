// The deterministic simulation of a Raft cluster: real Raft cores on virtual
// time, a faulty network, crashing disks and concurrent key-value clients,
// all driven by one seeded PRNG so that a seed replays exactly.
//
// Invariants are checked as the events that could break them happen (a node
// changing role, persisting entries, applying an entry), which is after every
// step; the client history is checked for linearizability at the end.
import { decodeConfChange } from '../../manager/raft/conf-change.js';
import type { RaftBug } from '../../manager/raft/raft.js';
import { ctxKey } from '../../manager/raft/read-only.js';
import {
  ConfChangeType,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  ProposalDroppedError,
  type Ready,
  type Snapshot,
  StateRole,
} from '../../manager/raft/types.js';
import { SeededRandom } from '../../shared/random.js';
import { EventQueue } from './event-queue.js';
import { checkKv, type Operation } from './linearizability.js';
import { bootstrapDisk, decodeCommand, emptyDisk, encodeCommand, type NodeObserver, SimNode } from './sim-node.js';

export interface SimOptions {
  seed: number;
  nodes: number;
  steps: number;
  bugs?: RaftBug[];
}

export interface SimResult {
  seed: number;
  violations: string[];
  trace: string[];
  stats: { virtualMs: number; leaders: number; acked: number; ops: number; crashes: number; snapshotsSent: number };
}

type Event =
  | { kind: 'tick'; node: NodeId }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'disk'; node: NodeId; incarnation: number }
  | { kind: 'client'; client: number }
  | { kind: 'timeout'; op: number }
  | { kind: 'fault' }
  | { kind: 'heal' }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'retire'; node: NodeId }
  | { kind: 'flake'; node: NodeId; term: number };

/** Events held back while a node is paused (a GC pause, SIGSTOP, a stalled VM). */
function targetOf(ev: Event): NodeId | undefined {
  switch (ev.kind) {
    case 'tick':
    case 'disk':
      return ev.node;
    case 'deliver':
      return ev.msg.to;
    default:
      return undefined;
  }
}

interface PendingOp {
  op: Operation;
  node: NodeId;
  /** put: where the proposal landed in the node's log. */
  index?: number;
  term?: number;
  /** get: the ReadIndex context, then the index to wait for. */
  ctx?: string;
  readIndex?: number;
}

const TICK_MS = 10;
const TRACE_KEEP = 80;

/** Per-seed fault intensities: every seed explores a different corner. */
interface FaultProfile {
  drop: number;
  duplicate: number;
  maxDelay: number;
  longDelay: number;
  faultEveryMs: number;
  crashTorn: number;
  /** Small limits split appends into many messages, one entry each at the extreme. */
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** Chance that a new leader is cut off or crashes moments after its election. */
  leaderFlake: number;
}

export class SimWorld implements NodeObserver {
  readonly rand: SeededRandom;
  private readonly queue = new EventQueue<Event>();
  readonly nodes = new Map<NodeId, SimNode>();
  private now = 0;
  private stepCount = 0;
  private readonly violations: string[] = [];
  private readonly trace: string[] = [];
  private readonly profile: FaultProfile;
  private readonly bugs: ReadonlySet<RaftBug>;
  /** Links cut: "from->to". */
  private readonly cut = new Set<string>();
  private faultsOn = true;
  private nextNodeNum: number;
  /** node -> virtual time its pause ends. */
  private readonly pausedUntil = new Map<NodeId, number>();

  // Invariant state.
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly prevRole = new Map<NodeId, StateRole>();
  /** (index, term) -> entry content and the term of the entry before it. */
  private readonly logRecord = new Map<string, { data: string; prevTerm: number }>();
  /** index -> the entry every node applied there. */
  private readonly appliedRecord = new Map<number, { term: number; data: string }>();
  private maxApplied = 0;
  /** index -> the lowest term in which some node knew it committed, and the entry's term. */
  private readonly commitRecord = new Map<number, { inTerm: number; entryTerm: number }>();
  private maxCommitted = 0;
  private readonly seenCommit = new Map<NodeId, number>();
  /** Membership as committed (in log order), for convergence and faults. */
  private voters = new Set<NodeId>();
  private learners = new Set<NodeId>();
  private readonly retired = new Set<NodeId>();

  // Clients.
  private readonly history: Operation[] = [];
  private readonly pending = new Map<number, PendingOp>();
  private readonly acked = new Map<number, { index: number; term: number }>();
  private readonly clientBusy = new Map<number, number | undefined>();
  private nextOp = 1;
  private nextValue = 1;
  private readonly keys = ['x', 'y', 'z'];
  private stats = { leaders: 0, crashes: 0, snapshotsSent: 0 };

  constructor(private readonly opts: SimOptions) {
    this.rand = new SeededRandom(opts.seed);
    this.bugs = new Set(opts.bugs ?? []);
    const r = this.rand;
    this.profile = {
      drop: r.pick([0, 0.01, 0.05, 0.1]),
      duplicate: r.pick([0, 0.01, 0.05]),
      maxDelay: r.pick([5, 15, 40]),
      longDelay: r.pick([0, 0.01, 0.03]),
      faultEveryMs: r.pick([30, 80, 150, 300]),
      crashTorn: r.pick([0.3, 0.7]),
      maxSizePerMsg: r.pick([64, 256, 4096]),
      maxInflightMsgs: r.pick([2, 8, 64]),
      leaderFlake: r.pick([0, 0.3, 0.6]),
    };
    const ids: NodeId[] = [];
    for (let i = 1; i <= opts.nodes; i++) ids.push(`n${i}`);
    this.nextNodeNum = opts.nodes + 1;
    this.voters = new Set(ids);
    for (const id of ids) this.addNode(id, true);
    for (let c = 0; c < opts.nodes + 2; c++) {
      this.clientBusy.set(c, undefined);
      this.queue.push(this.rand.int(50), { kind: 'client', client: c });
    }
    this.queue.push(this.profile.faultEveryMs, { kind: 'fault' });
  }

  private addNode(id: NodeId, founding: boolean): SimNode {
    const node = new SimNode(
      id,
      founding ? bootstrapDisk([...this.voters]) : emptyDisk(),
      {
        electionTick: 10,
        heartbeatTick: 2,
        maxSizePerMsg: this.profile.maxSizePerMsg,
        maxInflightMsgs: this.profile.maxInflightMsgs,
        snapshotChunkBytes: 64,
        bugs: this.bugs,
      },
      this.rand,
      this,
    );
    this.nodes.set(id, node);
    this.prevRole.set(id, StateRole.Follower);
    this.queue.push(this.now + 1 + this.rand.int(TICK_MS), { kind: 'tick', node: id });
    return node;
  }

  private log(line: string): void {
    this.trace.push(`t=${this.now}ms step=${this.stepCount} ${line}`);
    if (this.trace.length > TRACE_KEEP) this.trace.shift();
  }

  private violation(what: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now}ms step=${this.stepCount}: ${what}`);
    this.log(`VIOLATION ${what}`);
  }

  // --- run ---------------------------------------------------------------

  run(): SimResult {
    while (this.stepCount < this.opts.steps && this.violations.length === 0) {
      if (!this.step()) break;
    }
    if (this.violations.length === 0) this.converge();
    if (this.violations.length === 0) this.checkHistory();
    return {
      seed: this.opts.seed,
      violations: this.violations,
      trace: this.trace,
      stats: {
        virtualMs: this.now,
        leaders: this.stats.leaders,
        acked: this.acked.size,
        ops: this.history.length,
        crashes: this.stats.crashes,
        snapshotsSent: this.stats.snapshotsSent,
      },
    };
  }

  private step(): boolean {
    const ev = this.queue.pop();
    if (!ev) return false;
    this.now = ev.time;
    this.stepCount++;
    const target = targetOf(ev.event);
    const until = target === undefined ? undefined : this.pausedUntil.get(target);
    if (until !== undefined) {
      if (this.now < until) {
        // A paused process handles nothing; what arrived meanwhile waits, in
        // no particular order, until it runs again.
        const jitter = ev.event.kind === 'deliver' ? this.rand.int(this.profile.maxDelay + 50) : 0;
        this.queue.push(until + jitter, ev.event);
        return true;
      }
      this.pausedUntil.delete(target!);
    }
    try {
      this.handle(ev.event);
    } catch (e) {
      this.violation(`exception: ${(e as Error).stack ?? String(e)}`);
    }
    this.checkRoles();
    return true;
  }

  private handle(ev: Event): void {
    switch (ev.kind) {
      case 'tick': {
        const n = this.nodes.get(ev.node);
        if (!n || this.retired.has(ev.node)) return;
        if (n.alive) {
          n.raw.tick();
          this.kick(n);
        }
        this.queue.push(this.now + TICK_MS, ev);
        return;
      }
      case 'deliver': {
        const n = this.nodes.get(ev.msg.to);
        if (!n || !n.alive) return;
        if (this.cut.has(`${ev.msg.from}->${ev.msg.to}`)) return;
        n.raw.step(ev.msg);
        this.kick(n);
        return;
      }
      case 'disk': {
        const n = this.nodes.get(ev.node);
        if (!n || !n.alive || n.incarnation !== ev.incarnation || !n.inflight) return;
        const rd = n.completeWrite();
        this.send(rd.messages);
        n.applyAndAdvance(rd);
        this.afterApply(n, rd);
        this.kick(n);
        return;
      }
      case 'client':
        this.clientIssue(ev.client);
        return;
      case 'timeout':
        this.opTimeout(ev.op);
        return;
      case 'fault':
        if (!this.faultsOn) return;
        this.injectFault();
        this.queue.push(this.now + 1 + this.rand.int(this.profile.faultEveryMs * 2), { kind: 'fault' });
        return;
      case 'heal':
        this.cut.clear();
        this.log('network healed');
        return;
      case 'restart': {
        const n = this.nodes.get(ev.node);
        if (!n || n.alive || this.retired.has(ev.node)) return;
        n.boot();
        this.prevRole.set(n.id, StateRole.Follower);
        this.log(`${n.id} restarted (term ${n.raw.raft.term}, commit ${n.raw.raft.raftLog.committed}, last ${n.raw.raft.raftLog.lastIndex()})`);
        this.kick(n);
        return;
      }
      case 'flake': {
        const n = this.nodes.get(ev.node);
        if (!n || !n.alive || !this.faultsOn || n.raw.raft.term !== ev.term || n.raw.raft.role !== StateRole.Leader) return;
        const how = this.rand.int(3);
        if (how === 0) {
          this.crashNode(n);
          return;
        }
        // Cut it off alone, or with one follower so that its latest entries
        // reach exactly one other log.
        const members = [...this.nodes.keys()].filter((id) => !this.retired.has(id)).sort();
        const side = new Set([n.id]);
        if (how === 2) side.add(this.rand.pick(members.filter((m) => m !== n.id)));
        for (const a of members) for (const b of members) if (side.has(a) !== side.has(b)) this.cut.add(`${a}->${b}`);
        this.log(`leader ${n.id} of term ${ev.term} cut off with {${[...side].join(',')}}`);
        this.queue.push(this.now + 50 + this.rand.int(500), { kind: 'heal' });
        return;
      }
      case 'retire': {
        const n = this.nodes.get(ev.node);
        if (!n || this.retired.has(ev.node)) return;
        this.failPendingAt(n.id);
        n.crash();
        this.retired.add(n.id);
        this.log(`${n.id} shut down after its removal`);
        return;
      }
    }
  }

  /** Start a disk write if the node has work and none is in flight. */
  private kick(n: SimNode): void {
    const rd = n.takeReady();
    if (!rd) return;
    // Only writes that must sync take disk time; the rest complete at once.
    const latency = rd.mustSync || rd.snapshot ? 1 + this.rand.int(4) : 0;
    this.queue.push(this.now + latency, { kind: 'disk', node: n.id, incarnation: n.incarnation });
  }

  private send(msgs: Message[]): void {
    const p = this.profile;
    for (const m of msgs) {
      if (m.type === 'Snap') this.stats.snapshotsSent++;
      if (this.cut.has(`${m.from}->${m.to}`)) continue;
      if (this.rand.chance(p.drop)) continue;
      const copies = this.rand.chance(p.duplicate) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        let delay = 1 + this.rand.int(p.maxDelay);
        if (this.rand.chance(p.longDelay)) delay += 100 + this.rand.int(400);
        this.queue.push(this.now + delay, { kind: 'deliver', msg: i === 0 ? m : { ...m } });
      }
    }
  }

  // --- invariants --------------------------------------------------------

  private checkRoles(): void {
    for (const n of this.nodes.values()) {
      if (!n.alive) continue;
      this.checkCommits(n);
      const r = n.raw.raft;
      const prev = this.prevRole.get(n.id);
      if (r.role === prev) continue;
      this.prevRole.set(n.id, r.role);
      if (r.role !== StateRole.Leader) continue;
      this.stats.leaders++;
      this.log(`${n.id} became leader of term ${r.term} (last ${r.raftLog.lastIndex()}, commit ${r.raftLog.committed})`);
      const other = this.leaderOfTerm.get(r.term);
      if (other !== undefined && other !== n.id) {
        this.violation(`election safety: ${other} and ${n.id} are both leaders of term ${r.term}`);
      }
      this.leaderOfTerm.set(r.term, n.id);
      if (this.faultsOn && this.rand.chance(this.profile.leaderFlake)) {
        // Elections are where Raft is subtle: leave entries of short-lived terms behind.
        this.queue.push(this.now + this.rand.int(30), { kind: 'flake', node: n.id, term: r.term });
      }
      // Leader completeness: an entry committed in an earlier term is in the new leader's log.
      const first = r.raftLog.firstIndex();
      for (let i = Math.max(first, 1); i <= this.maxCommitted; i++) {
        const rec = this.commitRecord.get(i);
        if (!rec || rec.inTerm >= r.term) continue;
        const t = r.raftLog.termOrZero(i);
        if (t !== rec.entryTerm) {
          this.violation(
            `leader completeness: ${n.id} leads term ${r.term} but has term ${t} at index ${i}, where an entry of term ${rec.entryTerm} was committed in term ${rec.inTerm}`,
          );
          return;
        }
      }
    }
  }

  /** Record what a node newly knows to be committed, and check all nodes agree on it. */
  private checkCommits(n: SimNode): void {
    const r = n.raw.raft;
    const committed = r.raftLog.committed;
    const seen = this.seenCommit.get(n.id) ?? 0;
    if (committed <= seen) {
      if (committed < seen) this.seenCommit.set(n.id, committed); // restarted
      return;
    }
    this.seenCommit.set(n.id, committed);
    if (r.role === StateRole.Leader && this.faultsOn && this.rand.chance(this.profile.leaderFlake / 2)) {
      // The moment between a leader committing and the followers hearing of it.
      this.queue.push(this.now + this.rand.int(5), { kind: 'flake', node: n.id, term: r.term });
    }
    for (let i = Math.max(seen + 1, r.raftLog.firstIndex()); i <= committed; i++) {
      const entryTerm = r.raftLog.termOrZero(i);
      const rec = this.commitRecord.get(i);
      if (!rec) {
        this.commitRecord.set(i, { inTerm: r.term, entryTerm });
        this.maxCommitted = Math.max(this.maxCommitted, i);
      } else if (rec.entryTerm !== entryTerm) {
        this.violation(`commit safety: ${n.id} has committed term ${entryTerm} at index ${i}, which was committed with term ${rec.entryTerm}`);
        return;
      } else if (r.term < rec.inTerm) {
        rec.inTerm = r.term;
      }
    }
  }

  onPersist(node: SimNode, entries: Entry[]): void {
    // Log matching, by induction: an (index, term) pair always names the same
    // entry with the same predecessor term, so logs agreeing at one entry agree on all before it.
    for (const e of entries) {
      const data = Buffer.from(e.data).toString('latin1') + `#${e.type}`;
      let prevTerm = -1;
      try {
        prevTerm = node.mem.term(e.index - 1);
      } catch {
        // compacted: cannot compare the predecessor
      }
      const key = `${e.index}:${e.term}`;
      const rec = this.logRecord.get(key);
      if (!rec) {
        this.logRecord.set(key, { data, prevTerm });
        continue;
      }
      if (rec.data !== data) this.violation(`log matching: ${node.id} has a different entry at index ${e.index} term ${e.term}`);
      if (rec.prevTerm !== -1 && prevTerm !== -1 && rec.prevTerm !== prevTerm) {
        this.violation(`log matching: ${node.id} has term ${prevTerm} before (${key}), another log has ${rec.prevTerm}`);
      }
    }
  }

  onApply(node: SimNode, e: Entry): void {
    const data = Buffer.from(e.data).toString('latin1') + `#${e.type}`;
    const rec = this.appliedRecord.get(e.index);
    if (!rec) {
      this.appliedRecord.set(e.index, { term: e.term, data });
      this.maxApplied = Math.max(this.maxApplied, e.index);
      if (e.type === EntryType.ConfChange) this.onConfChangeCommitted(e);
    } else if (rec.term !== e.term || rec.data !== data) {
      this.violation(`state machine safety: ${node.id} applied term ${e.term} at index ${e.index}, another node applied term ${rec.term}`);
    }
  }

  onSnapshotInstalled(node: SimNode, snap: Snapshot): void {
    this.log(`${node.id} installed snapshot at ${snap.metadata.index} (term ${snap.metadata.term})`);
    const rec = this.appliedRecord.get(snap.metadata.index);
    if (rec && rec.term !== snap.metadata.term) {
      this.violation(`state machine safety: snapshot at ${snap.metadata.index} has term ${snap.metadata.term}, committed term is ${rec.term}`);
    }
  }

  private onConfChangeCommitted(e: Entry): void {
    const cc = decodeConfChange(e.data);
    switch (cc.type) {
      case ConfChangeType.AddLearner:
        if (!this.voters.has(cc.node)) this.learners.add(cc.node);
        break;
      case ConfChangeType.AddVoter:
        this.learners.delete(cc.node);
        this.voters.add(cc.node);
        break;
      case ConfChangeType.RemoveNode:
        this.voters.delete(cc.node);
        this.learners.delete(cc.node);
        // An operator shuts a removed manager down soon after.
        this.queue.push(this.now + this.rand.int(300), { kind: 'retire', node: cc.node });
        break;
    }
    this.log(`committed ${ConfChangeType[cc.type]} ${cc.node}: voters ${[...this.voters].sort().join(',')} learners ${[...this.learners].sort().join(',')}`);
  }

  // --- clients -----------------------------------------------------------

  private liveMembers(): SimNode[] {
    return [...this.nodes.values()].filter(
      (n) => n.alive && !this.retired.has(n.id) && (this.pausedUntil.get(n.id) ?? 0) <= this.now,
    );
  }

  private clientIssue(client: number): void {
    if (this.clientBusy.get(client) !== undefined || !this.faultsOn) return;
    const live = this.liveMembers();
    if (live.length === 0) {
      this.queue.push(this.now + 20, { kind: 'client', client });
      return;
    }
    // Clients mostly find the leader, but sometimes ask a follower.
    const leaders = live.filter((n) => n.raw.raft.role === StateRole.Leader);
    const target = leaders.length > 0 && this.rand.chance(0.7) ? this.rand.pick(leaders) : this.rand.pick(live);
    const key = this.rand.pick(this.keys);
    const id = this.nextOp++;
    if (this.rand.chance(0.5)) {
      const value = `v${this.nextValue++}`;
      const op: Operation = { id, clientId: client, input: { kind: 'put', key, value }, call: this.stepCount };
      try {
        target.raw.propose(encodeCommand({ op: id, key, value }));
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
        this.queue.push(this.now + 5 + this.rand.int(20), { kind: 'client', client });
        return; // definitely not applied: not part of the history
      }
      const r = target.raw.raft;
      this.history.push(op);
      this.pending.set(id, { op, node: target.id, index: r.raftLog.lastIndex(), term: r.term });
    } else {
      const op: Operation = { id, clientId: client, input: { kind: 'get', key }, call: this.stepCount };
      const ctx = Buffer.from(`r${id}`);
      target.raw.readIndex(ctx);
      this.history.push(op);
      this.pending.set(id, { op, node: target.id, ctx: ctxKey(ctx) });
    }
    this.clientBusy.set(client, id);
    this.queue.push(this.now + 300, { kind: 'timeout', op: id });
    this.kick(target);
  }

  private finishOp(p: PendingOp, output: Operation['output'] | undefined): void {
    this.pending.delete(p.op.id!);
    if (output) {
      p.op.output = output;
      p.op.ret = this.stepCount;
    }
    const client = p.op.clientId;
    if (this.clientBusy.get(client) === p.op.id) {
      this.clientBusy.set(client, undefined);
      this.queue.push(this.now + 1 + this.rand.int(20), { kind: 'client', client });
    }
  }

  /** A put that definitely did not happen leaves the history. */
  private dropOp(p: PendingOp): void {
    const i = this.history.indexOf(p.op);
    if (i >= 0) this.history.splice(i, 1);
    this.finishOp(p, undefined);
  }

  private opTimeout(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    // The outcome is unknown: the op stays in the history without a return.
    this.finishOp(p, undefined);
  }

  private failPendingAt(node: NodeId): void {
    for (const p of [...this.pending.values()]) if (p.node === node) this.finishOp(p, undefined);
  }

  private afterApply(n: SimNode, rd: Ready): void {
    for (const e of rd.committedEntries) {
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) {
        this.failProposalsReplacedAt(n, e);
        continue;
      }
      const c = decodeCommand(e.data);
      const p = this.pending.get(c.op);
      if (p && p.node === n.id && p.index === e.index && p.term === e.term) {
        this.acked.set(c.op, { index: e.index, term: e.term });
        this.finishOp(p, { kind: 'put' });
      }
      this.failProposalsReplacedAt(n, e);
    }
    for (const rs of rd.readStates) {
      const key = ctxKey(rs.requestCtx);
      for (const p of this.pending.values()) {
        if (p.node === n.id && p.ctx === key && p.readIndex === undefined) p.readIndex = rs.index;
      }
    }
    // Serve reads whose index has been applied.
    for (const p of [...this.pending.values()]) {
      if (p.node !== n.id || p.readIndex === undefined || n.appliedIndex < p.readIndex) continue;
      const input = p.op.input;
      if (input.kind !== 'get') continue;
      this.finishOp(p, { kind: 'get', value: n.kv.get(input.key) });
    }
  }

  /** A proposal whose index now holds another entry was lost with its leader's term. */
  private failProposalsReplacedAt(n: SimNode, e: Entry): void {
    for (const p of [...this.pending.values()]) {
      if (p.node === n.id && p.index === e.index && p.term !== e.term) this.dropOp(p);
    }
  }

  // --- faults ------------------------------------------------------------

  private injectFault(): void {
    const r = this.rand;
    const members = [...this.nodes.keys()].filter((id) => !this.retired.has(id)).sort();
    const choice = r.int(100);
    const leader = this.liveMembers().find((n) => n.raw.raft.role === StateRole.Leader);
    if (choice < 15) {
      // Symmetric partition into two sides.
      const side = new Set(members.filter(() => r.chance(0.5)));
      for (const a of members) for (const b of members) if (side.has(a) !== side.has(b)) this.cut.add(`${a}->${b}`);
      this.log(`partition {${[...side].join(',')}} | {${members.filter((m) => !side.has(m)).join(',')}}`);
      this.queue.push(this.now + 100 + r.int(1500), { kind: 'heal' });
    } else if (choice < 22 && leader) {
      // Cut the leader off with at most one follower while its proposals are in flight.
      const buddy = r.chance(0.5) ? r.pick(members.filter((m) => m !== leader.id)) : undefined;
      const side = new Set([leader.id, ...(buddy ? [buddy] : [])]);
      for (const a of members) for (const b of members) if (side.has(a) !== side.has(b)) this.cut.add(`${a}->${b}`);
      this.log(`leader ${leader.id} isolated with {${[...side].join(',')}}`);
      this.queue.push(this.now + 50 + r.int(800), { kind: 'heal' });
    } else if (choice < 28) {
      // Pause a node (the leader, often) long enough for the others to move on.
      const live = this.liveMembers();
      if (live.length === 0) return;
      const n = leader && r.chance(0.6) ? leader : r.pick(live);
      const ms = 100 + r.int(600);
      this.pausedUntil.set(n.id, this.now + ms);
      this.log(`${n.id} paused for ${ms} ms${n === leader ? ' (leader)' : ''}`);
    } else if (choice < 33 && leader) {
      // Crash the leader right after it appended work the followers may not have.
      this.crashNode(leader);
    } else if (choice < 30) {
      // Asymmetric: one direction of one link.
      const a = r.pick(members);
      const b = r.pick(members);
      if (a !== b) {
        this.cut.add(`${a}->${b}`);
        this.log(`cut ${a}->${b}`);
        this.queue.push(this.now + 100 + r.int(1500), { kind: 'heal' });
      }
    } else if (choice < 45) {
      const live = this.liveMembers();
      if (live.length === 0) return;
      this.crashNode(r.pick(live));
    } else if (choice < 55) {
      this.membershipChange();
    } else if (choice < 65) {
      const voters = [...this.voters].filter((v) => v !== leader?.id && !this.retired.has(v)).sort();
      if (leader && voters.length > 0) {
        const to = r.pick(voters);
        this.log(`${leader.id} transfers leadership to ${to}`);
        leader.raw.transferLeadership(to);
        this.kick(leader);
      }
    } else if (choice < 85) {
      const live = this.liveMembers();
      if (live.length === 0) return;
      const n = r.pick(live);
      const keep = r.pick([0, 2, 10]);
      if (n.compact(keep)) this.log(`${n.id} snapshot at ${n.appliedIndex}, log compacted keeping ${keep}`);
    } else {
      this.cut.clear();
      this.log('network healed');
    }
  }

  /** Crash a node, perhaps in the middle of a disk write; it restarts later. */
  private crashNode(n: SimNode): void {
    const r = this.rand;
    const torn = n.inflight !== undefined && r.chance(this.profile.crashTorn);
    if (torn) n.tornWrite();
    this.failPendingAt(n.id);
    n.crash();
    this.pausedUntil.delete(n.id);
    this.stats.crashes++;
    this.log(`${n.id} crashed${torn ? ' during a write (torn tail)' : ''}`);
    this.queue.push(this.now + 50 + r.int(1500), { kind: 'restart', node: n.id });
  }

  private membershipChange(): void {
    const r = this.rand;
    const leader = this.liveMembers().find((n) => n.raw.raft.role === StateRole.Leader);
    if (!leader) return;
    const n = this.opts.nodes;
    const minVoters = n === 3 ? 3 : n - 1;
    const maxVoters = n + 1;
    const trk = leader.raw.raft.trk;
    const learners = [...trk.learners].sort();
    let cc: { type: ConfChangeType; node: NodeId } | undefined;
    if (learners.length > 0) {
      // Promote a learner once it has caught up.
      const l = learners[0]!;
      const pr = trk.progress.get(l);
      if (pr && pr.match + 5 >= leader.raw.raft.raftLog.lastIndex()) cc = { type: ConfChangeType.AddVoter, node: l };
    } else if (trk.voters.size < maxVoters && (trk.voters.size <= minVoters || r.chance(0.5))) {
      const id = `n${this.nextNodeNum++}`;
      this.addNode(id, false);
      cc = { type: ConfChangeType.AddLearner, node: id };
    } else if (trk.voters.size > minVoters) {
      cc = { type: ConfChangeType.RemoveNode, node: r.pick([...trk.voters].sort()) };
    }
    if (!cc) return;
    try {
      leader.raw.proposeConfChange(cc);
      this.log(`${leader.id} proposes ${ConfChangeType[cc.type]} ${cc.node}`);
      this.kick(leader);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  // --- the end -----------------------------------------------------------

  /** Heal everything, restart crashed members, and require the cluster to converge. */
  private converge(): void {
    this.faultsOn = false;
    this.cut.clear();
    for (const n of this.nodes.values()) {
      if (!n.alive && !this.retired.has(n.id)) this.queue.push(this.now + 1, { kind: 'restart', node: n.id });
    }
    this.profile.drop = 0;
    this.profile.duplicate = 0;
    this.profile.longDelay = 0;
    this.log('final phase: faults off, network healed, crashed members restarting');
    const deadline = this.now + 30_000;
    let nextCheck = this.now + 100;
    while (this.now < deadline && this.violations.length === 0) {
      if (!this.step()) break;
      if (this.now < nextCheck) continue;
      nextCheck = this.now + 100;
      if (this.converged()) {
        this.checkFinalState();
        return;
      }
    }
    if (this.violations.length === 0) {
      const status = [...this.nodes.values()]
        .filter((n) => !this.retired.has(n.id))
        .map((n) => `${n.id}:${n.alive ? n.raw.raft.role : 'down'} term=${n.raw.raft.term} commit=${n.raw.raft.raftLog.committed} applied=${n.appliedIndex} last=${n.raw.raft.raftLog.lastIndex()}`)
        .join('; ');
      this.violation(`liveness: no convergence within 30 s after healing (${status})`);
    }
  }

  private members(): SimNode[] {
    return [...this.voters, ...this.learners].map((id) => this.nodes.get(id)).filter((n): n is SimNode => n !== undefined);
  }

  private converged(): boolean {
    const members = this.members();
    const leader = members.find((n) => n.alive && n.raw.raft.role === StateRole.Leader);
    if (!leader) return false;
    const r = leader.raw.raft;
    const commit = r.raftLog.committed;
    if (commit !== r.raftLog.lastIndex() || r.raftLog.termOrZero(commit) !== r.term) return false;
    return members.every((n) => n.alive && n.appliedIndex === commit && n.raw.raft.lead === leader.id);
  }

  private checkFinalState(): void {
    const members = this.members();
    const first = members[0]!;
    const want = JSON.stringify([...first.kv.entries()].sort());
    for (const n of members) {
      const got = JSON.stringify([...n.kv.entries()].sort());
      if (got !== want) this.violation(`final state differs: ${first.id} has ${want}, ${n.id} has ${got}`);
    }
    // No acknowledged proposal lost: each acked put is in the committed log where it was acked.
    for (const [op, at] of this.acked) {
      const rec = this.appliedRecord.get(at.index);
      const data = rec ? decodeCommand(Buffer.from(rec.data.slice(0, rec.data.lastIndexOf('#')), 'latin1')) : undefined;
      if (!rec || rec.term !== at.term || data?.op !== op) {
        this.violation(`acknowledged put op ${op} (index ${at.index}, term ${at.term}) is not in the committed log`);
      }
    }
  }

  private checkHistory(): void {
    const res = checkKv(this.history, { timeoutMs: 20_000 });
    if (res.timedOut) {
      this.log('linearizability check timed out (inconclusive)');
      return;
    }
    if (!res.ok) this.violation(`linearizability: ${res.explanation ?? 'history is not linearizable'}`);
  }
}

export function runSeed(opts: SimOptions): SimResult {
  return new SimWorld(opts).run();
}
