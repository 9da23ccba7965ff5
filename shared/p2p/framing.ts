// Length-prefixed msgpack frames: a 4-byte big-endian payload length, then
// one msgpack value. The transport delivers arbitrary chunks (a frame split
// over many, or many frames in one), so the decoder reassembles them.
//
// The length is checked against the limit as soon as the header arrives,
// before buffering any payload: a peer announcing a 4 GiB frame costs us four
// bytes, not four gigabytes.

import { Packr } from 'msgpackr';
import { FrameDecodeError, FrameTooLargeError } from './errors.js';

export const FRAME_HEADER_BYTES = 4;
/** Default bound on one frame's payload. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
// The header is a uint32; anything larger could not be represented anyway.
const ABSOLUTE_MAX_FRAME_BYTES = 0xffff_ffff;

// Records (msgpackr's shared structures) are off so that every frame decodes
// on its own, whatever frames came before it. Binaries decode as views into
// the received bytes rather than copies.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Header and payload separately, so a sender can write both without concatenating them. */
export function encodeFrameParts(value: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): [Uint8Array, Uint8Array] {
  const payload: Uint8Array = packr.pack(value);
  if (payload.byteLength > Math.min(maxFrameBytes, ABSOLUTE_MAX_FRAME_BYTES)) {
    throw new FrameTooLargeError(payload.byteLength, maxFrameBytes, 'outgoing frame');
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, payload.byteLength);
  return [header, payload];
}

/** One contiguous frame. Throws FrameTooLargeError when the payload exceeds maxFrameBytes. */
export function encodeFrame(value: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const [header, payload] = encodeFrameParts(value, maxFrameBytes);
  const out = new Uint8Array(header.byteLength + payload.byteLength);
  out.set(header, 0);
  out.set(payload, header.byteLength);
  return out;
}

/** Decode one frame's payload (without its header). Throws FrameDecodeError on anything but exactly one value. */
export function decodePayload(payload: Uint8Array): unknown {
  if (payload.byteLength === 0) throw new FrameDecodeError('empty payload');
  try {
    return packr.unpack(payload);
  } catch (err) {
    // msgpackr's messages can embed the whole decoded value; keep ours short.
    const why = err instanceof Error ? err.message.slice(0, 80) : String(err);
    throw new FrameDecodeError(`payload of ${payload.byteLength} bytes is not one msgpack value (${why})`, { cause: err });
  }
}

export interface DecodedFrame {
  value: unknown;
  /** Payload size, for callers that bound what they hold. */
  bytes: number;
}

/**
 * Reassembles frames from chunks. After it throws once (oversized or
 * malformed frame) the framing is lost for good: every later push throws the
 * same error, and the stream must be reset.
 */
export class FrameDecoder {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;
  /** Payload length of the frame being assembled; -1 while waiting for a header. */
  private need = -1;
  private failure: Error | undefined;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feed one chunk; returns the frames it completed, in order. */
  push(chunk: Uint8Array): DecodedFrame[] {
    if (this.failure) throw this.failure;
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const out: DecodedFrame[] = [];
    try {
      for (;;) {
        if (this.need < 0) {
          if (this.buffered < FRAME_HEADER_BYTES) break;
          const header = this.take(FRAME_HEADER_BYTES);
          const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
          if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes, 'incoming frame');
          if (length === 0) throw new FrameDecodeError('zero-length frame');
          this.need = length;
        }
        if (this.buffered < this.need) break;
        const payload = this.take(this.need);
        this.need = -1;
        out.push({ value: decodePayload(payload), bytes: payload.byteLength });
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new FrameDecodeError(String(err));
      this.chunks.length = 0;
      this.buffered = 0;
      throw this.failure;
    }
    return out;
  }

  /** Remove n buffered bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    this.buffered -= n;
    if (first.byteLength >= n) {
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.byteLength, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.byteLength) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
