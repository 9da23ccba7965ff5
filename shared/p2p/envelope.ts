// The response envelope of request/response protocols. A request frame is
// the caller's value as is; the response is { result } or
// { error: { message, status, code } }, so that a ShoalError thrown by a
// remote handler comes back with the status and code it had there.

import { isShoalError } from '../errors.js';
import { FrameDecodeError, FrameTooLargeError, RemoteError } from './errors.js';

export interface WireError {
  message: string;
  status: number;
  code: string;
}

export type ResponseEnvelope = { result: unknown } | { error: WireError };

/**
 * What the caller is told about a failed handler. Only ShoalErrors, which are
 * written for users, cross the wire; anything else is a bug whose details
 * stay in this node's log.
 */
export function toWireError(err: unknown, protocol: string): WireError {
  if (err instanceof FrameTooLargeError) {
    return { message: `request of ${err.frameBytes} bytes exceeds the limit of ${err.maxBytes} bytes for ${protocol}`, status: 413, code: err.code };
  }
  if (isShoalError(err)) return { message: err.message, status: err.status, code: err.code };
  return { message: `internal error while handling ${protocol}; the peer's log has the details`, status: 500, code: 'internal' };
}

/** The result of a response envelope; throws RemoteError for an error envelope. */
export function openEnvelope(v: unknown, who: string, protocol: string): unknown {
  if (isRecord(v)) {
    const e = v['error'];
    if (isRecord(e)) {
      const { message, status, code } = e;
      if (typeof message === 'string' && typeof code === 'string' && typeof status === 'number') {
        const safeStatus = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 502;
        throw new RemoteError(safeStatus, code, message);
      }
    } else if ('result' in v) {
      return v['result'];
    }
  }
  throw new FrameDecodeError(`${who} answered ${protocol} with something that is not a response envelope`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
