// Registry failures turned into ShoalErrors worded as Docker words them, so a
// user reading `shoal service ps --no-trunc` or `docker pull` output sees the
// messages they already know. Codes let callers branch (a manager retrying a
// pin, a worker rejecting a task). Pure: the client hands in what it saw.
import { ShoalError } from '../errors.js';
import { familiarName, familiarString } from './reference.js';
import type { ImageReference } from './types.js';

export type RegistryErrorCode =
  | 'pull_access_denied'
  | 'manifest_unknown'
  | 'name_unknown'
  | 'blob_unknown'
  | 'unauthorized'
  | 'no_matching_manifest'
  | 'digest_mismatch'
  | 'unsupported_manifest'
  | 'too_many_requests'
  | 'registry_unreachable'
  | 'registry_error';

export class RegistryError extends ShoalError {
  declare readonly code: RegistryErrorCode;
  /** True when trying again may succeed (network trouble, 5xx, rate limits). */
  readonly retryable: boolean;

  constructor(code: RegistryErrorCode, message: string, status: number, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, status, options.cause === undefined ? {} : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

/** One entry of the distribution API's error body `{"errors":[{code,message,detail}]}`. */
export interface DistributionError {
  code: string;
  message: string;
}

/** The first error of a registry error body, if the body is one. */
export function parseErrorBody(body: string): DistributionError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const first = errors[0] as { code?: unknown; message?: unknown };
  if (typeof first.code !== 'string') return undefined;
  return { code: first.code, message: typeof first.message === 'string' ? first.message : '' };
}

/** Docker's rendering of an errcode.Error: `manifest unknown: manifest unknown`. */
export function distributionErrorText(e: DistributionError): string {
  const code = e.code.toLowerCase().replace(/_/g, ' ');
  return e.message === '' ? code : `${code}: ${e.message}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusLine(status: number): string {
  return `${status}${STATUS_TEXT[status] !== undefined ? ` ${STATUS_TEXT[status]}` : ''}`;
}

export interface FailureContext {
  ref: ImageReference;
  action: 'pull' | 'push';
  /** What was asked for: a manifest (by the ref's tag or digest) or a blob. */
  target: 'manifest' | 'blob' | 'token' | 'other';
  /** Whether the caller supplied credentials (username/password or tokens). */
  hadCredentials: boolean;
  /** `Get "http://127.0.0.1:5000/v2/web/manifests/1"`, Docker's prefix for transport-level errors. */
  request: string;
}

/** The ShoalError for a registry's non-success answer. */
export function registryFailure(status: number, body: string, ctx: FailureContext): RegistryError {
  const parsed = parseErrorBody(body);
  const code = parsed?.code ?? '';
  const name = familiarName(ctx.ref);
  const host = ctx.ref.domain;

  if (status === 401 || code === 'UNAUTHORIZED') {
    const text = parsed !== undefined ? distributionErrorText(parsed) : 'unauthorized: authentication required';
    if (ctx.hadCredentials) {
      return new RegistryError('unauthorized', `${text} (the registry ${host} refused the credentials given; check the username and password, or log in again)`, 401);
    }
    if (ctx.action === 'pull') {
      return new RegistryError('pull_access_denied', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${text}`, 404);
    }
    return new RegistryError('unauthorized', `${text} (log in to ${host} first: docker login ${host})`, 401);
  }
  if (status === 403 || code === 'DENIED') {
    const text = parsed !== undefined ? distributionErrorText(parsed) : 'denied: requested access to the resource is denied';
    if (ctx.action === 'pull') {
      return new RegistryError('pull_access_denied', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${text}`, 404);
    }
    return new RegistryError('unauthorized', `push access denied for ${name}: ${text}`, 403);
  }
  if (code === 'MANIFEST_UNKNOWN' || (status === 404 && ctx.target === 'manifest' && code === '')) {
    const text = parsed !== undefined ? distributionErrorText(parsed) : 'manifest unknown: manifest unknown';
    return new RegistryError('manifest_unknown', `manifest for ${familiarString(ctx.ref)} not found: ${text}`, 404);
  }
  if (code === 'NAME_UNKNOWN') {
    return new RegistryError('name_unknown', `repository ${name} not found: ${distributionErrorText(parsed as DistributionError)}`, 404);
  }
  if (code === 'BLOB_UNKNOWN' || (status === 404 && ctx.target === 'blob')) {
    const text = parsed !== undefined ? distributionErrorText(parsed) : 'blob unknown: blob unknown to registry';
    return new RegistryError('blob_unknown', `${text} (in ${name} at ${host}; the image may have been deleted from the registry while pulling)`, 404);
  }
  if (status === 429 || code === 'TOOMANYREQUESTS') {
    const text = parsed !== undefined ? distributionErrorText(parsed) : 'toomanyrequests: too many requests';
    return new RegistryError('too_many_requests', `${text} (the registry ${host} is rate limiting; try again later)`, 429, { retryable: true });
  }
  const text = parsed !== undefined ? distributionErrorText(parsed) : `received unexpected HTTP status: ${statusLine(status)}`;
  return new RegistryError('registry_error', `${ctx.request}: ${text}`, status >= 500 ? 500 : status >= 400 ? status : 500, {
    retryable: status >= 500,
  });
}

/** The parts of a socket error the wording depends on. */
export interface NetworkErrorInfo {
  code?: string;
  message: string;
}

/** The most specific error code on the error, its causes, or (happy eyeballs) its aggregated errors. */
export function networkErrorInfo(err: unknown): NetworkErrorInfo {
  const found: NetworkErrorInfo[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (!(e instanceof Error) || depth > 5) return;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') found.push({ code, message: e.message });
    if (e instanceof AggregateError) for (const inner of e.errors) visit(inner, depth + 1);
    visit(e.cause, depth + 1);
  };
  visit(err, 0);
  // undici's generic socket error often wraps the errno that says what happened.
  return found.find((f) => f.code !== 'UND_ERR_SOCKET') ?? found[0] ?? { message: err instanceof Error ? err.message : String(err) };
}

/**
 * A transport failure in Go's words (what Docker prints):
 * `Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused`.
 */
export function networkFailure(err: unknown, ctx: { host: string; request: string; https: boolean }): RegistryError {
  const info = networkErrorInfo(err);
  const dial = `dial tcp ${ctx.host}`;
  let what: string;
  let hint = `check that the registry ${ctx.host} is running and reachable from this node`;
  switch (info.code) {
    case 'ECONNREFUSED':
      what = `${dial}: connect: connection refused`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      what = `dial tcp: lookup ${ctx.host.replace(/:\d+$/, '')}: no such host`;
      hint = 'check the registry name in the image reference';
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      what = `${dial}: connect: no route to host`;
      break;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      what = `${dial}: i/o timeout`;
      break;
    case 'UND_ERR_HEADERS_TIMEOUT':
      what = 'net/http: timeout awaiting response headers';
      break;
    case 'UND_ERR_BODY_TIMEOUT':
      what = 'net/http: request canceled (Client.Timeout or context cancellation while reading body)';
      break;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      what = 'read: connection reset by peer';
      break;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      what = 'http: server gave HTTP response to HTTPS client';
      hint = `if ${ctx.host} serves plain HTTP, list it in the insecure registries`;
      break;
    default:
      what = info.message === '' ? 'request failed' : info.message;
  }
  return new RegistryError('registry_unreachable', `${ctx.request}: ${what}${hint === '' ? '' : ` (${hint})`}`, 500, { cause: err, retryable: true });
}

/** Docker's words for a manifest whose bytes do not hash to the digest asked for. */
export function manifestDigestMismatch(ref: ImageReference, expected: string, actual: string): RegistryError {
  return new RegistryError(
    'digest_mismatch',
    `manifest verification failed for digest ${expected} (the registry ${ref.domain} sent content hashing to ${actual}; it may be corrupt or tampered with)`,
    500,
  );
}

/** Docker's words for a blob whose bytes do not match its descriptor. */
export function blobDigestMismatch(digest: string, why: string): RegistryError {
  return new RegistryError('digest_mismatch', `filesystem layer verification failed for digest ${digest} (${why})`, 500, { retryable: false });
}
