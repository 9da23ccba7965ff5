// Errors raised by the peer-to-peer layer. Each names the peer (by address
// where we have one) and what the person at the terminal can check, because a
// bare "ECONNREFUSED" or "stream reset" from deep inside libp2p says neither.

import { ShoalError, type ShoalErrorOptions } from '../errors.js';

/** Nobody answered at the address: nothing listening, a firewall, a wrong port. */
export class PeerUnreachableError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('peer_unreachable', message, 503, options);
  }
}

/** The node at the address proved it holds a different key than the one we expected. */
export class PeerIdentityError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('peer_identity_mismatch', message, 502, options);
  }
}

/** A dial, a request or a stream open did not finish in time. */
export class P2PTimeoutError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('timeout', message, 504, options);
  }
}

/** The peer does not serve the protocol: usually an incompatible shoal version. */
export class ProtocolUnsupportedError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('unsupported_protocol', message, 502, options);
  }
}

/**
 * The stream ended before the exchange finished: the peer refused it (its
 * access rules), crashed, or we closed it ourselves.
 */
export class StreamClosedError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('stream_closed', message, 503, options);
  }
}

/** A frame larger than the receiver accepts; the stream it arrived on is reset. */
export class FrameTooLargeError extends ShoalError {
  constructor(
    readonly frameBytes: number,
    readonly maxBytes: number,
    where = 'frame',
  ) {
    super('frame_too_large', `${where} of ${frameBytes} bytes exceeds the limit of ${maxBytes} bytes`, 413);
  }
}

/** Bytes that are not a well-formed frame: a bug or something that is not shoal talking. */
export class FrameDecodeError extends ShoalError {
  constructor(problem: string, options?: ShoalErrorOptions) {
    super('bad_frame', `malformed frame: ${problem}`, 400, options);
  }
}

/**
 * The remote handler failed; status, code and message are the remote's, so
 * callers can branch on them exactly as if the call had been local.
 */
export class RemoteError extends ShoalError {
  constructor(status: number, code: string, message: string) {
    super(code, message, status);
  }
}
