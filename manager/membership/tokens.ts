// Join tokens in Docker's format: SWMTKN-1-<fingerprint>-<secret>.
//
// The fingerprint (50 base36 characters) identifies the swarm: a joiner
// checks it against the cluster public key a manager shows it, so a token
// cannot lead it into some other swarm. The secret (25 base36 characters, 128
// random bits) says which role the holder may join as; there is one per role,
// and rotating one invalidates the old token for new joins. Docker derives its
// fingerprint from the root CA certificate; shoal uses the cluster's public key.
//
// Pure functions: no I/O besides node:crypto.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../../shared/errors.js';
import type { ClusterRecord, JoinTokens, NodeRole } from '../../shared/model/index.js';

export const TOKEN_PREFIX = 'SWMTKN';
export const TOKEN_VERSION = '1';
export const FINGERPRINT_LENGTH = 50;
export const SECRET_LENGTH = 25;

/** What checkToken needs of the cluster record. */
export type TokenSecrets = Pick<ClusterRecord['Internal'], 'Fingerprint' | 'WorkerSecret' | 'ManagerSecret'>;

export interface ParsedToken {
  fingerprint: string;
  secret: string;
}

const BASE36 = /^[0-9a-z]+$/;
const GET_TOKEN_HINT = 'get the current one with "docker swarm join-token worker" (or manager) on a manager';

/** Bytes as a zero-padded base36 number, as Docker encodes its token parts. */
function base36(bytes: Uint8Array, length: number): string {
  const n = bytes.byteLength === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  const s = n.toString(36).padStart(length, '0');
  if (s.length > length) throw new RangeError(`${bytes.byteLength} bytes do not fit in ${length} base36 characters`);
  return s;
}

/** A fresh role secret: 128 random bits as 25 base36 characters. `random` is for tests. */
export function newSecret(random: (size: number) => Uint8Array = randomBytes): string {
  const bytes = random(16);
  if (bytes.byteLength !== 16) throw new RangeError(`newSecret needs 16 random bytes, the source gave ${bytes.byteLength}`);
  return base36(bytes, SECRET_LENGTH);
}

/** The swarm's fingerprint: sha256 of its public key as 50 base36 characters. */
export function fingerprintOf(publicKey: Uint8Array): string {
  if (publicKey.byteLength === 0) throw new InvalidArgumentError('cannot fingerprint an empty public key');
  return base36(createHash('sha256').update(publicKey).digest(), FINGERPRINT_LENGTH);
}

function isPart(s: string, length: number): boolean {
  return s.length === length && BASE36.test(s);
}

export function formatToken(fingerprint: string, secret: string): string {
  if (!isPart(fingerprint, FINGERPRINT_LENGTH)) throw new InvalidArgumentError(`a join token fingerprint is ${FINGERPRINT_LENGTH} base36 characters`);
  if (!isPart(secret, SECRET_LENGTH)) throw new InvalidArgumentError(`a join token secret is ${SECRET_LENGTH} base36 characters`);
  return `${TOKEN_PREFIX}-${TOKEN_VERSION}-${fingerprint}-${secret}`;
}

/** Both tokens of a swarm, as GET /swarm shows them. */
export function joinTokens(secrets: TokenSecrets): JoinTokens {
  return { Worker: formatToken(secrets.Fingerprint, secrets.WorkerSecret), Manager: formatToken(secrets.Fingerprint, secrets.ManagerSecret) };
}

/**
 * Split a token into its parts, or throw an InvalidArgumentError saying what
 * is wrong. Messages never repeat the token: it is a credential.
 */
export function parseToken(token: string): ParsedToken {
  // Pasted tokens often carry a newline or spaces.
  const s = typeof token === 'string' ? token.trim() : '';
  if (s === '') throw new InvalidArgumentError(`invalid join token: it is empty; ${GET_TOKEN_HINT}`);
  const parts = s.split('-');
  if (parts[0] !== TOKEN_PREFIX) throw new InvalidArgumentError(`invalid join token: it must start with ${TOKEN_PREFIX}-${TOKEN_VERSION}-; ${GET_TOKEN_HINT}`);
  if (parts.length !== 4 || parts[1] !== TOKEN_VERSION) {
    throw new InvalidArgumentError(
      `invalid join token: expected ${TOKEN_PREFIX}-${TOKEN_VERSION}-<${FINGERPRINT_LENGTH}-character fingerprint>-<${SECRET_LENGTH}-character secret>; ${GET_TOKEN_HINT}`,
    );
  }
  const [, , fingerprint, secret] = parts as [string, string, string, string];
  if (!isPart(fingerprint, FINGERPRINT_LENGTH)) {
    throw new InvalidArgumentError(`invalid join token: its fingerprint must be ${FINGERPRINT_LENGTH} characters of 0-9 a-z (is it truncated?)`);
  }
  if (!isPart(secret, SECRET_LENGTH)) {
    throw new InvalidArgumentError(`invalid join token: its secret must be ${SECRET_LENGTH} characters of 0-9 a-z (is it truncated?)`);
  }
  return { fingerprint, secret };
}

/** Constant time for equal lengths; lengths are public (they are fixed by the format). */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

/** The role a token admits to this swarm, or an InvalidArgumentError with the reason. */
export function checkToken(token: string, secrets: TokenSecrets): NodeRole {
  const { fingerprint, secret } = parseToken(token);
  if (!sameSecret(fingerprint, secrets.Fingerprint)) {
    throw new InvalidArgumentError(`invalid join token: it belongs to a different swarm (its cluster fingerprint does not match this swarm's); ${GET_TOKEN_HINT}`);
  }
  // Both compared every time, so the timing does not tell which role matched.
  const worker = sameSecret(secret, secrets.WorkerSecret);
  const manager = sameSecret(secret, secrets.ManagerSecret);
  if (manager) return 'manager';
  if (worker) return 'worker';
  throw new InvalidArgumentError(`invalid join token: its secret is not valid for this swarm; it may have been rotated. ${GET_TOKEN_HINT[0]!.toUpperCase()}${GET_TOKEN_HINT.slice(1)}`);
}
