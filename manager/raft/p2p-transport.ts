// The Raft transport over libp2p: one long-lived outbound stream per peer on
// /shoal/raft/1, carrying frames that each hold every message of one send()
// call for that peer (the codec's encodeMessages), so a Ready costs one write
// per peer however many messages it has.
//
// Raft tolerates loss and retries on its own schedule, which shapes every
// choice here: a full queue drops, a peer that just failed is not dialled
// again on every heartbeat but after a backoff (messages meanwhile are
// dropped, as stale ones would be useless anyway), and send() never throws
// or waits.
//
// The host's guard decides who may open the inbound stream (managers only);
// on top of that each message's `from` must resolve to the peer id that
// authenticated the connection, so one manager cannot speak for another.
// Register a member's address before adding it to the configuration.

import { ShoalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../shared/p2p/framing.js';
import type { MessageStream, P2PHost, PeerTarget } from '../../shared/p2p/host.js';
import { decodeMessages, encodeMessages } from './codec.js';
import type { Transport } from './transport.js';
import type { Message, NodeId } from './types.js';

export const RAFT_PROTOCOL = '/shoal/raft/1';

export interface P2PTransportOptions {
  /** Where a Raft member can be reached; read at send time, so it follows membership changes. */
  resolve: (id: NodeId) => PeerTarget | undefined;
  logger: Logger;
  /** Frames queued per peer while its stream connects or drains; more are dropped (default 1024). */
  maxQueuedFrames?: number;
  /** Bytes queued per peer, likewise (default 64 MiB). */
  maxQueuedBytes?: number;
  /** Largest frame sent; bigger batches are split (default: the host's default message limit). */
  maxFrameBytes?: number;
  /** Time to connect and open a stream (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Backoff after a failed connection: doubles from min to max (defaults 50 ms and 2000 ms). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** A peer is reachable this long after we last heard from it or connected to it (default 5000 ms). */
  reachableWindowMs?: number;
}

export interface P2PTransportStats {
  framesSent: number;
  messagesSent: number;
  bytesSent: number;
  framesReceived: number;
  messagesReceived: number;
  /** Messages dropped because the peer's queue was full. */
  droppedOverflow: number;
  /** Messages dropped because the peer has no address, is backing off, or its stream failed. */
  droppedUnreachable: number;
  /** Messages too large to fit one frame on their own. */
  droppedOversize: number;
  /** Inbound frames that failed to decode. */
  malformedFrames: number;
  /** Inbound messages whose sender did not match the connection's peer id. */
  rejectedMessages: number;
  /** Outbound streams opened. */
  streamsOpened: number;
  /** Outbound connection or stream failures. */
  streamFailures: number;
}

interface QueuedFrame {
  bytes: Uint8Array;
  messages: number;
}

/** Outbound state for one peer. */
interface Link {
  readonly id: NodeId;
  queue: QueuedFrame[];
  queuedBytes: number;
  stream: MessageStream | undefined;
  openedAt: number;
  /** The pump loop is running (connecting, sending or waiting for drain). */
  pumping: boolean;
  backoffMs: number;
  retryAt: number;
  /** The link was up; its next failure is worth a warning, later ones are not. */
  wasUp: boolean;
}

// An outbound raft stream carries nothing back; anything the peer sends on it is an error.
const OUTBOUND_READ_LIMIT = 1024;
// A stream that lived this long before dying was healthy: reconnect without growing the backoff.
const HEALTHY_STREAM_MS = 1_000;
const WARN_INTERVAL_MS = 10_000;

export class P2PTransport implements Transport {
  private readonly resolve: (id: NodeId) => PeerTarget | undefined;
  private readonly log: Logger;
  private readonly links = new Map<NodeId, Link>();
  private readonly inbound = new Set<MessageStream>();
  private readonly lastHeard = new Map<NodeId, number>();
  private readonly lastWarned = new Map<string, number>();
  private handler: ((m: Message) => void) | undefined;
  private closed = false;
  private readonly maxQueuedFrames: number;
  private readonly maxQueuedBytes: number;
  private readonly maxFrameBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly reachableWindowMs: number;
  private readonly counters: P2PTransportStats = {
    framesSent: 0,
    messagesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    messagesReceived: 0,
    droppedOverflow: 0,
    droppedUnreachable: 0,
    droppedOversize: 0,
    malformedFrames: 0,
    rejectedMessages: 0,
    streamsOpened: 0,
    streamFailures: 0,
  };

  constructor(
    private readonly host: P2PHost,
    opts: P2PTransportOptions,
  ) {
    this.resolve = opts.resolve;
    this.log = opts.logger;
    this.maxQueuedFrames = opts.maxQueuedFrames ?? 1024;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 64 * 1024 * 1024;
    // Room for the frame's own msgpack wrapping around the codec's bytes.
    this.maxFrameBytes = (opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES) - 16;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3_000;
    this.reconnectMinMs = opts.reconnectMinMs ?? 50;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 2_000;
    this.reachableWindowMs = opts.reachableWindowMs ?? 5_000;
    host.handleStream(RAFT_PROTOCOL, (s, ctx) => void this.receive(s, ctx.peerId), {
      maxMessageBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    });
  }

  send(messages: Message[]): void {
    if (this.closed || messages.length === 0) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      const list = byPeer.get(m.to);
      if (list) list.push(m);
      else byPeer.set(m.to, [m]);
    }
    const now = Date.now();
    for (const [to, ms] of byPeer) {
      const target = this.target(to);
      const link = this.link(to);
      if (!target || (!link.stream && !link.pumping && now < link.retryAt)) {
        this.counters.droppedUnreachable += ms.length;
        if (!target) this.warn(`noaddr:${to}`, { raftId: to }, 'no address known for raft peer; dropping messages to it');
        continue;
      }
      for (const frame of this.encode(ms)) {
        if (link.queue.length >= this.maxQueuedFrames || link.queuedBytes + frame.bytes.byteLength > this.maxQueuedBytes) {
          this.counters.droppedOverflow += frame.messages;
          this.warn(`overflow:${to}`, { raftId: to, queued: link.queue.length, bytes: link.queuedBytes }, 'raft send queue full; dropping messages');
          continue;
        }
        link.queue.push(frame);
        link.queuedBytes += frame.bytes.byteLength;
      }
      if (!link.pumping) void this.pump(link, target);
    }
  }

  setHandler(handler: (m: Message) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new ShoalError('stopped', 'raft transport closed', 503);
    for (const link of this.links.values()) {
      link.stream?.abort(err);
      link.stream = undefined;
      link.queue = [];
      link.queuedBytes = 0;
    }
    for (const s of this.inbound) s.abort(err);
    this.inbound.clear();
    await this.host.unhandle(RAFT_PROTOCOL);
  }

  /** Whether the peer was heard from, or connected to, within the reachability window. */
  reachable(id: NodeId): boolean {
    const now = Date.now();
    const heard = this.lastHeard.get(id);
    if (heard !== undefined && now - heard < this.reachableWindowMs) return true;
    const link = this.links.get(id);
    return link?.stream?.writable === true && now - link.openedAt < this.reachableWindowMs;
  }

  stats(): P2PTransportStats {
    return { ...this.counters };
  }

  private link(id: NodeId): Link {
    let link = this.links.get(id);
    if (!link) {
      link = { id, queue: [], queuedBytes: 0, stream: undefined, openedAt: 0, pumping: false, backoffMs: 0, retryAt: 0, wasUp: false };
      this.links.set(id, link);
    }
    return link;
  }

  private target(id: NodeId): PeerTarget | undefined {
    try {
      return this.resolve(id);
    } catch (err) {
      this.warn(`resolve:${id}`, { raftId: id, err }, 'resolving a raft peer address failed');
      return undefined;
    }
  }

  /** One frame for the batch, or several when it is too big for one; a lone oversized message is dropped. */
  private encode(ms: Message[], out: QueuedFrame[] = []): QueuedFrame[] {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessages(ms);
    } catch (err) {
      // Only a local message type can fail to encode: a bug in the caller, not the network.
      this.log.error({ err, types: ms.map((m) => m.type) }, 'raft messages failed to encode; dropping them');
      this.counters.droppedOversize += ms.length;
      return out;
    }
    if (bytes.byteLength <= this.maxFrameBytes) {
      out.push({ bytes, messages: ms.length });
    } else if (ms.length === 1) {
      this.counters.droppedOversize++;
      this.log.error({ type: ms[0]!.type, to: ms[0]!.to, bytes: bytes.byteLength, max: this.maxFrameBytes }, 'raft message larger than a frame; dropped');
    } else {
      const half = ms.length >> 1;
      this.encode(ms.slice(0, half), out);
      this.encode(ms.slice(half), out);
    }
    return out;
  }

  /** Send queued frames in order, connecting first if needed; runs until the queue is empty or the link fails. */
  private async pump(link: Link, target: PeerTarget): Promise<void> {
    link.pumping = true;
    let stream = link.stream;
    try {
      while (!this.closed && link.queue.length > 0) {
        stream = link.stream ?? (await this.connect(link, target));
        if (this.closed) return;
        const frame = link.queue.shift()!;
        link.queuedBytes -= frame.bytes.byteLength;
        const more = stream.send(frame.bytes);
        this.counters.framesSent++;
        this.counters.messagesSent += frame.messages;
        this.counters.bytesSent += frame.bytes.byteLength;
        if (!more) await stream.onDrain();
      }
    } catch (err) {
      // watch() may have failed the link already when the stream died under a drain wait.
      if (link.stream === stream) this.fail(link, err);
    } finally {
      link.pumping = false;
    }
  }

  private async connect(link: Link, target: PeerTarget): Promise<MessageStream> {
    const stream = await this.host.openStream(target, RAFT_PROTOCOL, {
      timeoutMs: this.connectTimeoutMs,
      maxMessageBytes: OUTBOUND_READ_LIMIT,
      peerLabel: `raft peer ${link.id}`,
    });
    if (this.closed) {
      stream.abort(new ShoalError('stopped', 'raft transport closed', 503));
      return stream;
    }
    this.counters.streamsOpened++;
    if (link.backoffMs > 0) this.log.info({ raftId: link.id, peer: target.peerId }, 'raft peer reachable again');
    link.stream = stream;
    link.openedAt = Date.now();
    link.wasUp = true;
    void this.watch(link, stream);
    return stream;
  }

  /** The peer never writes on our outbound stream; reading it is how we learn that it died. */
  private async watch(link: Link, stream: MessageStream): Promise<void> {
    let why: unknown = 'the peer closed the stream';
    try {
      for await (const _ of stream) {
        why = 'the peer sent data on an outbound raft stream';
        break;
      }
    } catch (err) {
      why = err;
    }
    if (link.stream === stream) this.fail(link, why);
  }

  private fail(link: Link, err: unknown): void {
    const stream = link.stream;
    link.stream = undefined;
    const healthy = stream !== undefined && Date.now() - link.openedAt >= HEALTHY_STREAM_MS;
    link.backoffMs = healthy ? this.reconnectMinMs : Math.min(this.reconnectMaxMs, Math.max(this.reconnectMinMs, link.backoffMs * 2));
    // Jitter keeps a cluster that lost a peer together from redialling in lockstep.
    link.retryAt = Date.now() + link.backoffMs * (0.5 + Math.random() / 2);
    this.counters.droppedUnreachable += link.queue.reduce((n, f) => n + f.messages, 0);
    link.queue = [];
    link.queuedBytes = 0;
    if (this.closed) return;
    this.counters.streamFailures++;
    stream?.abort(err instanceof Error ? err : new Error(String(err)));
    const info = { raftId: link.id, err: err instanceof Error ? err.message : String(err), retryInMs: link.backoffMs };
    if (link.wasUp) {
      link.wasUp = false;
      this.log.warn(info, 'raft peer unreachable');
    } else {
      this.log.debug(info, 'raft peer still unreachable');
    }
  }

  private async receive(s: MessageStream, peerId: string): Promise<void> {
    if (this.closed) {
      s.abort(new ShoalError('stopped', 'raft transport closed', 503));
      return;
    }
    this.inbound.add(s);
    try {
      for await (const v of s) {
        if (this.closed) break;
        this.deliver(v, peerId);
      }
      await s.close();
    } catch (err) {
      this.log.debug({ peer: peerId, err: err instanceof Error ? err.message : String(err) }, 'inbound raft stream ended');
    } finally {
      this.inbound.delete(s);
    }
  }

  private deliver(v: unknown, peerId: string): void {
    let ms: Message[];
    try {
      if (!(v instanceof Uint8Array)) throw new Error('frame is not binary');
      ms = decodeMessages(v);
    } catch (err) {
      this.counters.malformedFrames++;
      this.warn(`malformed:${peerId}`, { peer: peerId, err: err instanceof Error ? err.message : String(err) }, 'dropping a malformed raft frame');
      return;
    }
    this.counters.framesReceived++;
    const verified = new Map<NodeId, boolean>();
    const now = Date.now();
    for (const m of ms) {
      let ok = verified.get(m.from);
      if (ok === undefined) {
        ok = this.target(m.from)?.peerId === peerId;
        verified.set(m.from, ok);
        if (!ok) this.warn(`sender:${peerId}`, { peer: peerId, from: m.from }, 'dropping raft messages whose sender is not the connected peer');
      }
      if (!ok) {
        this.counters.rejectedMessages++;
        continue;
      }
      this.lastHeard.set(m.from, now);
      this.counters.messagesReceived++;
      try {
        this.handler?.(m);
      } catch (err) {
        this.log.error({ err, type: m.type, from: m.from }, 'raft message handler threw');
      }
    }
  }

  /** A warning at most every WARN_INTERVAL_MS per key: a flapping peer must not flood the log. */
  private warn(key: string, obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const last = this.lastWarned.get(key);
    if (last !== undefined && now - last < WARN_INTERVAL_MS) return;
    this.lastWarned.set(key, now);
    this.log.warn(obj, msg);
  }
}
