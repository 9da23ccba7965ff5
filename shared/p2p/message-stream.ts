// A libp2p stream carrying framed msgpack values instead of bytes.
//
// libp2p 3 streams push 'message' events at whoever listens, as fast as the
// peer sends; nothing waits for the reader. So decoded frames are queued
// here, and when the queue grows past a high-water mark the stream is paused,
// which makes yamux stop granting the peer send window: real backpressure,
// not an ever-growing buffer.

import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { isShoalError } from '../errors.js';
import { StreamClosedError } from './errors.js';
import { type DecodedFrame, encodeFrameParts, FrameDecoder } from './framing.js';

/** A long-lived, bidirectional stream of framed messages with one peer. */
export interface MessageStream {
  /** The peer id at the other end, proven by the Noise handshake. */
  readonly remotePeer: string;
  readonly protocol: string;
  /**
   * Queue one message. Returns false when the send buffer is full: the
   * message is still sent, but the caller should wait for onDrain() before
   * the next. Throws StreamClosedError once the stream can no longer send,
   * and FrameTooLargeError for a message over the size limit.
   */
  send(msg: unknown): boolean;
  /** Resolves when send() may be called again; rejects if the stream closes first. */
  onDrain(): Promise<void>;
  /**
   * The next message, or done when the peer closed its end. Throws when the
   * stream was reset, a frame was malformed or oversized, or the signal fired.
   */
  read(opts?: { signal?: AbortSignal }): Promise<IteratorResult<unknown, undefined>>;
  /** Every message until the peer closes its end; one reader at a time. */
  [Symbol.asyncIterator](): AsyncIterator<unknown, undefined>;
  /**
   * Flush and close our sending end; messages from the peer may still be
   * read until it closes its end too. A peer that never does is reset after
   * a grace period, so a stream cannot leak.
   */
  close(): Promise<void>;
  /** Drop everything and reset the stream; the peer sees an error. */
  abort(err: Error): void;
  /** No more messages can be sent (closed, reset or aborted). */
  readonly writable: boolean;
}

export interface FramedStreamOptions {
  /** Largest frame accepted from the peer; a bigger one resets the stream. */
  maxFrameBytes: number;
  /** Largest frame we send (default maxFrameBytes); send() refuses bigger ones up front. */
  maxSendBytes?: number;
  /** Who and what this stream is, for error messages: e.g. "peer 12D3... on /shoal/raft/1". */
  describe: string;
  /** How long close() waits for our unsent data, and then for the peer to close its end. */
  closeTimeoutMs?: number;
  /**
   * Called when an incoming frame is oversized or malformed; a value it
   * returns is sent to the peer (best effort) before the stream is reset,
   * so the peer learns why instead of seeing a bare reset.
   */
  lastWords?: (err: Error) => unknown;
}

// Decoded frames held for a slow reader before pausing the peer.
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const HIGH_WATER_FRAMES = 1024;
// While paused, the peer may still send up to its yamux window (16 MiB at
// most), on top of a partly received frame; the stream's read buffer has to
// hold that much or libp2p resets the stream.
const YAMUX_MAX_WINDOW = 16 * 1024 * 1024;
// Payloads smaller than this are copied behind their header so that a small
// message costs one muxer frame and one encryption, not two.
const COALESCE_BYTES = 16 * 1024;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export class FramedStream implements MessageStream {
  readonly protocol: string;
  private readonly decoder: FrameDecoder;
  private readonly queue: Array<DecodedFrame | undefined> = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private waiter: (() => void) | undefined;
  private reading = false;
  private paused = false;
  /** No more frames will arrive. */
  private ended = false;
  private error: Error | undefined;
  private readonly closeTimeoutMs: number;
  private readonly maxSendBytes: number;

  constructor(
    private readonly stream: Stream,
    readonly remotePeer: string,
    private readonly opts: FramedStreamOptions,
  ) {
    this.protocol = stream.protocol;
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.maxSendBytes = opts.maxSendBytes ?? opts.maxFrameBytes;
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, opts.maxFrameBytes + YAMUX_MAX_WINDOW + 1024 * 1024);
    // A sender ignoring send()'s false would otherwise buffer without bound.
    stream.maxWriteBufferLength = 2 * this.maxSendBytes + 1024 * 1024;
    stream.addEventListener('message', this.onMessage);
    stream.addEventListener('end', this.onEnd);
    stream.addEventListener('close', this.onClose);
    // A peer's reset or close can arrive together with the protocol
    // confirmation and be processed before anyone wraps the stream: its
    // 'end' and 'close' events are gone by now.
    // (Bytes it buffered still arrive as 'message' events, then 'end'.)
    if (stream.readableEnded || (stream.status !== 'open' && stream.readBufferLength === 0)) this.ended = true;
    if (stream.status === 'reset' || stream.status === 'aborted') {
      this.error = new StreamClosedError(
        `${opts.describe} ${stream.status === 'reset' ? 'was reset by the peer (it refused this node, or it stopped)' : 'was aborted'}`,
      );
    }
  }

  get writable(): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable';
  }

  send(msg: unknown): boolean {
    if (!this.writable) {
      throw this.error ?? new StreamClosedError(`cannot send to ${this.opts.describe}: the stream is ${this.stream.writeStatus}`);
    }
    const [header, payload] = encodeFrameParts(msg, this.maxSendBytes);
    try {
      if (payload.byteLength < COALESCE_BYTES) {
        const frame = new Uint8Array(header.byteLength + payload.byteLength);
        frame.set(header, 0);
        frame.set(payload, header.byteLength);
        return this.stream.send(frame);
      }
      this.stream.send(header);
      return this.stream.send(payload);
    } catch (err) {
      throw this.translate(err);
    }
  }

  async onDrain(): Promise<void> {
    try {
      await this.stream.onDrain();
    } catch (err) {
      throw this.translate(err);
    }
  }

  async read(opts: { signal?: AbortSignal } = {}): Promise<IteratorResult<unknown, undefined>> {
    if (this.reading) throw new Error(`${this.opts.describe}: read() while another read is pending`);
    this.reading = true;
    try {
      for (;;) {
        if (this.queueHead < this.queue.length) return { done: false, value: this.shift() };
        if (this.error) throw this.error;
        if (this.ended) {
          if (this.decoder.bufferedBytes > 0) {
            throw new StreamClosedError(`${this.opts.describe} ended in the middle of a frame`);
          }
          return { done: true, value: undefined };
        }
        opts.signal?.throwIfAborted();
        await this.wait(opts.signal);
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

  async close(): Promise<void> {
    if (this.stream.status !== 'open') return;
    try {
      await this.stream.close({ signal: AbortSignal.timeout(this.closeTimeoutMs) });
    } catch (err) {
      this.stream.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.stream.status === 'open') {
      const timer = setTimeout(() => {
        this.stream.abort(new StreamClosedError(`${this.opts.describe}: the peer did not close its end within ${this.closeTimeoutMs} ms`));
      }, this.closeTimeoutMs);
      timer.unref();
      this.stream.addEventListener('close', () => clearTimeout(timer), { once: true });
    }
  }

  abort(err: Error): void {
    this.stream.abort(err);
  }

  private shift(): unknown {
    const f = this.queue[this.queueHead]!;
    // Cleared so that a long-lived queue does not pin values already read.
    this.queue[this.queueHead] = undefined;
    this.queueHead++;
    this.queuedBytes -= f.bytes;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
    if (this.paused && this.queuedBytes < HIGH_WATER_BYTES / 2 && this.queue.length - this.queueHead < HIGH_WATER_FRAMES / 2) {
      this.paused = false;
      if (this.stream.readStatus === 'paused') this.stream.resume();
    }
    return f.value;
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = undefined;
        reject(signal!.reason);
      };
      this.waiter = () => {
        this.waiter = undefined;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wake(): void {
    this.waiter?.();
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    if (this.error) return;
    const chunk = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray();
    let frames: DecodedFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.failOnBadFrame(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const f of frames) {
      this.queue.push(f);
      this.queuedBytes += f.bytes;
    }
    const held = this.queue.length - this.queueHead;
    if (!this.paused && (this.queuedBytes >= HIGH_WATER_BYTES || held >= HIGH_WATER_FRAMES) && this.stream.readStatus === 'readable') {
      this.paused = true;
      this.stream.pause();
    }
    if (frames.length > 0) this.wake();
  };

  private failOnBadFrame(err: Error): void {
    this.error = err;
    const words = this.opts.lastWords?.(err);
    if (words !== undefined && this.writable) {
      try {
        this.send(words);
      } catch {
        // Best effort: the reset below tells the peer something went wrong anyway.
      }
    }
    this.stream.abort(err);
    this.wake();
  }

  // 'end' comes before 'close' when the stream is reset, in the same tick:
  // the reader wakes a microtask later and finds the reset recorded by then.
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  private readonly onClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined && this.error === undefined) this.error = this.translate(evt.error);
    this.ended = true;
    this.wake();
  };

  private translate(err: unknown): Error {
    if (isShoalError(err)) return err;
    if (this.error) return this.error;
    const name = err instanceof Error ? err.name : '';
    const why =
      name === 'StreamResetError'
        ? 'was reset by the peer (it refused this node, or it stopped)'
        : name === 'StreamBufferError'
          ? 'was reset because a buffer overflowed'
          : name === 'StreamStateError' || name === 'StreamClosedError'
            ? 'is closed'
            : `failed: ${err instanceof Error ? err.message : String(err)}`;
    return new StreamClosedError(`${this.opts.describe} ${why}`, { cause: err });
  }
}
