// Two connected in-process MessageStreams. A daemon that leads the swarm runs
// its own agent's session over one (a libp2p host cannot dial itself), and
// tests use them to run sessions without a network. Messages go through the
// same msgpack framing as on the wire, so what arrives is a copy with exactly
// the shape a remote peer would see, and oversized messages fail the same way.
// Backpressure as on a real stream: send() returns false once the receiver
// holds `highWater` unread messages, and onDrain() waits until it has read
// half of them.
import { StreamClosedError } from '../../shared/p2p/errors.js';
import { decodePayload, DEFAULT_MAX_FRAME_BYTES, encodeFrameParts } from '../../shared/p2p/framing.js';
import type { MessageStream } from '../../shared/p2p/host.js';

export interface LocalStreamOptions {
  protocol?: string;
  /** Unread messages at the receiver before send() says to wait (default 256). */
  highWater?: number;
  maxMessageBytes?: number;
}

class LocalEnd implements MessageStream {
  peer!: LocalEnd;
  private readonly queue: unknown[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private drainWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private reading = false;
  /** We sent our last message. */
  private sendClosed = false;
  /** The peer sent its last message. */
  private ended = false;
  private error: Error | undefined;

  constructor(
    readonly remotePeer: string,
    readonly protocol: string,
    private readonly highWater: number,
    private readonly maxBytes: number,
  ) {}

  get writable(): boolean {
    return !this.sendClosed && this.error === undefined;
  }

  private get held(): number {
    return this.queue.length - this.head;
  }

  send(msg: unknown): boolean {
    if (!this.writable) throw this.error ?? new StreamClosedError(`local ${this.protocol} stream is closed`);
    const [, payload] = encodeFrameParts(msg, this.maxBytes);
    this.peer.deliver(decodePayload(payload));
    return this.peer.held < this.highWater;
  }

  onDrain(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.peer.held < this.highWater) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  async read(opts: { signal?: AbortSignal } = {}): Promise<IteratorResult<unknown, undefined>> {
    if (this.reading) throw new Error(`local ${this.protocol} stream: read() while another read is pending`);
    this.reading = true;
    try {
      for (;;) {
        if (this.head < this.queue.length) return { done: false, value: this.shift() };
        if (this.error) throw this.error;
        if (this.ended) return { done: true, value: undefined };
        opts.signal?.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            this.waiter = undefined;
            reject(opts.signal!.reason);
          };
          this.waiter = () => {
            this.waiter = undefined;
            opts.signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          opts.signal?.addEventListener('abort', onAbort, { once: true });
        });
      }
    } finally {
      this.reading = false;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<unknown, undefined> {
    for (;;) {
      const r = await this.read();
      if (r.done) return undefined;
      yield r.value;
    }
  }

  close(): Promise<void> {
    if (!this.sendClosed) {
      this.sendClosed = true;
      this.peer.ended = true;
      this.peer.waiter?.();
    }
    return Promise.resolve();
  }

  abort(err: Error): void {
    if (this.error) return;
    this.fail(err);
    this.peer.fail(new StreamClosedError(`local ${this.protocol} stream was reset by the peer: ${err.message}`));
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.ended = true;
    this.queue.length = 0;
    this.head = 0;
    this.waiter?.();
    for (const w of this.drainWaiters.splice(0)) w.reject(err);
  }

  private deliver(value: unknown): void {
    if (this.error) return;
    this.queue.push(value);
    this.waiter?.();
  }

  private shift(): unknown {
    const v = this.queue[this.head];
    this.queue[this.head] = undefined;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    // The sender at the other end waits for us to read down to half.
    if (this.held <= this.highWater / 2) for (const w of this.peer.drainWaiters.splice(0)) w.resolve();
    return v;
  }
}

/** [a, b]: what a sends, b reads, and the reverse. `aPeer` is who a's remotePeer names (the peer at b's side). */
export function localStreamPair(aPeer: string, bPeer: string, opts: LocalStreamOptions = {}): [MessageStream, MessageStream] {
  const protocol = opts.protocol ?? '/local';
  const hw = Math.max(2, opts.highWater ?? 256);
  const max = opts.maxMessageBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const a = new LocalEnd(aPeer, protocol, hw, max);
  const b = new LocalEnd(bPeer, protocol, hw, max);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
