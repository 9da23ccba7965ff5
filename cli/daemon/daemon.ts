// The daemon's composition root: one per host. It owns the libp2p host, the
// manager (when this node is one), the agent that runs this node's tasks with
// its executor and its session with the leader's dispatcher, and the local
// swarm state on disk, and it answers the HTTP API (ApiBackend).
import { OverlayDataPlane } from '../../worker/network/overlay-data-plane.js';
import { ProcessDnsHost } from '../../worker/network/dns/process-dns-host.js';
import type { NetworkDataPlane } from '../../worker/network/types.js';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatHostPort, fromMultiaddr, parseHostPort, toMultiaddr, type HostPort } from '../../shared/addr.js';
import { type Clock, SystemClock } from '../../shared/clock.js';
import { InvalidArgumentError, ShoalError, UnavailableError } from '../../shared/errors.js';
import { newObjectId, newRaftId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { Node, NodeRecord, NodeSpec, Swarm, SwarmInfo, SwarmSpec } from '../../shared/model/index.js';
import { loadOrCreateIdentity, peerIdString } from '../../shared/p2p/identity.js';
import { P2PHost, type GuardDecision } from '../../shared/p2p/host.js';
import {
  PROTOCOL_ADMIT,
  PROTOCOL_JOIN,
  PROTOCOL_PING,
  PROTOCOL_PROPOSE,
  parseAdmitRequest,
  parseJoinRequest,
  parseJoinResponse,
  parseProposeRequest,
  type JoinRequest,
  type JoinResponse,
  type ManagerPeer,
} from '../../shared/protocol/cluster.js';
import { MAX_DISPATCH_MESSAGE_BYTES, PROTOCOL_DISPATCH, type SessionInfo } from '../../shared/protocol/dispatch.js';
import { MAX_LOGS_FRAME_BYTES, PROTOCOL_LOGS } from '../../shared/protocol/logs.js';
import { LogBroker } from '../../manager/logs/broker.js';
import type { LogEvent, LogNode, LogsQuery, LogTarget } from '../../manager/logs/types.js';
import { serveLogStream } from '../../worker/agent/log-server.js';
import type { MessageStream } from '../../shared/p2p/host.js';
import { VERSION } from '../../shared/version.js';
import {
  NOT_IN_SWARM_MESSAGE,
  WORKER_NODE_MESSAGE,
  type ApiBackend,
  type LocalInfo,
  type SwarmInitRequest,
  type SwarmJoinRequest,
  type SwarmRotate,
} from '../../manager/api/backend.js';
import type { Service, ServiceSpec, Task } from '../../shared/model/index.js';
import type { CreateServiceOptions, ServiceCreateResponse, ServiceUpdateResponse, UpdateServiceOptions } from '../../manager/api/backend.js';
import type { ImageBackend } from '../../manager/api/image-types.js';
import { RegistryClient } from '../../shared/registry/client.js';
import { ImageStore } from '../../worker/image/store.js';
import type { ImageProvider } from '../../worker/image/types.js';
import { OciExecutor } from '../../worker/executor/oci/oci-executor.js';
import { createImagePinner } from './image-pinner.js';
import { NodeImages } from './node-images.js';
import type { FilterArgs } from '../../manager/api/filters.js';
import { ClusterControl } from '../../manager/control.js';
import { DEFAULT_HEARTBEAT_MS, Manager, type ManagerOptions } from '../../manager/manager.js';
import { newNodeRecord } from '../../manager/membership/admission.js';
import { newClusterRecord } from '../../manager/membership/cluster-record.js';
import { newIngressNetworkRecord } from '../../manager/allocator/index.js';
import type { NetworkCreateResponse } from '../../manager/api/backend.js';
import type { Network, NetworkCreateRequest } from '../../shared/model/index.js';
import { DEFAULT_DATA_PATH_PORT } from '../../shared/model/index.js';
import { verifyNonce } from '../../manager/membership/cluster-key.js';
import { fingerprintOf, parseToken } from '../../manager/membership/tokens.js';
import { toClusterInfo } from '../../manager/views.js';
import { Agent } from '../../worker/agent/agent.js';
import { localStreamPair } from '../../worker/agent/local-stream.js';
import { AgentSession } from '../../worker/agent/session.js';
import type { Executor } from '../../worker/executor/executor.js';
import { DEFAULT_EXECUTOR, openExecutor, type ExecutorKind } from '../../worker/executor/index.js';
import { resolveAdvertise } from './advertise.js';
import { LEADER_LOOPS } from './leader-loops.js';
import { dockerArch, hostFacts, hostPlatform, hostResources } from './local-info.js';
import { clearLocalState, loadLocalState, saveLocalState, type LocalState } from './local-state.js';

const RAFT_PROTOCOL = '/shoal/raft/1';
const IMAGE_GC_INTERVAL_MS = 10 * 60_000;
const IMAGE_UNUSED_FOR_MS = 24 * 3600_000;

/** The sim executor pulls nothing. */
const NO_IMAGES: ImageProvider = {
  ensure: (ref) => Promise.reject(new Error(`this node keeps no images (it runs the sim executor); cannot pull ${ref}`)),
};
const MANAGER_PROTOCOLS = new Set([RAFT_PROTOCOL, PROTOCOL_ADMIT, PROTOCOL_PROPOSE, PROTOCOL_PING]);

export interface DaemonOptions {
  dataRoot: string;
  logger: Logger;
  clock?: Clock;
  /** Raft tick (ms) and election ticks; the defaults give about a one-second failover. */
  tickMs?: number;
  electionTick?: number;
  /** What runs this node's tasks (`--executor`): oci (runc, the default) or sim (simulated). */
  executor?: ExecutorKind;
  /** The OCI runtime binary of the oci executor (`--runtime`, default runc). */
  runtime?: string;
  /** Registries spoken to over plain HTTP besides loopback (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** Leader-only control loops besides the dispatcher (default LEADER_LOOPS); see ManagerOptions.loops. */
  loops?: ManagerOptions['loops'];
}

export class Daemon implements ApiBackend {
  private state: LocalState | undefined;
  private host: P2PHost | undefined;
  private manager: Manager | undefined;
  private control: ClusterControl | undefined;
  private session: AgentSession | undefined;
  private agent: Agent | undefined;
  private executor: Executor | undefined;
  /** This node's overlay networks (oci executor only). */
  private network: OverlayDataPlane | undefined;
  /** Speaks to registries: pins service images (managers) and pulls (the image store). */
  private readonly registry: RegistryClient;
  /** This node's images; only a node running containers keeps them. */
  private images: ImageStore | undefined;
  private imageGcTimer: NodeJS.Timeout | undefined;
  /** Serialises init/join/leave and role changes. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  private readonly clock: Clock;
  private readonly log: Logger;
  private peerId = '';
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: DaemonOptions) {
    this.clock = opts.clock ?? new SystemClock();
    this.log = opts.logger;
    this.registry = new RegistryClient({ insecureRegistries: opts.insecureRegistries ?? [], logger: opts.logger.child({ component: 'registry' }) });
  }

  static async open(opts: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(opts);
    const key = await loadOrCreateIdentity(d.identityFile);
    d.peerId = peerIdString(key);
    if ((opts.executor ?? DEFAULT_EXECUTOR) === 'oci') await d.openImages();
    d.state = await loadLocalState(opts.dataRoot);
    if (d.state) {
      d.log.info({ node: d.state.nodeId, role: d.state.role, cluster: d.state.clusterId }, 'resuming swarm membership');
      await d.activate(d.state, false);
    }
    return d;
  }

  /**
   * Write the current state to disk. Saves run one at a time, each writing
   * the state as it is when its turn comes, so a slow save never overwrites a
   * newer one.
   */
  private persist(): Promise<void> {
    const run = this.saving.then(() => (this.state ? saveLocalState(this.opts.dataRoot, this.state) : undefined));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private get identityFile(): string {
    return join(this.opts.dataRoot, 'identity.key');
  }

  private get raftDir(): string {
    return join(this.opts.dataRoot, 'raft');
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(fn, fn);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  // --- lifecycle -------------------------------------------------------------------

  private async startHost(listen: HostPort): Promise<P2PHost> {
    const privateKey = await loadOrCreateIdentity(this.identityFile);
    const host = await P2PHost.create({
      privateKey,
      listenHost: listen.host,
      listenPort: listen.port,
      logger: this.log.child({ component: 'p2p' }),
      guard: (peer, protocol) => this.guard(peer, protocol),
    });
    this.peerId = host.peerId;
    host.handleRequest(PROTOCOL_JOIN, async (req, ctx) => this.onJoin(req, ctx.peerId));
    host.handleRequest(PROTOCOL_ADMIT, async (req, ctx) => {
      const m = this.requireManagerForPeer();
      const a = parseAdmitRequest(req);
      return this.logRejection(ctx.peerId, () => m.admit(a.join, a.peerId));
    });
    host.handleRequest(PROTOCOL_PROPOSE, async (req) => this.requireManagerForPeer().proposeForFollower(parseProposeRequest(req, 8 << 20).data));
    host.handleStream(PROTOCOL_DISPATCH, (s, ctx) => this.onDispatchStream(s, ctx.peerId), { maxMessageBytes: MAX_DISPATCH_MESSAGE_BYTES });
    host.handleRequest(PROTOCOL_PING, async () => ({ ok: true }));
    host.handleStream(PROTOCOL_LOGS, (s) => this.onLogsStream(s), { maxMessageBytes: MAX_LOGS_FRAME_BYTES, maxInboundStreams: 256 });
    this.host = host;
    return host;
  }

  /** Who may open which protocol: joins from anyone, the rest only from nodes the swarm knows. */
  private guard(peerId: string, protocol: string): GuardDecision {
    const m = this.manager;
    if (protocol === PROTOCOL_JOIN) {
      return m ? { allow: true } : { allow: false, reason: 'this node is not a manager and cannot admit nodes' };
    }
    if (protocol === PROTOCOL_DISPATCH) {
      // A removed node may still ask, once, to learn that it was removed.
      return m && (m.isKnownPeer(peerId) || m.wasRemoved(peerId)) ? { allow: true } : { allow: false, reason: 'peer is not a node of this swarm' };
    }
    if (protocol === PROTOCOL_LOGS) {
      return this.isSwarmManager(peerId) ? { allow: true } : { allow: false, reason: 'only managers of this swarm may read its logs' };
    }
    if (MANAGER_PROTOCOLS.has(protocol)) {
      if (m?.isManagerPeer(peerId)) return { allow: true };
      return { allow: false, reason: m?.isKnownPeer(peerId) ? 'peer is a worker; only managers may use this protocol' : 'peer is not a manager of this swarm' };
    }
    return { allow: false, reason: `unknown protocol ${protocol}` };
  }

  /** A node's session stream: this manager's dispatcher serves it (or redirects it to the leader). */
  private onDispatchStream(s: MessageStream, peerId: string): Promise<void> {
    const m = this.manager;
    if (!m) {
      s.abort(new UnavailableError('this node is not a manager'));
      return Promise.resolve();
    }
    // The host logs a failure and aborts the stream.
    return m.dispatcher.serve(s, peerId);
  }

  private requireManagerForPeer(): Manager {
    if (!this.manager) throw new UnavailableError('this node is not a manager');
    return this.manager;
  }

  private async onJoin(raw: unknown, peerId: string): Promise<JoinResponse> {
    const m = this.requireManagerForPeer();
    return this.logRejection(peerId, () => m.join(parseJoinRequest(raw), peerId));
  }

  private async logRejection<T>(peerId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ShoalError && err.status < 500) {
        this.log.warn({ peer: peerId, reason: err.message }, 'join rejected');
      }
      throw err;
    }
  }

  /** Bring up everything the local state says this node runs. */
  private async activate(state: LocalState, bootstrap: boolean): Promise<void> {
    if (!this.host) await this.startHost(parseHostPort(state.listenAddr));
    if (state.role === 'manager' && state.raftId !== 0) await this.startManager(state.raftId, bootstrap);
    await this.startSession(state);
  }

  private async startManager(raftId: number, bootstrap: boolean): Promise<Manager> {
    const host = this.host!;
    const m = await Manager.start({
      dataDir: this.raftDir,
      raftId,
      nodeId: this.state!.nodeId,
      host,
      logger: this.log,
      clock: this.clock,
      bootstrap,
      seeds: () => this.state?.managers ?? [],
      loops: this.opts.loops ?? LEADER_LOOPS,
      ...(this.opts.tickMs !== undefined ? { tickMs: this.opts.tickMs } : {}),
      ...(this.opts.electionTick !== undefined ? { electionTick: this.opts.electionTick } : {}),
    });
    m.on('removed', () => void this.serialise(() => this.stepDown('removed from the Raft membership')));
    this.manager = m;
    this.control = new ClusterControl(m, this.clock, createImagePinner(this.registry, this.log.child({ component: 'images' })));
    return m;
  }

  /** This node stops being a manager (demoted, or removed from Raft). */
  private async stepDown(why: string): Promise<void> {
    const m = this.manager;
    if (!m || !this.state) return;
    this.log.info({ why }, 'this node is no longer a manager');
    this.manager = undefined;
    this.control = undefined;
    await m.stop();
    await rm(this.raftDir, { recursive: true, force: true });
    this.state = { ...this.state, role: 'worker', raftId: 0 };
    await this.persist();
  }

  /** The agent (tasks) and its session with the leader: every node runs them, managers too. */
  private async startSession(state: LocalState): Promise<void> {
    if ((this.opts.executor ?? DEFAULT_EXECUTOR) === 'oci' && this.network === undefined) this.network = await this.openNetwork(state);
    this.executor ??= await openExecutor(this.opts.executor ?? DEFAULT_EXECUTOR, {
      dataRoot: this.opts.dataRoot,
      clock: this.clock,
      logger: this.log.child({ component: 'executor' }),
      images: this.images ?? NO_IMAGES,
      ...(this.opts.runtime !== undefined ? { runtime: this.opts.runtime } : {}),
      ...(this.network !== undefined ? { network: this.networkNow } : {}),
    });
    const agent = await Agent.open({
      executor: this.executor,
      ...(this.network !== undefined ? { network: this.networkNow } : {}),
      dataDir: join(this.opts.dataRoot, 'agent'),
      clock: this.clock,
      logger: this.log.child({ component: 'agent' }),
    });
    this.agent = agent;
    const session = new AgentSession({
      nodeId: state.nodeId,
      net: this.host!,
      // A host cannot dial itself; its own manager is reached through local().
      managers: () => (this.state?.managers ?? []).filter((m) => m.peerId !== this.peerId),
      local: () => this.localDispatchStream(),
      onUpdate: (u) => this.onSessionUpdate(u),
      onManagers: (list) => this.rememberManagers(list),
      onRemoved: () => void this.serialise(() => this.teardown('this node was removed from the swarm')),
      listener: agent,
      clock: this.clock,
      logger: this.log.child({ component: 'session' }),
      initialPeriodMs: Math.min(1000, DEFAULT_HEARTBEAT_MS),
    });
    agent.setSink(session);
    this.session = session;
    session.start();
  }

  /** While this daemon leads, its agent talks to its own dispatcher over an in-process stream. */
  private localDispatchStream(): MessageStream | undefined {
    const m = this.manager;
    if (!m?.raft.isLeader()) return undefined;
    const [agentEnd, managerEnd] = localStreamPair(this.peerId, this.peerId, { protocol: PROTOCOL_DISPATCH, maxMessageBytes: MAX_DISPATCH_MESSAGE_BYTES });
    m.dispatcher.serve(managerEnd, this.peerId).catch((err: unknown) => {
      this.log.error({ err }, 'the local dispatcher session failed');
      managerEnd.abort(err instanceof Error ? err : new Error(String(err)));
    });
    return agentEnd;
  }

  private onSessionUpdate(u: SessionInfo): void {
    const s = this.state;
    if (!s) return;
    if (u.role === 'manager' && u.raftId !== 0 && !this.manager) {
      void this.serialise(async () => {
        if (this.manager || !this.state) return;
        this.log.info({ raftId: u.raftId }, 'this node was promoted to manager');
        await rm(this.raftDir, { recursive: true, force: true });
        this.state = { ...this.state, role: 'manager', raftId: u.raftId };
        await this.persist();
        await this.startManager(u.raftId, false);
      }).catch((err: unknown) => this.log.error({ err }, 'could not start the manager after a promotion'));
    } else if (u.role === 'worker' && u.raftId === 0 && this.manager) {
      void this.serialise(() => this.stepDown('demoted to worker')).catch((err: unknown) =>
        this.log.error({ err }, 'could not stop the manager after a demotion'),
      );
    }
  }

  private rememberManagers(list: ManagerPeer[]): void {
    const s = this.state;
    if (!s) return;
    const key = (l: readonly ManagerPeer[]): string => JSON.stringify([...l].sort((a, b) => a.raftId - b.raftId));
    if (key(list) === key(s.managers)) return;
    this.state = { ...s, managers: list };
    void this.persist().catch((err: unknown) => this.log.warn({ err }, 'could not save the manager list'));
  }

  /** Stop everything swarm-related and forget the swarm (leave, or removed by the managers). */
  private async teardown(why: string): Promise<void> {
    this.log.info({ why }, 'leaving the swarm');
    this.session?.stop();
    this.session = undefined;
    // Docker removes a node's swarm tasks when it leaves.
    const agent = this.agent;
    this.agent = undefined;
    await agent?.leave().catch((err: unknown) => this.log.warn({ err }, 'could not remove every task while leaving'));
    // And its networks: a node that joins again gets them anew from its new swarm.
    const network = this.network;
    this.network = undefined;
    await network?.removeAll().catch((err: unknown) => this.log.warn({ err }, 'could not remove every overlay network while leaving'));
    await network?.close().catch(() => undefined);
    const m = this.manager;
    this.manager = undefined;
    this.control = undefined;
    await m?.stop();
    await this.host?.stop();
    this.host = undefined;
    await rm(this.raftDir, { recursive: true, force: true });
    // No save may land after the state file is gone.
    this.state = undefined;
    await this.saving;
    await clearLocalState(this.opts.dataRoot);
    // A node that joins again is a new node, with a new identity, as in Docker.
    await rm(this.identityFile, { force: true });
    this.peerId = peerIdString(await loadOrCreateIdentity(this.identityFile));
  }

  /** Graceful stop (SIGTERM): membership is kept for the next start. */
  async close(): Promise<void> {
    await this.serialise(async () => {
      this.session?.stop();
      // Tasks keep running: the next start re-attaches to them.
      await this.agent?.close();
      await this.executor?.close();
      await this.manager?.stop();
      await this.host?.stop();
      await this.network?.close();
      if (this.imageGcTimer !== undefined) clearInterval(this.imageGcTimer);
      await this.images?.close();
      await this.registry.close();
    });
  }

  /**
   * The executor outlives a swarm leave and join, the data plane does not:
   * what it is handed reaches whichever data plane is current.
   */
  private readonly networkNow: NetworkDataPlane = {
    apply: (m) => this.network?.apply(m) ?? Promise.resolve(),
    attach: (r) => (this.network !== undefined ? this.network.attach(r) : Promise.reject(new UnavailableError('overlay networks are not available on this node (see the daemon log)'))),
    detach: (id) => this.network?.detach(id) ?? Promise.resolve(),
    close: () => Promise.resolve(),
  };

  /**
   * The overlay data plane, with a DNS responder per network namespace. Its
   * devices outlive the daemon like the containers do; a restarted one adopts them.
   */
  private async openNetwork(state: LocalState): Promise<OverlayDataPlane | undefined> {
    const underlayIp = parseHostPort(state.advertiseAddr).host;
    const log = this.log.child({ component: 'network' });
    try {
      const dns = new ProcessDnsHost({ runDir: join(this.opts.dataRoot, 'dns'), logger: log });
      return await OverlayDataPlane.open({ dataRoot: this.opts.dataRoot, underlayIp, dataPathPort: DEFAULT_DATA_PATH_PORT, logger: log, dns });
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'overlay networks are not available on this node; tasks on networks will fail to start here');
      return undefined;
    }
  }

  // --- images (GET /images/json, POST /images/create, DELETE /images/{name}, GET /distribution) ---

  private async openImages(): Promise<void> {
    this.images = await ImageStore.open({
      root: join(this.opts.dataRoot, 'image'),
      logger: this.log.child({ component: 'images' }),
      client: this.registry,
      inUse: () => (this.executor instanceof OciExecutor ? this.executor.imagesInUse() : new Set<string>()),
    });
    this.imageGcTimer = setInterval(() => void this.collectImages(), IMAGE_GC_INTERVAL_MS);
    this.imageGcTimer.unref();
  }

  /**
   * Images no container has used for a day go, then layers and blobs nothing
   * needs (Docker leaves this to `docker image prune`; a cluster node that
   * runs whatever it is told would otherwise fill its disk).
   */
  private async collectImages(): Promise<void> {
    const images = this.images;
    if (images === undefined) return;
    try {
      const removed = await images.removeUnused(IMAGE_UNUSED_FOR_MS);
      const pruned = await images.prune();
      if (removed.length > 0 || pruned.layersDeleted.length > 0) {
        this.log.info({ images: removed, layers: pruned.layersDeleted.length, bytes: pruned.spaceReclaimed }, 'removed unused images and layers');
      }
    } catch (err) {
      this.log.warn({ err }, 'image garbage collection failed; it runs again later');
    }
  }

  /** The node's images for the API (none with the sim executor), and GET /distribution. */
  imageApi(): ImageBackend {
    return new NodeImages(this.images, this.registry);
  }

  /** For tests and benchmarks: the running manager, if any. */
  currentManager(): Manager | undefined {
    return this.manager;
  }

  // --- logs (/shoal/logs/1, GET /services/{id}/logs, GET /tasks/{id}/logs) ------------

  /** A manager of the swarm as this node knows them: from the store on a manager, from the session on a worker. */
  private isSwarmManager(peerId: string): boolean {
    return this.manager?.isManagerPeer(peerId) === true || (this.state?.managers ?? []).some((m) => m.peerId === peerId);
  }

  /** A manager asks for the output of this node's tasks. */
  private onLogsStream(s: MessageStream): Promise<void> {
    const x = this.executor;
    if (!x) {
      s.abort(new UnavailableError('this node runs no tasks yet'));
      return Promise.resolve();
    }
    return serveLogStream(s, x, { logger: this.log.child({ component: 'logs' }) });
  }

  /** A node's log stream; this daemon's own node is served in-process (a host cannot dial itself). */
  private async openLogStream(node: LogNode, signal: AbortSignal): Promise<MessageStream> {
    if (node.peerId === this.peerId) {
      // A few frames in flight, as a network stream's window would allow, not the pair's default 256 MiB worth.
      const [mine, theirs] = localStreamPair(this.peerId, this.peerId, { protocol: PROTOCOL_LOGS, maxMessageBytes: MAX_LOGS_FRAME_BYTES, highWater: 4 });
      void this.onLogsStream(theirs);
      return mine;
    }
    const host = this.host;
    if (!host) throw new UnavailableError('this node has left the swarm');
    return host.openStream({ peerId: node.peerId, addr: node.addr }, PROTOCOL_LOGS, {
      signal,
      timeoutMs: 5_000,
      maxMessageBytes: MAX_LOGS_FRAME_BYTES,
      peerLabel: `node ${node.hostname}`,
    });
  }

  async logs(target: LogTarget, query: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogEvent>> {
    const m = this.manager;
    if (!m) throw new UnavailableError(this.state ? WORKER_NODE_MESSAGE : NOT_IN_SWARM_MESSAGE);
    const broker = new LogBroker({ store: m.store, open: (n, sig) => this.openLogStream(n, sig), logger: this.log.child({ component: 'logs' }) });
    return broker.open(target, query, signal);
  }

  // --- ApiBackend -------------------------------------------------------------------

  local(): LocalInfo {
    const f = hostFacts();
    return {
      id: this.peerId,
      hostname: f.hostname,
      dataRoot: this.opts.dataRoot,
      os: process.platform,
      arch: dockerArch(),
      kernelVersion: f.kernelVersion,
      ncpu: f.ncpu,
      memTotal: f.memTotal,
      labels: [],
    };
  }

  async swarmInfo(): Promise<SwarmInfo> {
    const s = this.state;
    if (!s) {
      return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    }
    const info: SwarmInfo = {
      NodeID: s.nodeId,
      NodeAddr: parseHostPort(s.advertiseAddr).host,
      LocalNodeState: 'active',
      ControlAvailable: this.manager !== undefined,
      Error: '',
      RemoteManagers: s.managers.map((m) => ({ NodeID: m.nodeId, Addr: formatHostPort(fromMultiaddr(m.addr)) })),
    };
    const m = this.manager;
    const c = m?.cluster();
    if (m && c && this.control) {
      const counts = this.control.counts();
      info.Nodes = counts.nodes;
      info.Managers = counts.managers;
      info.Cluster = toClusterInfo(c);
    }
    return info;
  }

  init(req: SwarmInitRequest): Promise<string> {
    return this.serialise(async () => {
      if (this.state) {
        throw new UnavailableError('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
      }
      const listen = parseHostPort(req.ListenAddr ?? '0.0.0.0:2377');
      const advertise = resolveAdvertise(req.AdvertiseAddr, listen);
      // Raft state without swarm.json is a half-finished init: start over.
      await rm(this.raftDir, { recursive: true, force: true });
      const host = await this.startHost(listen);
      const nodeId = newObjectId();
      const raftId = newRaftId();
      const self: ManagerPeer = { nodeId, peerId: host.peerId, addr: toMultiaddr(advertise), raftId };
      const state: LocalState = {
        nodeId,
        clusterId: newObjectId(),
        role: 'manager',
        raftId,
        listenAddr: formatHostPort(listen),
        advertiseAddr: formatHostPort(advertise),
        managers: [self],
      };
      this.state = state;
      try {
        const m = await this.startManager(raftId, true);
        await m.raft.waitForLeader();
        const cluster = newClusterRecord(state.clusterId, req);
        const node: NodeRecord = {
          ...newNodeRecord(this.joinFacts('', advertise, req.Availability ?? 'active'), host.peerId, 'manager', ''),
          ID: nodeId,
        };
        node.Internal.RaftID = raftId;
        await m.store.update((tx) => {
          tx.create('cluster', cluster);
          tx.create('nodes', node);
          // The routing mesh's network exists from the start, as in Docker; the allocator gives it 10.0.0.0/24 and VXLAN id 4096.
          tx.create('networks', newIngressNetworkRecord(newObjectId()));
        });
        await this.persist();
      } catch (err) {
        await this.teardown('swarm init failed');
        throw err;
      }
      await this.startSession(state);
      this.log.info({ node: nodeId, cluster: state.clusterId, addr: state.advertiseAddr }, 'swarm initialised');
      return nodeId;
    });
  }

  private joinFacts(token: string, advertise: HostPort, availability: JoinRequest['availability']): JoinRequest {
    return {
      token,
      nonce: new Uint8Array(randomBytes(32)),
      hostname: hostFacts().hostname,
      advertiseAddr: toMultiaddr(advertise),
      availability,
      platform: hostPlatform(),
      resources: hostResources(),
      engineVersion: VERSION,
      engineLabels: {},
    };
  }

  join(req: SwarmJoinRequest): Promise<void> {
    return this.serialise(async () => {
      if (this.state) {
        throw new UnavailableError('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
      }
      if (req.RemoteAddrs.length === 0) throw new InvalidArgumentError('at least 1 RemoteAddr is required to join');
      const token = parseToken(req.JoinToken);
      const listen = parseHostPort(req.ListenAddr ?? '0.0.0.0:2377');
      const advertise = resolveAdvertise(req.AdvertiseAddr, listen);
      await rm(this.raftDir, { recursive: true, force: true });
      const host = await this.startHost(listen);
      const joinReq = this.joinFacts(req.JoinToken, advertise, req.Availability ?? 'active');
      let resp: JoinResponse | undefined;
      let lastErr: unknown;
      for (const remote of req.RemoteAddrs) {
        const addr = toMultiaddr(parseHostPort(remote));
        try {
          resp = parseJoinResponse(await host.request({ addr }, PROTOCOL_JOIN, joinReq, { timeoutMs: 20_000 }));
          break;
        } catch (err) {
          lastErr = err;
          this.log.warn({ err, remote }, 'join attempt failed');
        }
      }
      if (!resp) {
        await this.teardown('join failed');
        throw lastErr instanceof Error ? lastErr : new UnavailableError('could not join the swarm');
      }
      if (fingerprintOf(resp.clusterPublicKey) !== token.fingerprint || !verifyNonce(resp.clusterPublicKey, joinReq.nonce, resp.signature)) {
        await this.teardown('join answered by the wrong cluster');
        throw new InvalidArgumentError(
          `the manager at ${req.RemoteAddrs.join(', ')} does not belong to the swarm this join token is for (fingerprint mismatch); check the token and the address`,
        );
      }
      const state: LocalState = {
        nodeId: resp.nodeId,
        clusterId: resp.clusterId,
        role: resp.role,
        raftId: resp.raftId,
        listenAddr: formatHostPort(listen),
        advertiseAddr: formatHostPort(advertise),
        managers: resp.managers,
      };
      this.state = state;
      await this.persist();
      if (resp.role === 'manager' && resp.raftId !== 0) {
        const m = await this.startManager(resp.raftId, false);
        await waitFor(() => m.cluster() !== undefined && m.nodes().some((n) => n.ID === state.nodeId), 30_000).catch(() =>
          this.log.warn('joined as a manager but has not caught up with the swarm yet; it will keep trying'),
        );
      }
      await this.startSession(state);
      this.log.info({ node: state.nodeId, role: state.role }, 'joined the swarm');
    });
  }

  leave(force: boolean): Promise<void> {
    return this.serialise(async () => {
      const s = this.state;
      if (!s) throw new UnavailableError('This node is not part of a swarm');
      const m = this.manager;
      if (m) {
        const managers = m.nodes().filter((n) => n.Spec.Role === 'manager');
        if (!force) {
          const reachable = managers.filter((n) => m.raftView().reachable(n.Internal.RaftID)).length;
          const message =
            managers.length <= 1
              ? 'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.'
              : `You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves ${reachable - 1} managers out of ${managers.length}. Without a Raft quorum your swarm will be inaccessible. The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`;
          throw new UnavailableError(message);
        }
        if (managers.length > 1) await this.leaveRaft(m, s.nodeId);
      }
      await this.teardown('swarm leave');
    });
  }

  /** A leaving manager hands its Raft seat back (best effort: without a quorum it just goes). */
  private async leaveRaft(m: Manager, nodeId: string): Promise<void> {
    try {
      const self = m.nodes().find((n) => n.ID === nodeId);
      if (!self) return;
      const removed = new Promise<void>((resolve) => m.once('removed', () => resolve()));
      await m.store.update((tx) => {
        tx.update('nodes', { ...self, Spec: { ...self.Spec, Role: 'worker' } }, self.Version.Index);
      });
      await Promise.race([removed, new Promise((r) => setTimeout(r, 10_000))]);
    } catch (err) {
      this.log.warn({ err }, 'could not leave the Raft membership cleanly; leaving anyway');
    }
  }

  private requireControl(): ClusterControl {
    if (this.control) return this.control;
    throw new UnavailableError(this.state ? WORKER_NODE_MESSAGE : NOT_IN_SWARM_MESSAGE);
  }

  inspectSwarm(): Promise<Swarm> {
    return this.requireControl().inspectSwarm();
  }

  updateSwarm(version: number, spec: SwarmSpec, rotate: SwarmRotate): Promise<void> {
    return this.requireControl().updateSwarm(version, spec, rotate);
  }

  listNodes(): Promise<Node[]> {
    return this.requireControl().listNodes();
  }

  inspectNode(idOrName: string): Promise<Node> {
    return this.requireControl().inspectNode(idOrName);
  }

  updateNode(idOrName: string, version: number, spec: NodeSpec): Promise<void> {
    return this.requireControl().updateNode(idOrName, version, spec);
  }

  removeNode(idOrName: string, force: boolean): Promise<void> {
    return this.requireControl().removeNode(idOrName, force);
  }

  // --- ApiBackend: services and tasks (delegated like the node methods) ----------------

  createService(spec: ServiceSpec, opts: CreateServiceOptions = {}): Promise<ServiceCreateResponse> {
    return this.requireControl().createService(spec, opts);
  }

  listServices(opts: { status: boolean }): Promise<Service[]> {
    return this.requireControl().listServices(opts);
  }

  inspectService(idOrName: string, opts: { insertDefaults: boolean }): Promise<Service> {
    return this.requireControl().inspectService(idOrName, opts);
  }

  updateService(idOrName: string, version: number, spec: ServiceSpec, opts: UpdateServiceOptions): Promise<ServiceUpdateResponse> {
    return this.requireControl().updateService(idOrName, version, spec, opts);
  }

  removeService(idOrName: string): Promise<void> {
    return this.requireControl().removeService(idOrName);
  }

  listTasks(filters: FilterArgs): Promise<Task[]> {
    return this.requireControl().listTasks(filters);
  }

  inspectTask(idOrName: string): Promise<Task> {
    return this.requireControl().inspectTask(idOrName);
  }

  // --- ApiBackend: networks (delegated like the service methods) ----------------------

  createNetwork(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    return this.requireControl().createNetwork(req);
  }

  listNetworks(): Promise<Network[]> {
    return this.requireControl().listNetworks();
  }

  inspectNetwork(idOrName: string): Promise<Network> {
    return this.requireControl().inspectNetwork(idOrName);
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.requireControl().removeNetwork(idOrName);
  }
  // --- end of networks -------------------------------------------------------------
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
