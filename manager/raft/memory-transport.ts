// An in-process network for tests, benchmarks and the demo. It behaves like a
// real one where Raft can tell the difference: delivery is asynchronous,
// every message goes through the wire codec (so a field the codec forgets is
// caught here, not in production), links have finite buffers, and partitions
// drop traffic silently.
import { decodeMessages, encodeMessages } from './codec.js';
import type { Transport } from './transport.js';
import type { Message, NodeId } from './types.js';

export interface MemoryNetworkOptions {
  /**
   * Bytes queued on one link (from -> to) and not yet delivered, beyond which
   * new frames are dropped, as a full socket buffer would. Default 64 MiB.
   */
  maxQueuedBytesPerLink?: number;
  /** Told about frames that fail to decode and handlers that throw; default: rethrown asynchronously. */
  onError?: (err: unknown, where: string) => void;
}

export interface MemoryNetworkStats {
  framesSent: number;
  framesDelivered: number;
  messagesDelivered: number;
  bytesSent: number;
  /** Dropped because the link was full. */
  droppedOverflow: number;
  /** Dropped because of a partition or because the receiver was gone. */
  droppedUnreachable: number;
}

interface Frame {
  target: MemoryTransport;
  bytes: Uint8Array;
}

interface Link {
  frames: Frame[];
  queuedBytes: number;
  scheduled: boolean;
}

export class MemoryNetwork {
  private readonly endpoints = new Map<NodeId, MemoryTransport>();
  private readonly links = new Map<string, Link>();
  private readonly cut = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly maxQueuedBytes: number;
  private readonly onError: (err: unknown, where: string) => void;
  readonly stats: MemoryNetworkStats = {
    framesSent: 0,
    framesDelivered: 0,
    messagesDelivered: 0,
    bytesSent: 0,
    droppedOverflow: 0,
    droppedUnreachable: 0,
  };

  constructor(opts: MemoryNetworkOptions = {}) {
    this.maxQueuedBytes = opts.maxQueuedBytesPerLink ?? 64 * 1024 * 1024;
    this.onError =
      opts.onError ??
      ((err) => {
        // Surfacing loudly beats a silently stalled cluster in a test.
        queueMicrotask(() => {
          throw err;
        });
      });
  }

  /** The transport for node `id`. A restarted node asks again once its old transport is closed. */
  transport(id: NodeId): Transport {
    if (this.endpoints.has(id)) {
      throw new Error(`memory network: node ${id} already has an open transport; close it before starting the node again`);
    }
    const t = new MemoryTransport(id, this);
    this.endpoints.set(id, t);
    return t;
  }

  /** Cut both directions between a and b. */
  partition(a: NodeId, b: NodeId): void {
    this.cut.add(linkKey(a, b));
    this.cut.add(linkKey(b, a));
  }

  /** Cut one direction only: messages from `from` to `to` are lost. */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(linkKey(from, to));
  }

  /** Cut `id` off from everyone, including nodes that join later. */
  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Restore every link. */
  heal(): void {
    this.cut.clear();
    this.isolated.clear();
  }

  private reachable(from: NodeId, to: NodeId): boolean {
    return !this.isolated.has(from) && !this.isolated.has(to) && !this.cut.has(linkKey(from, to));
  }

  /** @internal Called by MemoryTransport.send. */
  route(from: NodeId, messages: Message[]): void {
    // One frame per destination: the batching a real transport does per connection.
    const byDest = new Map<NodeId, Message[]>();
    for (const m of messages) {
      const list = byDest.get(m.to);
      if (list) list.push(m);
      else byDest.set(m.to, [m]);
    }
    for (const [to, ms] of byDest) {
      const target = this.endpoints.get(to);
      if (!target || !this.reachable(from, to)) {
        this.stats.droppedUnreachable += ms.length;
        continue;
      }
      const bytes = encodeMessages(ms);
      const key = linkKey(from, to);
      let link = this.links.get(key);
      if (!link) {
        link = { frames: [], queuedBytes: 0, scheduled: false };
        this.links.set(key, link);
      }
      if (link.queuedBytes + bytes.byteLength > this.maxQueuedBytes) {
        this.stats.droppedOverflow += ms.length;
        continue;
      }
      link.frames.push({ target, bytes });
      link.queuedBytes += bytes.byteLength;
      this.stats.framesSent++;
      this.stats.bytesSent += bytes.byteLength;
      if (!link.scheduled) {
        link.scheduled = true;
        const l = link;
        setImmediate(() => this.flush(from, to, l));
      }
    }
  }

  private flush(from: NodeId, to: NodeId, link: Link): void {
    link.scheduled = false;
    const frames = link.frames;
    link.frames = [];
    link.queuedBytes = 0;
    for (const f of frames) {
      // A partition or crash that happened while the frame was queued loses it.
      if (f.target.closed || !this.reachable(from, to)) {
        this.stats.droppedUnreachable++;
        continue;
      }
      let ms: Message[];
      try {
        ms = decodeMessages(f.bytes);
      } catch (err) {
        this.onError(err, `decoding a frame from ${from} to ${to}`);
        continue;
      }
      this.stats.framesDelivered++;
      for (const m of ms) {
        if (f.target.closed) break;
        this.stats.messagesDelivered++;
        try {
          f.target.deliver(m);
        } catch (err) {
          this.onError(err, `delivering ${m.type} from ${from} to ${to}`);
        }
      }
    }
  }

  /** @internal Called by MemoryTransport.close. */
  detach(t: MemoryTransport): void {
    if (this.endpoints.get(t.id) === t) this.endpoints.delete(t.id);
  }
}

class MemoryTransport implements Transport {
  closed = false;
  private handler: ((m: Message) => void) | undefined;

  constructor(
    readonly id: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  send(messages: Message[]): void {
    if (this.closed || messages.length === 0) return;
    this.network.route(this.id, messages);
  }

  setHandler(handler: (m: Message) => void): void {
    this.handler = handler;
  }

  deliver(m: Message): void {
    // Before a handler is set there is nobody to hand the message to; Raft resends.
    this.handler?.(m);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.detach(this);
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}
