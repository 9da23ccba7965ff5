// Reads Docker's multiplexed stream (the logs endpoints' body): frames of an
// 8-byte header [stream type, 0, 0, 0, uint32 big-endian size] and a payload,
// in whatever chunks the transport delivers. Like the docker CLI's stdcopy:
// type 0 (stdin) is written to stdout, 3 carries an error from the daemon.
import { ShoalError } from '../../shared/errors.js';

export type MuxStreamName = 'stdout' | 'stderr' | 'error';

export interface MuxFrame {
  stream: MuxStreamName;
  payload: Buffer;
}

const HEADER_BYTES = 8;
/** Larger than any line a daemon sends; a bigger size means the framing is lost. */
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

export class MuxDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Feed one chunk; returns the frames it completed, in order. */
  push(chunk: Uint8Array): MuxFrame[] {
    this.buffered = this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    const out: MuxFrame[] = [];
    let at = 0;
    while (this.buffered.length - at >= HEADER_BYTES) {
      const type = this.buffered[at]!;
      const size = this.buffered.readUInt32BE(at + 4);
      const stream = streamName(type);
      if (size > MAX_PAYLOAD_BYTES) throw new ShoalError('bad_response', `the daemon's log stream announced a frame of ${size} bytes; the stream is corrupt`, 502);
      if (this.buffered.length - at - HEADER_BYTES < size) break;
      out.push({ stream, payload: this.buffered.subarray(at + HEADER_BYTES, at + HEADER_BYTES + size) });
      at += HEADER_BYTES + size;
    }
    // What is left is copied so the frames handed out do not pin a large buffer.
    this.buffered = Buffer.from(this.buffered.subarray(at));
    return out;
  }

  /** Bytes of an unfinished frame: nonzero when the stream ended mid-frame. */
  get pending(): number {
    return this.buffered.length;
  }
}

function streamName(type: number): MuxStreamName {
  switch (type) {
    case 0:
    case 1:
      return 'stdout';
    case 2:
      return 'stderr';
    case 3:
      return 'error';
    default:
      // stdcopy's words.
      throw new ShoalError('bad_response', `Unrecognized input header: ${type}`, 502);
  }
}
