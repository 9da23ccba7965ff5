// Turning targets into libp2p multiaddrs, and libp2p's dial and negotiation
// failures into errors that say which node could not be reached and why.

import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { InvalidArgumentError, isShoalError, type ShoalError } from '../errors.js';
import { P2PTimeoutError, PeerIdentityError, PeerUnreachableError, ProtocolUnsupportedError, StreamClosedError } from './errors.js';

/** A known node: who it is and where to find it. */
export interface PeerTarget {
  peerId: string;
  /** A multiaddr without the /p2p part, e.g. /ip4/127.0.0.1/tcp/2377. */
  addr: string;
}

/**
 * Where to connect. Without a peer id (first contact, e.g. joining) any node
 * at the address is accepted and the Noise handshake tells us who it is; with
 * one, a node holding another key is refused.
 */
export type DialTarget = PeerTarget | { addr: string; peerId?: undefined };

// Multiaddr protocol code of the /p2p component.
const P2P_CODE = 421;

/** The multiaddr to dial: the address, with /p2p/<peerId> appended when the peer is known. */
export function targetMultiaddr(target: DialTarget): Multiaddr {
  let ma: Multiaddr;
  try {
    ma = multiaddr(target.addr);
  } catch (err) {
    throw new InvalidArgumentError(
      `invalid peer address "${target.addr}": expected a multiaddr such as /ip4/10.0.0.5/tcp/2377 (${errMessage(err)})`,
      { cause: err },
    );
  }
  const embedded = ma.getComponents().find((c) => c.code === P2P_CODE)?.value;
  if (target.peerId === undefined) return ma;
  try {
    peerIdFromString(target.peerId);
  } catch (err) {
    throw new InvalidArgumentError(`invalid peer id "${target.peerId}" for ${target.addr}`, { cause: err });
  }
  if (embedded !== undefined) {
    if (embedded !== target.peerId) {
      throw new InvalidArgumentError(`address ${target.addr} names peer ${embedded}, but peer ${target.peerId} was expected`);
    }
    return ma;
  }
  return ma.encapsulate(`/p2p/${target.peerId}`);
}

/** A multiaddr as a string without its /p2p part. */
export function bareAddr(ma: Multiaddr): string {
  return ma.decapsulateCode(P2P_CODE).toString();
}

/** "manager at /ip4/...", or "peer 12D3... at /ip4/..." when no label was given. */
export function describeTarget(target: DialTarget, label?: string): string {
  const who = label ?? (target.peerId !== undefined ? `peer ${target.peerId}` : 'peer');
  return `${who} at ${target.addr}`;
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the daemon running and listening on that port?)',
  ECONNRESET: 'connection reset by the remote end',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary DNS failure)',
  EADDRNOTAVAIL: 'address not available',
};

/**
 * Translate a failure to connect. `deadline` is the signal the attempt ran
 * under; when it fired, the failure is a timeout whatever libp2p called it.
 */
export function dialError(err: unknown, who: string, timeoutMs: number, deadline: AbortSignal, caller?: AbortSignal): Error {
  if (isShoalError(err)) return err;
  if (caller?.aborted) return asError(caller.reason);
  if (deadline.aborted) return new P2PTimeoutError(`cannot reach ${who}: no answer within ${timeoutMs} ms`, { cause: err });
  const errno = findErrno(err);
  if (errno !== undefined) {
    return new PeerUnreachableError(`cannot reach ${who}: ${ERRNO_TEXT[errno] ?? errno}`, { cause: err });
  }
  const names = errorChain(err);
  const text = names.map((e) => e.message).join('; ');
  if (/does not match expected remote identity/i.test(text) || names.some((e) => e.name === 'UnexpectedPeerError')) {
    return new PeerIdentityError(
      `cannot reach ${who}: the node there holds a different identity (was it reinstalled, or is the address stale?)`,
      { cause: err },
    );
  }
  if (names.some((e) => e.name === 'InvalidPeerIdError') && /self/i.test(text)) {
    return new InvalidArgumentError(`cannot reach ${who}: that is this node itself`, { cause: err });
  }
  if (names.some((e) => HANDSHAKE_ERRORS.has(e.name)) || /missing newline/i.test(text)) {
    return new PeerUnreachableError(
      `cannot reach ${who}: something accepted the connection but the libp2p handshake failed (is a shoal daemon listening on that port?): ${names[0]?.message ?? text}`,
      { cause: err },
    );
  }
  return new PeerUnreachableError(`cannot reach ${who}: ${text || 'connection failed'}`, { cause: err });
}

// What libp2p throws when the far end of a TCP connection does not speak
// multistream-select, Noise or Yamux, or hangs up in the middle.
const HANDSHAKE_ERRORS: ReadonlySet<string> = new Set(['EncryptionFailedError', 'UnexpectedEOFError', 'InvalidMessageError', 'UnsupportedProtocolError', 'MuxerUnavailableError']);

/** Translate a failure to open a stream on an established connection. */
export function openError(err: unknown, who: string, protocol: string, timeoutMs: number, deadline: AbortSignal, caller?: AbortSignal): Error {
  if (isShoalError(err)) return err;
  if (caller?.aborted) return asError(caller.reason);
  if (deadline.aborted) {
    return new P2PTimeoutError(`${who} did not accept ${protocol} within ${timeoutMs} ms`, { cause: err });
  }
  const chain = errorChain(err);
  if (chain.some((e) => e.name === 'UnsupportedProtocolError')) {
    return new ProtocolUnsupportedError(`${who} does not serve ${protocol} (is it running a compatible shoal version?)`, { cause: err });
  }
  return new StreamClosedError(
    `${who} closed the connection while opening ${protocol} (it does not accept this node, or it is shutting down): ${chain[0]?.message ?? String(err)}`,
    { cause: err },
  );
}

/** A timeout or a caller's abort during an exchange, as the error to throw. */
export function abortError(who: string, what: string, timeoutMs: number, deadline: AbortSignal, caller?: AbortSignal): Error | undefined {
  if (caller?.aborted) return asError(caller.reason);
  if (deadline.aborted) return new P2PTimeoutError(`no answer from ${who} on ${what} within ${timeoutMs} ms`);
  return undefined;
}

function findErrno(err: unknown): string | undefined {
  for (const e of errorChain(err)) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    const m = /\b(E(?:CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|TIMEDOUT|ADDRNOTAVAIL)|ENOTFOUND|EAI_AGAIN)\b/.exec(e.message);
    if (m) return m[1];
  }
  return undefined;
}

/** The error, its causes and, for aggregate errors (one per address tried), their members. */
function errorChain(err: unknown, depth = 0): Error[] {
  if (!(err instanceof Error) || depth > 5) return [];
  const out: Error[] = [err];
  if (err instanceof AggregateError) for (const e of err.errors) out.push(...errorChain(e, depth + 1));
  if (err.cause !== undefined) out.push(...errorChain(err.cause, depth + 1));
  return out;
}

function asError(reason: unknown): Error | ShoalError {
  return reason instanceof Error ? reason : new Error(String(reason));
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
