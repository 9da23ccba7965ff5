// The executor's side of monitor.sock: typed calls, answers matched by seq.
// When the connection drops (the monitor was restarted), calls in flight
// fail, except `wait`s, which are sent again once a new connection is up;
// connecting starts the monitor when none answers.
import { connect, type Socket } from 'node:net';
import { ShoalError, UnavailableError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { LogRotation } from './json-log.js';
import {
  decodeResponse,
  encodeRequest,
  LineReader,
  RESULT_PARSERS,
  type ContainerState,
  type MonitorOp,
  type MonitorRequest,
  type MonitorResults,
} from './monitor-protocol.js';

export interface MonitorClientOptions {
  socketPath: string;
  /** Starts a monitor; called when nothing answers on the socket. */
  launch: () => Promise<unknown>;
  logger: Logger;
  /** How long to keep trying to reach a monitor before calls fail. */
  connectTimeoutMs?: number;
}

interface Pending {
  seq: number;
  req: MonitorRequest;
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
}

const RETRY_MS = 50;
const MAX_BACKOFF_MS = 2000;

export class MonitorClient {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private backoffMs = 100;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: MonitorClientOptions) {}

  ping(): Promise<{ pid: number }> {
    return this.call({ op: 'ping' });
  }

  start(id: string, log: LogRotation): Promise<ContainerState> {
    return this.call({ op: 'start', id, log });
  }

  state(id: string): Promise<ContainerState> {
    return this.call({ op: 'state', id });
  }

  /** Resolves with the container's state once it is no longer running (at once if it never started). */
  wait(id: string, signal?: AbortSignal): Promise<ContainerState> {
    return this.call({ op: 'wait', id }, signal);
  }

  async kill(id: string, signal: number): Promise<void> {
    await this.call({ op: 'kill', id, signal });
  }

  async delete(id: string): Promise<void> {
    await this.call({ op: 'delete', id });
  }

  list(): Promise<ContainerState[]> {
    return this.call({ op: 'list' });
  }

  /** Asks the monitor to exit (tests, uninstall); its containers keep running. */
  async shutdown(): Promise<void> {
    await this.call({ op: 'shutdown' });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.socket = undefined;
    for (const p of this.pending.values()) p.reject(new UnavailableError('the executor is closing'));
    this.pending.clear();
  }

  private call<K extends MonitorOp>(req: Extract<MonitorRequest, { op: K }>, signal?: AbortSignal): Promise<MonitorResults[K]> {
    if (this.closed) return Promise.reject(new UnavailableError('the executor is closed'));
    return new Promise<MonitorResults[K]>((resolve, reject) => {
      const seq = ++this.seq;
      const onAbort = (): void => {
        this.pending.delete(seq);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const parse = RESULT_PARSERS[req.op] as (v: unknown) => MonitorResults[K];
      this.pending.set(seq, {
        seq,
        req,
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          try {
            resolve(parse(v));
          } catch (err) {
            reject(err as Error);
          }
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      });
      this.send(seq);
    });
  }

  private send(seq: number): void {
    this.ensureConnected().then(
      (socket) => {
        const p = this.pending.get(seq);
        if (p !== undefined) socket.write(encodeRequest(seq, p.req));
      },
      (err: Error) => {
        const p = this.pending.get(seq);
        if (p === undefined) return;
        this.pending.delete(seq);
        p.reject(err);
      },
    );
  }

  private ensureConnected(): Promise<Socket> {
    if (this.socket !== undefined) return Promise.resolve(this.socket);
    this.connecting ??= this.connectOrLaunch().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOrLaunch(): Promise<Socket> {
    const deadline = Date.now() + (this.o.connectTimeoutMs ?? 30_000);
    let launched = false;
    for (;;) {
      if (this.closed) throw new UnavailableError('the executor is closed');
      try {
        const s = await this.dial();
        this.attach(s);
        return s;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw err;
        if (!launched) {
          launched = true;
          this.o.logger.info({ socket: this.o.socketPath }, 'starting the container monitor');
          await this.o.launch();
          continue;
        }
        // Another launcher's monitor holds the lock but is not listening yet.
        if (Date.now() > deadline) {
          throw new UnavailableError(`the container monitor does not answer on ${this.o.socketPath}; see monitor.log beside it`);
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private dial(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.o.socketPath);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  private attach(s: Socket): void {
    this.socket = s;
    this.backoffMs = 100;
    const reader = new LineReader();
    s.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch (err) {
        this.o.logger.error({ err }, 'the container monitor sent garbage; reconnecting');
        s.destroy();
        return;
      }
      for (const line of lines) {
        try {
          const r = decodeResponse(line);
          const p = this.pending.get(r.seq);
          if (p === undefined) continue;
          this.pending.delete(r.seq);
          if (r.ok) p.resolve(r.result);
          else p.reject(new ShoalError(r.error.code, r.error.message, r.error.code === 'not_found' ? 404 : r.error.code === 'conflict' ? 409 : 500));
        } catch (err) {
          this.o.logger.error({ err }, 'unreadable answer from the container monitor');
        }
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined;
      if (this.closed) return;
      this.lost();
    });
  }

  /** Calls in flight fail, but waits carry over to the next connection. */
  private lost(): void {
    let waits = 0;
    for (const p of [...this.pending.values()]) {
      if (p.req.op === 'wait') {
        waits++;
        continue;
      }
      this.pending.delete(p.seq);
      p.reject(new UnavailableError('lost the connection to the container monitor; retry'));
    }
    if (waits === 0) return;
    this.o.logger.warn({ waits }, 'lost the connection to the container monitor; reconnecting');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.ensureConnected().then(
        () => {
          for (const p of this.pending.values()) if (p.req.op === 'wait') this.send(p.seq);
        },
        () => {
          this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
          this.lost();
        },
      );
    }, this.backoffMs);
  }
}
