// DnsHost as a process per overlay namespace: Node cannot enter another
// network namespace, so each responder is `ip netns exec <ns> node
// responder-main.js`, fed its records over a unix socket the daemon listens
// on. The daemon restarts a responder that dies and forwards the queries the
// responders cannot answer (from its own namespace, where the upstream
// resolvers are reachable).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError, UnavailableError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { OverlayNetworkState } from '../../../shared/protocol/network-state.js';
import type { DnsHost } from '../dns-host.js';
import { encodeLine, LineSplitter, parseFromResponder, type ToResponder } from './control.js';
import { Forwarder, upstreamsFromResolvConf, type Upstream } from './upstream.js';
import { zoneFromServices } from './zone.js';

export const RESPONDER_MAIN = fileURLToPath(new URL('./responder-main.js', import.meta.url));

export interface ProcessDnsHostOptions {
  /** Where the control sockets live (a short path: unix socket paths are limited to 107 bytes). */
  runDir: string;
  logger: Logger;
  /** Resolvers for names the overlays do not know; default: the non-loopback nameservers of `resolvConfPath`. */
  upstreams?: Upstream[];
  resolvConfPath?: string;
  /** Per upstream resolver. */
  forwardTimeoutMs?: number;
  /** The responders' port; 53 unless a test wants another. */
  port?: number;
  /** Turns the responder's command line into the one to run; default: `ip netns exec <ns> ...`. */
  wrap?: (netnsName: string, command: string[]) => string[];
  /** How long a responder may take to listen before start() gives up. */
  startTimeoutMs?: number;
  /** Restart backoff after a responder dies: doubles from min up to max. */
  restartDelayMs?: { min: number; max: number };
}

interface ReadyWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Entry {
  netns: string;
  listenIp: string;
  network: OverlayNetworkState;
  socketPath: string;
  server: Server;
  conn?: Socket;
  child?: ChildProcess;
  childExited?: Promise<void>;
  waiter?: ReadyWaiter;
  port?: number;
  /** The first start succeeded; from then on a death means restart. */
  started: boolean;
  stopping: boolean;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  stderrTail: string;
}

const STDERR_TAIL_BYTES = 4096;
const STOP_GRACE_MS = 5000;

function socketName(netns: string): string {
  const safe = /^[A-Za-z0-9_.-]{1,40}$/.test(netns) ? netns : createHash('sha256').update(netns).digest('hex').slice(0, 16);
  return `dns-${safe}.sock`;
}

/** The last lines a responder wrote, pino JSON reduced to its messages, for errors a person reads. */
function describeTail(tail: string): string {
  const lines = tail.trim().split('\n').filter(Boolean);
  const msgs = lines.map((l) => {
    try {
      const v = JSON.parse(l) as { msg?: unknown; err?: { message?: unknown } };
      const m = typeof v.msg === 'string' ? v.msg : l;
      return typeof v.err?.message === 'string' ? `${m}: ${v.err.message}` : m;
    } catch {
      return l;
    }
  });
  return msgs.slice(-3).join('; ') || 'no output';
}

export class ProcessDnsHost implements DnsHost {
  private readonly entries = new Map<string, Entry>();
  private readonly forwarder: Forwarder;
  private upstreamsLoaded: Promise<Upstream[]> | undefined;
  private readonly log: Logger;

  constructor(private readonly options: ProcessDnsHostOptions) {
    this.log = options.logger.child({ component: 'dns' });
    this.forwarder = new Forwarder({
      upstreams: () => this.upstreams(),
      ...(options.forwardTimeoutMs !== undefined ? { timeoutMs: options.forwardTimeoutMs } : {}),
    });
  }

  async start(netnsName: string, listenIp: string, network: OverlayNetworkState): Promise<void> {
    const existing = this.entries.get(netnsName);
    if (existing) {
      if (existing.listenIp === listenIp) {
        this.update(netnsName, network);
        return;
      }
      await this.stop(netnsName);
    }
    await mkdir(this.options.runDir, { recursive: true });
    const socketPath = join(this.options.runDir, socketName(netnsName));
    await rm(socketPath, { force: true });
    const entry: Entry = {
      netns: netnsName,
      listenIp,
      network,
      socketPath,
      server: createServer((conn) => this.onConnection(entry, conn)),
      started: false,
      stopping: false,
      failures: 0,
      stderrTail: '',
    };
    await new Promise<void>((resolve, reject) => {
      entry.server.once('error', reject);
      entry.server.listen(socketPath, () => {
        entry.server.off('error', reject);
        resolve();
      });
    });
    entry.server.on('error', (err) => this.log.warn({ err, netns: netnsName }, 'dns control socket error'));
    this.entries.set(netnsName, entry);
    try {
      await this.launch(entry);
      entry.started = true;
      this.log.info({ netns: netnsName, listen: listenIp, network: network.name, responderPid: entry.child?.pid }, 'dns responder started');
    } catch (err) {
      if (this.entries.get(netnsName) === entry) await this.stop(netnsName);
      throw err;
    }
  }

  update(netnsName: string, network: OverlayNetworkState): void {
    const entry = this.entries.get(netnsName);
    if (!entry) throw new NotFoundError(`no DNS responder runs in network namespace ${netnsName}; start it before updating it`);
    entry.network = network;
    // A responder that is restarting gets the latest state when it connects.
    if (entry.conn) this.send(entry.conn, { type: 'zone', zone: zoneFromServices(network.name, network.internal, network.services) });
  }

  async stop(netnsName: string): Promise<void> {
    const entry = this.entries.get(netnsName);
    if (!entry) return;
    this.entries.delete(netnsName);
    entry.stopping = true;
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    const child = entry.child;
    if (child && entry.childExited) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        entry.childExited.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_GRACE_MS))),
      ]);
      clearTimeout(timer);
      if (!exited) {
        child.kill('SIGKILL');
        await entry.childExited;
      }
    }
    entry.conn?.destroy();
    await new Promise<void>((resolve) => entry.server.close(() => resolve()));
    await rm(entry.socketPath, { force: true });
    this.log.info({ netns: netnsName }, 'dns responder stopped');
  }

  /** Stops every responder (daemon shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((ns) => this.stop(ns)));
  }

  /** The responder's process id, while one runs. */
  pid(netnsName: string): number | undefined {
    return this.entries.get(netnsName)?.child?.pid;
  }

  /** The port the responder listens on (53, or what the OS picked when `port` was 0). */
  port(netnsName: string): number | undefined {
    return this.entries.get(netnsName)?.port;
  }

  private upstreams(): Promise<Upstream[]> {
    if (this.options.upstreams) return Promise.resolve(this.options.upstreams);
    const path = this.options.resolvConfPath ?? '/etc/resolv.conf';
    this.upstreamsLoaded ??= readFile(path, 'utf8').then(
      (text) => {
        const found = upstreamsFromResolvConf(text);
        if (found.length === 0) this.log.warn({ path }, 'no non-loopback nameserver in resolv.conf; names outside the overlays will get SERVFAIL');
        return found;
      },
      (err: unknown) => {
        this.log.warn({ err, path }, 'cannot read resolv.conf; names outside the overlays will get SERVFAIL');
        return [];
      },
    );
    return this.upstreamsLoaded;
  }

  private launch(entry: Entry): Promise<void> {
    const command = [
      process.execPath,
      RESPONDER_MAIN,
      '--listen',
      entry.listenIp,
      '--socket',
      entry.socketPath,
      '--port',
      String(this.options.port ?? 53),
    ];
    const argv = this.options.wrap ? this.options.wrap(entry.netns, command) : ['ip', 'netns', 'exec', entry.netns, ...command];
    entry.stderrTail = '';
    entry.port = undefined;
    const ready = new Promise<void>((resolve, reject) => {
      entry.waiter = { resolve, reject };
    });
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    entry.child = child;
    entry.childExited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit(entry, child, code, signal);
        resolve();
      });
      child.once('error', (err) => {
        entry.stderrTail += `${err.message}\n`;
        // 'exit' does not follow a failed spawn; end the same way.
        if (child.exitCode === null && child.pid === undefined) {
          this.onExit(entry, child, null, null);
          resolve();
        }
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      entry.stderrTail = (entry.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      entry.waiter?.reject(
        new UnavailableError(`DNS responder in network namespace ${entry.netns} did not listen on ${entry.listenIp} within ${timeoutMs} ms (${describeTail(entry.stderrTail)})`),
      );
      entry.waiter = undefined;
      child.kill('SIGKILL');
    }, timeoutMs);
    return ready.finally(() => clearTimeout(timer));
  }

  private onExit(entry: Entry, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (entry.child !== child) return;
    entry.child = undefined;
    entry.port = undefined;
    if (entry.waiter) {
      entry.waiter.reject(
        new UnavailableError(
          `DNS responder in network namespace ${entry.netns} exited before listening on ${entry.listenIp} ` +
            `(${signal ?? `code ${code}`}): ${describeTail(entry.stderrTail)}; check that the namespace exists and has that address`,
        ),
      );
      entry.waiter = undefined;
    }
    if (entry.stopping || !entry.started) return;
    const { min, max } = this.options.restartDelayMs ?? { min: 200, max: 5000 };
    const delay = Math.min(max, min * 2 ** entry.failures);
    entry.failures++;
    this.log.warn(
      { netns: entry.netns, code, signal, restartInMs: delay, output: describeTail(entry.stderrTail) },
      'dns responder exited; restarting it',
    );
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (entry.stopping) return;
      // A failed restart ends in onExit again, which schedules the next attempt.
      this.launch(entry).then(
        () => this.log.info({ netns: entry.netns, responderPid: entry.child?.pid }, 'dns responder restarted'),
        () => undefined,
      );
    }, delay);
  }

  private onConnection(entry: Entry, conn: Socket): void {
    if (entry.stopping || entry.child === undefined) {
      conn.destroy();
      return;
    }
    // The newest connection is the current child's; an older one belongs to a responder on its way out.
    entry.conn?.destroy();
    entry.conn = conn;
    const lines = new LineSplitter();
    conn.on('close', () => {
      if (entry.conn === conn) entry.conn = undefined;
    });
    conn.on('error', (err) => this.log.debug({ err, netns: entry.netns }, 'dns control connection error'));
    conn.on('data', (chunk: Buffer) => {
      let messages: string[];
      try {
        messages = lines.push(chunk);
      } catch (err) {
        this.log.warn({ err, netns: entry.netns }, 'dns responder sent an unreadable stream; restarting it');
        conn.destroy();
        return;
      }
      for (const line of messages) this.onMessage(entry, conn, line);
    });
    this.send(conn, { type: 'zone', zone: zoneFromServices(entry.network.name, entry.network.internal, entry.network.services) });
  }

  private onMessage(entry: Entry, conn: Socket, line: string): void {
    let msg;
    try {
      msg = parseFromResponder(line);
    } catch (err) {
      this.log.warn({ err, netns: entry.netns }, 'dns responder sent an invalid message; ignoring it');
      return;
    }
    if (msg.type === 'ready') {
      entry.port = msg.port;
      entry.failures = 0;
      entry.waiter?.resolve();
      entry.waiter = undefined;
      return;
    }
    const { id, tcp } = msg;
    this.forwarder.forward(Buffer.from(msg.packet, 'base64'), tcp).then(
      (reply) => this.send(conn, { type: 'forwarded', id, packet: reply === undefined ? null : reply.toString('base64') }),
      (err: unknown) => {
        this.log.warn({ err, netns: entry.netns }, 'dns forward failed');
        this.send(conn, { type: 'forwarded', id, packet: null });
      },
    );
  }

  private send(conn: Socket, msg: ToResponder): void {
    if (!conn.destroyed) conn.write(encodeLine(msg));
  }
}
