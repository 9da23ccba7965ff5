// One manager: the Raft member, the replicated store it applies, and the
// leader-only work: node liveness from heartbeats, Raft membership following
// the node records, and the control loops (the dispatcher, which serves node
// sessions, plus whatever ManagerOptions.loops registers). The daemon starts one when the node is or
// becomes a manager and stops it when the node is demoted or leaves.
import { EventEmitter } from 'node:events';
import { type Clock, SystemClock } from '../shared/clock.js';
import { UnavailableError } from '../shared/errors.js';
import { newRaftId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { ClusterRecord, NodeRecord } from '../shared/model/index.js';
import { PROTOCOL_ADMIT, PROTOCOL_PING, type AdmitRequest, type JoinRequest, type JoinResponse, type ManagerPeer } from '../shared/protocol/cluster.js';
import type { P2PHost } from '../shared/p2p/host.js';
import type { ControlLoop, ControlLoopFactory } from './control-loop.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { HeartbeatTracker, planStatusChanges } from './dispatcher/heartbeats.js';
import { NO_LEADER_MESSAGE, translateRaftError } from './errors.js';
import { ForwardingProposer } from './forwarding-proposer.js';
import { newNodeRecord } from './membership/admission.js';
import { signNonce } from './membership/cluster-key.js';
import { nextMembershipAction, type MembershipAction } from './membership/raft-membership.js';
import { checkToken } from './membership/tokens.js';
import { RaftNode } from './raft/node.js';
import { P2PTransport } from './raft/p2p-transport.js';
import { ReachabilityProber } from './reachability.js';
import { MemoryStore } from './store/memory-store.js';
import { ReplicatedStore } from './store/replicated-store.js';
import type { RaftView } from './views.js';

export const DEFAULT_HEARTBEAT_MS = 5000;

export interface ManagerOptions {
  dataDir: string;
  raftId: number;
  nodeId: string;
  host: P2PHost;
  logger: Logger;
  clock?: Clock;
  /** Start a brand-new single-member cluster (swarm init). */
  bootstrap: boolean;
  /** Managers known from outside the store (join answer, local state): used until the store knows better. */
  seeds: () => readonly ManagerPeer[];
  tickMs?: number;
  electionTick?: number;
  /**
   * Leader-only control loops besides the dispatcher (orchestrator,
   * scheduler, ...): a fresh instance of each is made and started whenever
   * this manager becomes the leader, and stopped when it stops leading.
   */
  loops?: readonly ControlLoopFactory[];
}

interface ManagerEvents {
  /** A committed membership change removed this manager. */
  removed: [];
  /** Applied entries changed the cluster (nodes or swarm). */
  changed: [];
}

export class Manager extends EventEmitter<ManagerEvents> {
  readonly tracker = new HeartbeatTracker();
  /** Node sessions: serves /shoal/dispatch/1 streams (redirecting them while not the leader). */
  readonly dispatcher: Dispatcher;
  /** The leader loops running now (empty while not the leader). */
  private loops: ControlLoop[] = [];
  /** Stops of the previous term's loops, awaited before a new term starts them again. */
  private loopsStopping: Promise<void> = Promise.resolve();
  private readonly removedPeers = new Set<string>();
  private managersCache: ManagerPeer[] | undefined;
  private readonly prober: ReachabilityProber;
  private leaderTimer: (() => void) | undefined;
  private reconciling = false;
  private stopped = false;

  private constructor(
    private readonly opts: ManagerOptions,
    readonly raft: RaftNode,
    readonly memory: MemoryStore,
    readonly store: ReplicatedStore,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    super();
    this.dispatcher = new Dispatcher({
      memory,
      tracker: this.tracker,
      clock,
      log,
      leader: () => this.leaderPeer() ?? null,
      managers: () => this.managers(),
      heartbeatPeriodMs: () => this.heartbeatPeriodMs(),
      onNodeNotReady: () => this.kickLeaderLoop(),
    });
    this.prober = new ReachabilityProber(clock, () =>
      this.managers()
        .filter((m) => m.raftId !== opts.raftId)
        .map((m) => ({
          raftId: m.raftId,
          probe: () => opts.host.request(m, PROTOCOL_PING, {}, { timeoutMs: 1000 }).then(() => undefined),
        })),
    );
    raft.on('leader-changed', () => this.onLeadership());
    raft.on('removed', () => this.emit('removed'));
    raft.on('applied', () => this.emit('changed'));
    raft.on('fatal', (err) => this.log.error({ err }, 'raft stopped after a fatal error'));
    // Remember who was removed, so their next heartbeat can be told so instead of being refused.
    memory.onCommit((e) => {
      this.managersCache = undefined;
      if (e.kind !== 'commit') return;
      for (const ev of e.events) {
        if (ev.kind === 'delete' && ev.table === 'nodes') this.rememberRemoved((ev.object as NodeRecord).Internal.PeerID);
      }
    });
  }

  static async start(opts: ManagerOptions): Promise<Manager> {
    const clock = opts.clock ?? new SystemClock();
    const log = opts.logger.child({ component: 'manager' });
    const memory = new MemoryStore();
    // The address book reads the store at send time, so it follows membership changes.
    let self: Manager | undefined;
    const resolve = (raftId: number): ManagerPeer | undefined => self?.resolveRaft(raftId) ?? opts.seeds().find((m) => m.raftId === raftId);
    // Raft names members by string; the store keeps the number.
    const transport = new P2PTransport(opts.host, { resolve: (id: string) => resolve(Number(id)), logger: log });
    let raft: RaftNode;
    try {
      raft = await RaftNode.start({
        id: String(opts.raftId),
        dataDir: opts.dataDir,
        transport,
        stateMachine: memory,
        ...(opts.bootstrap ? { bootstrap: [String(opts.raftId)] } : {}),
        tickMs: opts.tickMs ?? 100,
        electionTick: opts.electionTick ?? 10,
        logger: log,
        clock,
      });
    } catch (err) {
      // The transport registered the raft protocol; free it for the next attempt.
      await transport.close();
      throw err;
    }
    const store = new ReplicatedStore(memory, new ForwardingProposer(raft, opts.host, resolve), clock);
    self = new Manager(opts, raft, memory, store, clock, log);
    self.prober.start();
    return self;
  }

  get raftId(): number {
    return this.opts.raftId;
  }

  // --- what the store says ---------------------------------------------------

  cluster(): ClusterRecord | undefined {
    return this.memory.list('cluster')[0];
  }

  nodes(): NodeRecord[] {
    return this.memory.list('nodes');
  }

  /**
   * Managers as members dial them: every node holding a Raft id. Cached
   * until the next commit: heartbeat answers and the address book ask often.
   */
  managers(): ManagerPeer[] {
    if (this.managersCache === undefined) {
      const fromStore = this.nodes()
        .filter((n) => n.Internal.RaftID !== 0)
        .map((n) => ({ nodeId: n.ID, peerId: n.Internal.PeerID, addr: n.Internal.Multiaddr, raftId: n.Internal.RaftID }));
      // Until the store has replayed its log after a restart, the list this node saved stands in.
      if (fromStore.length === 0) return [...this.opts.seeds()];
      this.managersCache = fromStore;
    }
    return this.managersCache;
  }

  resolveRaft(raftId: number): ManagerPeer | undefined {
    const n = this.memory.lookup('nodes', 'raftId', raftId);
    if (n) return { nodeId: n.ID, peerId: n.Internal.PeerID, addr: n.Internal.Multiaddr, raftId };
    return this.opts.seeds().find((m) => m.raftId === raftId);
  }

  leaderPeer(): ManagerPeer | undefined {
    const leader = this.raft.leader();
    return leader === undefined ? undefined : this.resolveRaft(Number(leader));
  }

  heartbeatPeriodMs(): number {
    const ns = this.cluster()?.Spec.Dispatcher?.HeartbeatPeriod;
    return ns !== undefined && ns > 0 ? Math.max(10, Math.round(ns / 1e6)) : DEFAULT_HEARTBEAT_MS;
  }

  raftView(): RaftView {
    const cs = this.raft.membership();
    return {
      leader: Number(this.raft.leader() ?? 0),
      members: new Set([...cs.voters, ...cs.learners].map(Number)),
      reachable: (id) => id === this.opts.raftId || this.prober.reachable(id),
    };
  }

  private rememberRemoved(peerId: string): void {
    this.removedPeers.add(peerId);
    // Bounded: the oldest removals are forgotten first.
    if (this.removedPeers.size > 10_000) this.removedPeers.delete(this.removedPeers.values().next().value!);
  }

  /** A peer whose node record was deleted (node rm) since this manager started. */
  wasRemoved(peerId: string): boolean {
    return this.removedPeers.has(peerId);
  }

  /**
   * Is the peer allowed to speak the manager-only protocols? The store says,
   * or, while it is still replaying its log after a restart, the managers
   * this node last heard of.
   */
  isManagerPeer(peerId: string): boolean {
    const n = this.memory.lookup('nodes', 'peerId', peerId);
    if (n) return n.Internal.RaftID !== 0;
    return this.opts.seeds().some((m) => m.peerId === peerId);
  }

  isKnownPeer(peerId: string): boolean {
    return this.memory.lookup('nodes', 'peerId', peerId) !== undefined || this.isManagerPeer(peerId);
  }

  // --- protocol handlers -------------------------------------------------------

  /** A join arrived here: check the token, then admit (leader) or relay to the leader. */
  async join(req: JoinRequest, peerId: string): Promise<JoinResponse> {
    const cluster = this.cluster();
    if (!cluster) throw new UnavailableError('this manager has not caught up with the swarm yet; retry in a moment');
    checkToken(req.token, cluster.Internal);
    if (this.raft.isLeader()) return this.admit(req, peerId);
    const leader = this.leaderPeer();
    if (!leader) throw new UnavailableError(NO_LEADER_MESSAGE);
    return this.opts.host.request<AdmitRequest, JoinResponse>(leader, PROTOCOL_ADMIT, { join: req, peerId }, { timeoutMs: 15_000 });
  }

  /** Leader only: record the joiner and answer with what it needs to start. */
  async admit(req: JoinRequest, peerId: string): Promise<JoinResponse> {
    if (!this.raft.isLeader()) throw new UnavailableError(NO_LEADER_MESSAGE);
    const cluster = this.cluster();
    if (!cluster) throw new UnavailableError('the swarm is still initialising; retry in a moment');
    const role = checkToken(req.token, cluster.Internal);
    let record = this.nodes().find((n) => n.Internal.PeerID === peerId);
    if (record === undefined) {
      const fresh = newNodeRecord(req, peerId, role, '');
      await this.store.update((tx) => {
        tx.create('nodes', fresh);
      });
      record = this.nodes().find((n) => n.Internal.PeerID === peerId);
      if (record === undefined) throw new UnavailableError('the new node record was not applied; retry the join');
      this.tracker.seen(record.ID, this.clock.now());
      this.log.info({ node: record.ID, peer: peerId, role, hostname: req.hostname }, 'node joined the swarm');
    }
    return {
      nodeId: record.ID,
      clusterId: cluster.ID,
      role: record.Spec.Role,
      raftId: record.Internal.RaftID,
      managers: this.managers(),
      clusterPublicKey: cluster.Internal.ClusterPublicKey,
      signature: signNonce(cluster.Internal.ClusterKey, req.nonce),
    };
  }

  async proposeForFollower(data: Uint8Array): Promise<unknown> {
    if (!this.raft.isLeader()) throw new UnavailableError(NO_LEADER_MESSAGE);
    try {
      return await this.raft.propose(data);
    } catch (err) {
      throw translateRaftError(err);
    }
  }

  // --- leader loops --------------------------------------------------------------

  private onLeadership(): void {
    if (this.stopped) return;
    if (this.raft.isLeader()) {
      if (this.leaderTimer) return;
      this.log.info({ raftId: this.opts.raftId }, 'this manager is the leader');
      this.tracker.reset(
        this.nodes().map((n) => n.ID),
        this.clock.now(),
      );
      this.leaderTimer = this.clock.setInterval(() => this.kickLeaderLoop(), 200);
      this.startLoops();
    } else if (this.leaderTimer) {
      this.leaderTimer();
      this.leaderTimer = undefined;
      this.stopLoops();
    }
  }

  /** The dispatcher and a fresh instance of every registered loop, once the last term's have stopped. */
  private startLoops(): void {
    const previous = this.loopsStopping;
    void previous.then(() => {
      // Leadership may have been lost (or the manager stopped) while the old loops wound down.
      if (this.stopped || !this.leaderTimer || this.loops.length > 0) return;
      const ctx = { store: this.store, memory: this.memory, clock: this.clock };
      const loops: ControlLoop[] = [this.dispatcher];
      for (const make of this.opts.loops ?? []) {
        try {
          loops.push(make());
        } catch (err) {
          this.log.error({ err }, 'could not create a leader control loop');
        }
      }
      for (const loop of loops) {
        try {
          loop.start({ ...ctx, log: this.log.child({ loop: loop.name }) });
          this.loops.push(loop);
        } catch (err) {
          this.log.error({ err, loop: loop.name }, 'a leader control loop failed to start');
        }
      }
    });
  }

  private stopLoops(): void {
    const loops = this.loops;
    this.loops = [];
    if (loops.length === 0) return;
    const stopping = Promise.all(
      loops.map((l) =>
        Promise.resolve()
          .then(() => l.stop())
          .catch((err: unknown) => this.log.warn({ err, loop: l.name }, 'a leader control loop failed to stop')),
      ),
    ).then(() => undefined);
    this.loopsStopping = this.loopsStopping.then(() => stopping);
  }

  private kickLeaderLoop(): void {
    if (this.reconciling || this.stopped || !this.raft.isLeader()) return;
    this.reconciling = true;
    void this.reconcile()
      .catch((err: unknown) => this.log.warn({ err }, 'leader reconcile step failed; retrying'))
      .finally(() => {
        this.reconciling = false;
      });
  }

  private async reconcile(): Promise<void> {
    const self = this.nodes().find((n) => n.Internal.RaftID === this.opts.raftId);
    const nodes = this.nodes();
    const { down, ready } = planStatusChanges(
      nodes.map((n) => ({ id: n.ID, state: n.Status.State })),
      this.tracker,
      this.clock.now(),
      this.heartbeatPeriodMs(),
      self?.ID ?? '',
    );
    if (down.length + ready.length > 0) {
      await this.store.update((tx) => {
        for (const id of [...down, ...ready]) {
          const n = nodes.find((x) => x.ID === id)!;
          const state = down.includes(id) ? 'down' : 'ready';
          tx.update('nodes', { ...n, Status: { ...n.Status, State: state, Message: state === 'down' ? 'heartbeat failure' : '' } }, n.Version.Index);
        }
      });
      for (const id of down) this.log.warn({ node: id }, 'node is down: no heartbeat for 3 periods');
      for (const id of ready) this.log.info({ node: id }, 'node is ready');
    }
    const st = this.raft.status();
    const action = nextMembershipAction(
      this.nodes().map((n) => ({
        nodeId: n.ID,
        wantsManager: n.Spec.Role === 'manager',
        raftId: n.Internal.RaftID,
        ready: n.Status.State === 'ready',
      })),
      {
        voters: st.confState.voters.map(Number),
        learners: st.confState.learners.map(Number),
        match: new Map([...st.progress].map(([id, p]) => [Number(id), p.match])),
        lastIndex: st.lastIndex,
      },
    );
    if (action) await this.carryOut(action);
  }

  private async carryOut(action: MembershipAction): Promise<void> {
    this.log.info({ action }, 'raft membership change');
    switch (action.kind) {
      case 'assign-raft-id':
      case 'clear-raft-id': {
        const n = this.nodes().find((x) => x.ID === action.nodeId);
        if (!n) return;
        const raftId = action.kind === 'assign-raft-id' ? newRaftId() : 0;
        await this.store.update((tx) => {
          tx.update('nodes', { ...n, Internal: { ...n.Internal, RaftID: raftId } }, n.Version.Index);
        });
        return;
      }
      case 'add-learner':
        await this.raft.addLearner(String(action.raftId));
        return;
      case 'promote':
        await this.raft.addVoter(String(action.raftId), { timeoutMs: 5000 });
        return;
      case 'remove':
        await this.raft.removeNode(String(action.raftId));
        return;
    }
  }

  async stop(opts: { crash?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.prober.stop();
    this.leaderTimer?.();
    this.leaderTimer = undefined;
    this.stopLoops();
    await this.loopsStopping;
    await this.raft.stop(opts);
  }
}
