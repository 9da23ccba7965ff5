// The node's session with the swarm's leader: a heartbeat every period,
// following redirects to whoever leads now and trying the other managers when
// one does not answer. The answers tell the node what it must be (worker or
// manager, with which Raft id) and which managers exist. Later issues carry
// task assignments and status reports over the same session.
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import {
  PROTOCOL_SESSION,
  parseSessionResponse,
  type ManagerPeer,
  type SessionRequest,
  type SessionResponse,
} from '../../shared/protocol/cluster.js';

export interface SessionNet {
  request<Req, Res>(target: { peerId: string; addr: string }, protocol: string, req: Req, opts?: { timeoutMs?: number }): Promise<Res>;
}

export type SessionUpdate = Extract<SessionResponse, { kind: 'ok' }>;

export interface AgentSessionOptions {
  nodeId: string;
  net: SessionNet;
  /** Managers known right now (the daemon keeps the list across restarts). */
  managers: () => readonly ManagerPeer[];
  /** When this daemon leads the swarm, heartbeats are answered in-process (a host cannot dial itself). */
  local: () => ((req: SessionRequest) => SessionResponse) | undefined;
  onUpdate: (u: SessionUpdate) => void;
  onManagers: (managers: ManagerPeer[]) => void;
  onRemoved: () => void;
  clock: Clock;
  logger: Logger;
  initialPeriodMs?: number;
}

export class AgentSession {
  private periodMs: number;
  private preferred: string | undefined;
  private cancel: (() => void) | undefined;
  private stopped = false;
  private failures = 0;

  constructor(private readonly o: AgentSessionOptions) {
    this.periodMs = o.initialPeriodMs ?? 1000;
  }

  start(): void {
    void this.beat();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.cancel = this.o.clock.setTimeout(() => void this.beat(), ms);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const req: SessionRequest = { nodeId: this.o.nodeId };
    // A redirect is followed at once, up to once per manager.
    for (let hop = 0; hop <= this.o.managers().length; hop++) {
      // stop() while a request failed: do not go on dialling the other managers.
      if (this.stopped) return;
      let resp: SessionResponse;
      const local = this.o.local();
      const target = local ? undefined : this.pick();
      try {
        if (local) resp = local(req);
        else if (target) resp = parseSessionResponse(await this.o.net.request(target, PROTOCOL_SESSION, req, { timeoutMs: Math.max(1000, this.periodMs) }));
        else break;
      } catch (err) {
        this.failures++;
        // One line per streak of failures, without a stack: an unreachable manager is an expected condition.
        if (this.failures % 10 === 1) {
          this.o.logger.warn({ reason: err instanceof Error ? err.message : String(err), manager: target?.addr }, 'heartbeat failed; trying another manager');
        }
        this.preferred = this.next(target?.peerId);
        continue;
      }
      if (this.stopped) return;
      if (resp.kind === 'removed') {
        this.o.logger.warn('this node was removed from the swarm');
        this.o.onRemoved();
        return;
      }
      if (resp.managers.length > 0) this.o.onManagers(resp.managers);
      if (resp.kind === 'redirect') {
        if (resp.leader === null || resp.leader.peerId === target?.peerId) break;
        this.preferred = resp.leader.peerId;
        continue;
      }
      this.failures = 0;
      if (target) this.preferred = target.peerId;
      this.periodMs = resp.heartbeatPeriodMs;
      this.o.onUpdate(resp);
      break;
    }
    this.schedule(this.periodMs);
  }

  private pick(): ManagerPeer | undefined {
    const list = this.o.managers();
    return list.find((m) => m.peerId === this.preferred) ?? list[0];
  }

  private next(after: string | undefined): string | undefined {
    const list = this.o.managers();
    if (list.length === 0) return undefined;
    const i = list.findIndex((m) => m.peerId === after);
    return list[(i + 1) % list.length]!.peerId;
  }
}
