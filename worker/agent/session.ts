// The node's session with the swarm's leader: one /shoal/dispatch/1 stream
// (protocol in shared/protocol/dispatch.ts). It registers, heartbeats every
// period (the leader answers each beat with the session info: what this node
// must be, which managers exist, the period), receives task assignments for
// the agent, and carries the agent's status reports back.
//
// Finding the leader: it dials the manager that answered last (or the first
// it knows); a manager that does not lead answers with a redirect, which is
// followed at once, up to once per manager; a manager that fails is skipped
// for the next one. When every manager was tried, or no leader is known, it
// waits a while and starts over. A leader that stops answering heartbeats
// (no message within max(1 s, period) of a beat) is given up on.
import type { NetworksMessage } from '../../shared/protocol/network-state.js';
import type { Cancel, Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStream } from '../../shared/p2p/host.js';
import type { ManagerPeer } from '../../shared/protocol/cluster.js';
import {
  MAX_DISPATCH_MESSAGE_BYTES,
  parseManagerMessage,
  PROTOCOL_DISPATCH,
  type AgentMessage,
  type AssignmentsMessage,
  type SessionInfo,
  type TaskStatusReport,
} from '../../shared/protocol/dispatch.js';
import type { StatusSink } from './reporter.js';

export interface DispatchNet {
  openStream(target: { peerId: string; addr: string }, protocol: string, opts?: { timeoutMs?: number; maxMessageBytes?: number }): Promise<MessageStream>;
}

/** What the session hands on (the Agent implements it). */
export interface SessionListener {
  /** A session is up (the first session info arrived); assignments follow. */
  onConnected(): void;
  onAssignments(msg: AssignmentsMessage): void;
  /** The node's overlay networks as the leader sees them now (the whole state each time). */
  onNetworks?(msg: NetworksMessage): void;
  /** The stream takes status reports again after being full. */
  onWritable(): void;
}

export interface AgentSessionOptions {
  nodeId: string;
  net: DispatchNet;
  /** Managers known right now (the daemon keeps the list across restarts). */
  managers: () => readonly ManagerPeer[];
  /** While this daemon leads, a stream to its own dispatcher (a host cannot dial itself). */
  local: () => MessageStream | undefined;
  onUpdate: (info: SessionInfo) => void;
  onManagers: (managers: ManagerPeer[]) => void;
  onRemoved: () => void;
  listener?: SessionListener;
  clock: Clock;
  logger: Logger;
  initialPeriodMs?: number;
}

type Outcome =
  | { kind: 'redirect'; leader: ManagerPeer | null }
  | { kind: 'removed' }
  | { kind: 'failed'; reason: string }
  /** A session was up and ended (the leader stepped down or went away). */
  | { kind: 'ended'; lastedMs: number };

/** The longest wait between rounds of dialling when no leader answers. */
const MAX_RETRY_MS = 1000;

export class AgentSession implements StatusSink {
  private periodMs: number;
  private preferred: string | undefined;
  private stopped = false;
  private failures = 0;
  private stream: MessageStream | undefined;
  private established = false;
  private blocked = false;
  private wake: (() => void) | undefined;
  private sleepCancel: Cancel | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: AgentSessionOptions) {
    this.periodMs = o.initialPeriodMs ?? 1000;
  }

  /** The heartbeat period in force (the leader's word, once it spoke). */
  get heartbeatPeriodMs(): number {
    return this.periodMs;
  }

  get connected(): boolean {
    return this.established;
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => this.o.logger.error({ err }, 'the session with the leader stopped after an error'));
  }

  stop(): void {
    this.stopped = true;
    this.sleepCancel?.();
    this.wake?.();
    const s = this.stream;
    this.stream = undefined;
    this.established = false;
    if (s) void s.close().catch(() => undefined);
  }

  /** StatusSink: send reports if a session is up and its stream has room. */
  sendStatus(reports: TaskStatusReport[]): boolean {
    const s = this.stream;
    if (!s || !this.established || this.blocked || !s.writable) return false;
    try {
      if (!s.send({ type: 'status', reports } satisfies AgentMessage)) this.waitForDrain(s);
      return true;
    } catch {
      return false;
    }
  }

  private waitForDrain(s: MessageStream): void {
    this.blocked = true;
    s.onDrain().then(
      () => {
        if (this.stream !== s) return;
        this.blocked = false;
        this.o.listener?.onWritable();
      },
      () => undefined,
    );
  }

  private get retryMs(): number {
    return Math.min(this.periodMs, MAX_RETRY_MS);
  }

  private async loop(): Promise<void> {
    let hops = 0;
    let tries = 0;
    let quickEnds = 0;
    while (!this.stopped) {
      const local = this.o.local();
      const target = local ? undefined : this.pick();
      if (!local && !target) {
        await this.sleep(this.retryMs);
        continue;
      }
      let outcome: Outcome;
      try {
        const stream =
          local ??
          (await this.o.net.openStream(target!, PROTOCOL_DISPATCH, { timeoutMs: Math.max(1000, this.periodMs), maxMessageBytes: MAX_DISPATCH_MESSAGE_BYTES }));
        outcome = await this.converse(stream);
      } catch (err) {
        outcome = { kind: 'failed', reason: errMessage(err) };
      }
      if (this.stopped) return;
      const count = this.o.managers().length;
      switch (outcome.kind) {
        case 'removed':
          this.o.logger.warn('this node was removed from the swarm');
          this.stopped = true;
          this.o.onRemoved();
          return;
        case 'redirect': {
          const leader = outcome.leader;
          if (leader !== null && leader.peerId !== target?.peerId && hops < count) {
            hops++;
            this.preferred = leader.peerId;
            continue;
          }
          break;
        }
        case 'failed':
          this.failures++;
          // One line per streak of failures, without a stack: an unreachable manager is an expected condition.
          if (this.failures % 10 === 1) this.o.logger.warn({ reason: outcome.reason, manager: target?.addr }, 'session with the leader failed; trying another manager');
          this.preferred = this.next(target?.peerId);
          if (++tries <= count) continue;
          break;
        case 'ended':
          hops = 0;
          tries = 0;
          // Re-established at once (most likely the leader changed or went
          // away), but sessions that keep ending quickly are not retried in a loop.
          quickEnds = outcome.lastedMs >= this.periodMs ? 0 : quickEnds + 1;
          if (quickEnds <= 1) continue;
          break;
      }
      hops = 0;
      tries = 0;
      await this.sleep(this.retryMs);
    }
  }

  /** One stream, from register to its end. */
  private async converse(stream: MessageStream): Promise<Outcome> {
    const clock = this.o.clock;
    if (this.stopped) {
      void stream.close().catch(() => undefined);
      return { kind: 'ended', lastedMs: 0 };
    }
    this.stream = stream;
    this.established = false;
    this.blocked = false;
    const started = clock.now();
    let lastHeard = started;
    let beat: Cancel | undefined;
    let deadline: Cancel | undefined;
    // No answer within max(1 s, period) of a message that asks for one: the manager is gone.
    const expectAnswer = (): void => {
      const sent = clock.now();
      deadline?.();
      deadline = clock.setTimeout(() => {
        if (lastHeard < sent) stream.abort(new Error(`the manager did not answer within ${Math.max(1000, this.periodMs)} ms`));
      }, Math.max(1000, this.periodMs));
    };
    const scheduleBeat = (): void => {
      beat?.();
      beat = clock.setTimeout(() => {
        try {
          stream.send({ type: 'heartbeat' } satisfies AgentMessage);
          expectAnswer();
          scheduleBeat();
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      }, this.periodMs);
    };
    try {
      stream.send({ type: 'register', nodeId: this.o.nodeId } satisfies AgentMessage);
      expectAnswer();
      for (;;) {
        const r = await stream.read();
        if (this.stopped) return { kind: 'ended', lastedMs: clock.now() - started };
        if (r.done) {
          return this.established ? { kind: 'ended', lastedMs: clock.now() - started } : { kind: 'failed', reason: 'the manager closed the session' };
        }
        const msg = parseManagerMessage(r.value);
        lastHeard = clock.now();
        switch (msg.type) {
          case 'redirect':
            if (msg.managers.length > 0) this.o.onManagers(msg.managers);
            return { kind: 'redirect', leader: msg.leader };
          case 'removed':
            return { kind: 'removed' };
          case 'error':
            return { kind: 'failed', reason: msg.message };
          case 'session': {
            const { type: _type, ...info } = msg;
            const first = !this.established;
            const periodChanged = info.heartbeatPeriodMs !== this.periodMs;
            this.periodMs = info.heartbeatPeriodMs;
            if (first) {
              this.established = true;
              this.failures = 0;
              this.preferred = stream.remotePeer;
              this.o.logger.debug({ manager: stream.remotePeer, heartbeatPeriodMs: info.heartbeatPeriodMs }, 'session with the leader established');
              this.o.listener?.onConnected();
            } else if (periodChanged) {
              this.o.logger.debug({ heartbeatPeriodMs: info.heartbeatPeriodMs }, 'heartbeat period changed');
            }
            if (first || periodChanged) scheduleBeat();
            if (info.managers.length > 0) this.o.onManagers(info.managers);
            this.o.onUpdate(info);
            break;
          }
          case 'assignments':
            this.o.listener?.onAssignments(msg);
            break;
          case 'networks':
            this.o.listener?.onNetworks?.(msg);
            break;
        }
      }
    } catch (err) {
      if (this.stopped) return { kind: 'ended', lastedMs: clock.now() - started };
      return this.established ? { kind: 'ended', lastedMs: clock.now() - started } : { kind: 'failed', reason: errMessage(err) };
    } finally {
      beat?.();
      deadline?.();
      if (this.stream === stream) this.stream = undefined;
      this.established = false;
      void stream.close().catch(() => undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        this.sleepCancel?.();
        resolve();
      };
      this.sleepCancel = this.o.clock.setTimeout(() => this.wake?.(), ms);
    });
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

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
