// One libp2p node per daemon: TCP, Noise (which authenticates every peer by
// its key) and Yamux, and nothing else. There is no identify, ping or DHT
// service: peers and their addresses come from the cluster store, so nothing
// has to be discovered, and every extra protocol would be one more thing an
// unauthenticated stranger could talk to.
//
// Access control has two layers. The optional connection guard refuses banned
// peers before any stream exists; the per-stream guard runs for every inbound
// stream after protocol negotiation and decides by peer and protocol (only
// managers speak raft, strangers may only join).

import { isIP } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { isShoalError, ShoalError, UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { abortError, bareAddr, describeTarget, dialError, type DialTarget, openError, targetMultiaddr } from './addressing.js';
import { openEnvelope, type ResponseEnvelope, toWireError } from './envelope.js';
import { FrameTooLargeError, P2PTimeoutError, RemoteError, StreamClosedError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from './framing.js';
import { FramedStream, type MessageStream } from './message-stream.js';

export type { DialTarget, PeerTarget } from './addressing.js';
export type { MessageStream } from './message-stream.js';

export type GuardDecision = { allow: true } | { allow: false; reason: string };

export interface P2PHostOptions {
  privateKey: PrivateKey;
  /** IP address to listen on: 0.0.0.0 or :: for all interfaces. */
  listenHost: string;
  /** TCP port; 0 picks a free one (see listenAddrs()). */
  listenPort: number;
  logger: Logger;
  /** Decides every inbound stream before its handler runs; a denial resets the stream and is logged. */
  guard: (peerId: string, protocol: string) => GuardDecision;
  /** Connection-level gate, both directions: false refuses the peer outright (banned nodes). */
  connectionGuard?: (peerId: string) => boolean;
  /** Default bound on one message in either direction (default 16 MiB). */
  maxMessageBytes?: number;
  /** How long connecting to a peer may take (default 5000 ms). */
  dialTimeoutMs?: number;
  /** Connections kept open at most before libp2p prunes (default 1000). */
  maxConnections?: number;
}

export interface RequestContext {
  /** The authenticated peer that sent the request. */
  peerId: string;
  protocol: string;
  /** Fires when the handler's time is up; the caller has been told, so work can stop. */
  signal: AbortSignal;
}

export interface HandleRequestOptions {
  /** Largest request accepted (default: the host's maxMessageBytes). */
  maxRequestBytes?: number;
  /** Time to receive the request and answer it (default 30000 ms). */
  timeoutMs?: number;
  /** Concurrent requests per connection for this protocol (default 256). */
  maxInboundStreams?: number;
}

export interface RequestOptions {
  /** Covers connecting, sending and the answer (default 10000 ms). */
  timeoutMs?: number;
  /** Largest response accepted (default: the host's maxMessageBytes). */
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /** What the peer is, for error messages: "cannot reach <label> at <addr>" (default "peer"). */
  peerLabel?: string;
}

export interface StreamContext {
  peerId: string;
  protocol: string;
}

export interface HandleStreamOptions {
  /** Largest message accepted (default: the host's maxMessageBytes). */
  maxMessageBytes?: number;
  /** Concurrent streams per connection for this protocol (default 32). */
  maxInboundStreams?: number;
}

export interface OpenStreamOptions {
  /** Covers connecting and opening the stream (default 10000 ms). */
  timeoutMs?: number;
  /** Largest message accepted (default: the host's maxMessageBytes). */
  maxMessageBytes?: number;
  signal?: AbortSignal;
  peerLabel?: string;
}

const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;
const DEFAULT_REQUEST_STREAMS = 256;
const DEFAULT_LONG_STREAMS = 32;
const MAX_OUTBOUND_STREAMS = 1024;

export class P2PHost {
  readonly peerId: string;
  private readonly log: Logger;
  private readonly guard: P2PHostOptions['guard'];
  private readonly maxMessageBytes: number;
  private readonly dialTimeoutMs: number;
  private stopped = false;

  private constructor(
    private readonly node: Libp2p,
    opts: P2PHostOptions,
  ) {
    this.peerId = node.peerId.toString();
    this.log = opts.logger;
    this.guard = opts.guard;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    node.addEventListener('connection:open', (evt) => {
      const c = evt.detail;
      this.log.debug({ peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction }, 'p2p connection opened');
    });
    node.addEventListener('connection:close', (evt) => {
      this.log.debug({ peer: evt.detail.remotePeer.toString() }, 'p2p connection closed');
    });
  }

  /** Start listening. Fails with an actionable error when the address cannot be bound. */
  static async create(opts: P2PHostOptions): Promise<P2PHost> {
    const listen = listenMultiaddr(opts.listenHost, opts.listenPort);
    const dialTimeout = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    const allowed = opts.connectionGuard;
    let node: Libp2p;
    try {
      node = await createLibp2p({
        privateKey: opts.privateKey,
        addresses: { listen: [listen] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionManager: {
          dialTimeout,
          maxConnections: opts.maxConnections ?? 1000,
          // libp2p's default (5 new connections per second per remote host)
          // would refuse a burst of workers behind one NAT, or a test suite.
          inboundConnectionThreshold: 100,
        },
        ...(allowed
          ? {
              connectionGater: {
                denyInboundEncryptedConnection: (peer: PeerId) => !allowed(peer.toString()),
                denyOutboundEncryptedConnection: (peer: PeerId) => !allowed(peer.toString()),
              },
            }
          : {}),
      });
    } catch (err) {
      const why = /EADDRINUSE/.test(String(err)) ? 'address already in use (is another daemon running?)' : errMessage(err);
      throw new ShoalError('listen_failed', `cannot listen on ${listen}: ${why}`, 500, { cause: err });
    }
    return new P2PHost(node, opts);
  }

  /** The addresses peers can dial, with the real port, without the /p2p part. */
  listenAddrs(): string[] {
    return [...new Set(this.node.getMultiaddrs().map(bareAddr))];
  }

  /**
   * Serve a request/response protocol: one request in, one response out.
   * The request is whatever the peer sent, so the handler must validate it
   * before trusting its shape. A ShoalError thrown by the handler reaches the
   * caller with its status and code; any other error is reported as internal.
   */
  handleRequest<Req, Res>(
    protocol: string,
    handler: (req: Req, ctx: RequestContext) => Promise<Res>,
    opts: HandleRequestOptions = {},
  ): void {
    const maxRequestBytes = opts.maxRequestBytes ?? this.maxMessageBytes;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    this.register(protocol, opts.maxInboundStreams ?? DEFAULT_REQUEST_STREAMS, (stream, peerId) => {
      const fs = new FramedStream(stream, peerId, {
        maxFrameBytes: maxRequestBytes,
        maxSendBytes: this.maxMessageBytes,
        describe: `request stream from peer ${peerId} on ${protocol}`,
        lastWords: (err) => ({ error: toWireError(err, protocol) }) satisfies ResponseEnvelope,
      });
      void this.serveRequest(fs, { peerId, protocol, signal: AbortSignal.timeout(timeoutMs) }, timeoutMs, handler);
    });
  }

  /** Send one request and wait for its response. */
  async request<Req, Res>(target: DialTarget, protocol: string, req: Req, opts: RequestOptions = {}): Promise<Res> {
    return (await this.requestWithPeer<Req, Res>(target, protocol, req, opts)).response;
  }

  /** request(), also returning who answered: with a bare address, that is how the caller learns the peer id. */
  async requestWithPeer<Req, Res>(
    target: DialTarget,
    protocol: string,
    req: Req,
    opts: RequestOptions = {},
  ): Promise<{ response: Res; peerId: string }> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
    const who = describeTarget(target, opts.peerLabel);
    const { stream, peerId } = await this.open(target, protocol, {
      timeoutMs,
      signal,
      caller: opts.signal,
      who,
      maxFrameBytes: opts.maxResponseBytes ?? this.maxMessageBytes,
    });
    try {
      stream.send(req);
      const r = await stream.read({ signal });
      if (r.done) throw new StreamClosedError(`${who} closed ${protocol} without answering`);
      const response = openEnvelope(r.value, who, protocol) as Res;
      void stream.close();
      return { response, peerId };
    } catch (err) {
      if (err instanceof RemoteError) {
        void stream.close();
        throw err;
      }
      const fail = abortError(who, protocol, timeoutMs, deadline, opts.signal) ?? toError(err);
      stream.abort(fail);
      throw fail;
    }
  }

  /** Serve a streaming protocol: the handler owns the stream from then on and must close or abort it. */
  handleStream(protocol: string, handler: (s: MessageStream, ctx: StreamContext) => void, opts: HandleStreamOptions = {}): void {
    const maxMessageBytes = opts.maxMessageBytes ?? this.maxMessageBytes;
    this.register(protocol, opts.maxInboundStreams ?? DEFAULT_LONG_STREAMS, (stream, peerId) => {
      const fs = new FramedStream(stream, peerId, {
        maxFrameBytes: maxMessageBytes,
        maxSendBytes: this.maxMessageBytes,
        describe: `stream from peer ${peerId} on ${protocol}`,
      });
      const failed = (err: unknown): void => {
        this.log.error({ err, peer: peerId, protocol }, 'p2p stream handler failed');
        fs.abort(toError(err));
      };
      try {
        // Declared void, but an async handler's rejection must not go unhandled.
        const r: unknown = handler(fs, { peerId, protocol });
        if (r instanceof Promise) r.catch(failed);
      } catch (err) {
        failed(err);
      }
    });
  }

  /** Open a long-lived stream to a peer. */
  async openStream(target: DialTarget, protocol: string, opts: OpenStreamOptions = {}): Promise<MessageStream> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
    const { stream } = await this.open(target, protocol, {
      timeoutMs,
      signal,
      caller: opts.signal,
      who: describeTarget(target, opts.peerLabel),
      maxFrameBytes: opts.maxMessageBytes ?? this.maxMessageBytes,
    });
    return stream;
  }

  /** Stop serving a protocol; streams already open are left alone. */
  async unhandle(protocol: string): Promise<void> {
    await this.node.unhandle(protocol);
  }

  isConnected(peerId: string): boolean {
    const pid = parsePeerId(peerId);
    return pid !== undefined && this.node.getConnections(pid).some((c) => c.status === 'open');
  }

  /** Peer ids with at least one open connection. */
  connectedPeers(): string[] {
    return [...new Set(this.node.getConnections().filter((c) => c.status === 'open').map((c) => c.remotePeer.toString()))];
  }

  /** Close every connection to the peer (its streams end with an error on both sides). */
  async hangUp(peerId: string): Promise<void> {
    const pid = parsePeerId(peerId);
    if (pid !== undefined) await this.node.hangUp(pid);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.node.stop();
  }

  private register(protocol: string, maxInboundStreams: number, serve: (stream: Stream, peerId: string) => void): void {
    if (!protocol.startsWith('/')) throw new ShoalError('invalid_protocol', `protocol id "${protocol}" must start with "/"`, 500);
    if (this.node.getProtocols().includes(protocol)) {
      throw new ShoalError('duplicate_protocol', `a handler for ${protocol} is already registered`, 500);
    }
    const onStream = (stream: Stream, connection: Connection): void => {
      const peerId = connection.remotePeer.toString();
      let decision: GuardDecision;
      try {
        decision = this.guard(peerId, protocol);
      } catch (err) {
        decision = { allow: false, reason: `guard failed: ${errMessage(err)}` };
      }
      if (!decision.allow) {
        this.log.warn({ peer: peerId, protocol, reason: decision.reason }, 'refused an inbound p2p stream');
        stream.abort(new StreamClosedError(`refused ${protocol} from ${peerId}: ${decision.reason}`));
        return;
      }
      serve(stream, peerId);
    };
    // libp2p records the handler before its first await, so it is live on return;
    // only the peer store update that follows is asynchronous.
    this.node
      .handle(protocol, onStream, { maxInboundStreams, maxOutboundStreams: MAX_OUTBOUND_STREAMS })
      .catch((err: unknown) => this.log.error({ err, protocol }, 'registering a p2p protocol handler failed'));
  }

  private async serveRequest<Req, Res>(
    fs: FramedStream,
    ctx: RequestContext,
    timeoutMs: number,
    handler: (req: Req, ctx: RequestContext) => Promise<Res>,
  ): Promise<void> {
    const { peerId: peer, protocol, signal } = ctx;
    let req: unknown;
    let reply: ResponseEnvelope | undefined;
    try {
      const first = await fs.read({ signal });
      if (first.done) {
        fs.abort(new StreamClosedError(`peer ${peer} closed ${protocol} before sending a request`));
        return;
      }
      req = first.value;
    } catch (err) {
      if (!signal.aborted) {
        // An oversized or malformed request was already answered by lastWords.
        const level = err instanceof FrameTooLargeError || isShoalError(err) ? 'warn' : 'debug';
        this.log[level]({ peer, protocol, err: errMessage(err) }, 'p2p request not received');
        fs.abort(toError(err));
        return;
      }
      // The deadline covers receiving the request too. One that ran out first
      // (a slow peer, a busy event loop) is answered like a slow handler, so
      // the caller learns it timed out instead of seeing a bare reset.
      this.log.debug({ peer, protocol }, 'p2p request not received before the handler deadline');
      reply = { error: toWireError(timeoutError(protocol, timeoutMs), protocol) };
    }
    if (reply === undefined) {
      try {
        reply = { result: await raceSignal(handler(req as Req, ctx), signal, timeoutMs, protocol) };
      } catch (err) {
        if (!isShoalError(err)) this.log.error({ err, peer, protocol }, 'p2p request handler failed');
        reply = { error: toWireError(err, protocol) };
      }
    }
    try {
      fs.send(reply);
    } catch (err) {
      if (!(err instanceof FrameTooLargeError)) {
        fs.abort(toError(err));
        return;
      }
      this.log.error({ peer, protocol, bytes: err.frameBytes }, 'p2p response too large to send');
      fs.send({
        error: { status: 500, code: 'response_too_large', message: `the response to ${protocol} (${err.frameBytes} bytes) exceeds the limit of ${err.maxBytes} bytes` },
      } satisfies ResponseEnvelope);
    }
    await fs.close();
  }

  private async open(
    target: DialTarget,
    protocol: string,
    o: { timeoutMs: number; signal: AbortSignal; caller: AbortSignal | undefined; who: string; maxFrameBytes: number },
  ): Promise<{ stream: FramedStream; peerId: string }> {
    if (this.stopped) throw new UnavailableError(`cannot reach ${o.who}: this node's p2p host is stopped`);
    const ma = targetMultiaddr(target);
    const dialMs = Math.min(this.dialTimeoutMs, o.timeoutMs);
    // A connection can die between dial() handing it out and the stream opening;
    // one fresh dial then is worth it, more would only hide a real outage.
    for (let attempt = 0; ; attempt++) {
      const dialSignal = AbortSignal.any([o.signal, AbortSignal.timeout(dialMs)]);
      let conn: Connection;
      try {
        conn = await this.node.dial(ma, { signal: dialSignal });
      } catch (err) {
        throw dialError(err, o.who, dialMs, dialSignal, o.caller);
      }
      try {
        const stream = await conn.newStream(protocol, { signal: o.signal, maxOutboundStreams: MAX_OUTBOUND_STREAMS });
        const peerId = conn.remotePeer.toString();
        const fs = new FramedStream(stream, peerId, {
          maxFrameBytes: o.maxFrameBytes,
          maxSendBytes: this.maxMessageBytes,
          describe: `${o.who} on ${protocol}`,
        });
        return { stream: fs, peerId };
      } catch (err) {
        if (attempt === 0 && conn.status !== 'open' && !o.signal.aborted) continue;
        throw openError(err, o.who, protocol, o.timeoutMs, o.signal, o.caller);
      }
    }
  }
}

function listenMultiaddr(host: string, port: number): string {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ShoalError('invalid_listen_address', `listen port must be 0-65535, got ${port}`, 400);
  }
  const family = isIP(host);
  if (family === 0) {
    throw new ShoalError('invalid_listen_address', `listen address must be an IP address (0.0.0.0 for all interfaces), got "${host}"`, 400);
  }
  return `/ip${family}/${host}/tcp/${port}`;
}

function timeoutError(protocol: string, timeoutMs: number): P2PTimeoutError {
  return new P2PTimeoutError(`handling ${protocol} took longer than ${timeoutMs} ms`);
}

/** The handler's result, or a timeout error once the signal fires, whichever comes first. */
async function raceSignal<T>(work: Promise<T>, signal: AbortSignal, timeoutMs: number, protocol: string): Promise<T> {
  if (signal.aborted) throw timeoutError(protocol, timeoutMs);
  let onAbort: (() => void) | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    onAbort = () => reject(timeoutError(protocol, timeoutMs));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

function parsePeerId(peerId: string): PeerId | undefined {
  try {
    return peerIdFromString(peerId);
  } catch {
    return undefined;
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
