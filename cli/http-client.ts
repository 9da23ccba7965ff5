// A small client for the daemon's Docker-shaped HTTP API, over a unix socket or TCP.
// Every failure becomes a ShoalError the CLI can print as is: the daemon's own message
// for non-2xx answers (DaemonError), and a sentence saying what to do when the daemon
// cannot be reached or does not answer in time.

import { Agent, type Dispatcher } from 'undici';
import { InvalidArgumentError, ShoalError } from '../shared/errors.js';
import { API_VERSION, VERSION } from '../shared/version.js';
import { DEFAULT_HOST } from './globals.js';

/** Where to reach the daemon, parsed from -H / SHOAL_HOST. */
export interface DaemonAddress {
  /** The address as users write it, for messages. */
  display: string;
  /** Origin for HTTP requests (a placeholder host for unix sockets). */
  origin: string;
  socketPath?: string;
}

const DEFAULT_TCP_PORT = 2375;

export function parseDaemonHost(host: string = DEFAULT_HOST): DaemonAddress {
  const invalid = (why: string): InvalidArgumentError =>
    new InvalidArgumentError(`invalid daemon address "${host}": ${why} (use unix:///path/to/shoal.sock or tcp://HOST:PORT)`);
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalid('the socket path must be absolute');
    return { display: host, origin: 'http://localhost', socketPath };
  }
  const m = /^(?:tcp|http):\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d+))?\/?$/.exec(host);
  if (!m) throw invalid('unsupported form');
  const port = m[2] === undefined ? DEFAULT_TCP_PORT : Number(m[2]);
  if (port < 1 || port > 65535) throw invalid(`port ${m[2]} out of range`);
  return { display: host, origin: `http://${m[1]}:${port}` };
}

/** Status code -> ShoalError code, so callers branch on `code` as for local errors. */
function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_argument';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 503:
      return 'unavailable';
    default:
      return 'daemon_error';
  }
}

/** The daemon answered with an error; `message` is its own words. */
export class DaemonError extends ShoalError {
  constructor(status: number, message: string) {
    super(codeForStatus(status), message, status);
  }
}

/** The daemon could not be reached, or did not answer in time. */
export class DaemonConnectionError extends ShoalError {
  constructor(message: string, cause: unknown) {
    super('daemon_unreachable', message, 503, { cause });
  }
}

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Overrides the client's response timeout for slow operations. */
  timeoutMs?: number;
  /** Extra request headers, e.g. X-Registry-Auth. */
  headers?: Record<string, string>;
}

export interface StreamOptions {
  query?: Record<string, QueryValue>;
  /** Extra request headers, e.g. X-Registry-Auth. */
  headers?: Record<string, string>;
  /** How long to wait for the response headers (default: the client's timeout). */
  headersTimeoutMs?: number;
  /** Longest silence allowed between body chunks; 0 (the default) waits for ever, as a followed log or a slow pull may be quiet. */
  bodyTimeoutMs?: number;
}

/** A 2xx answer whose body the caller reads as it arrives. */
export interface OpenedStream {
  body: AsyncIterable<Uint8Array>;
  contentType: string;
  /** Stop reading and release the connection. */
  close(): Promise<void>;
}

export interface DaemonClientOptions {
  host?: string | undefined;
  /** How long to wait for a connection. */
  connectTimeoutMs?: number;
  /** How long to wait for the response headers, and then between body chunks. */
  timeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TIMEOUT_MS = 60_000;

// Errors from net and undici that mean "nobody is listening there".
const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function bodyMessage(status: number, text: string): string {
  if (text !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') {
        return parsed.message;
      }
    } catch {
      // Not JSON: the text itself is the best message there is.
    }
    return text.trim();
  }
  return `the daemon answered HTTP ${status} with no message`;
}

export class DaemonClient {
  readonly address: DaemonAddress;
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(opts: DaemonClientOptions = {}) {
    this.address = parseDaemonHost(opts.host ?? DEFAULT_HOST);
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const connect = { timeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS };
    this.#agent = new Agent({
      connect: this.address.socketPath === undefined ? connect : { ...connect, socketPath: this.address.socketPath },
    });
  }

  /** `path` without the version prefix, e.g. "/nodes"; resolves to the parsed JSON body (undefined when empty). */
  async request(method: Dispatcher.HttpMethod, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const fullPath = this.#versionedPath(path, opts.query);
    const timeout = opts.timeoutMs ?? this.#timeoutMs;
    const headers: Record<string, string> = { ...opts.headers, 'user-agent': `shoal-cli/${VERSION}` };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let statusCode: number;
    let text: string;
    try {
      const res = await this.#agent.request({
        origin: this.address.origin,
        path: fullPath,
        method,
        headers,
        body: opts.body === undefined ? null : JSON.stringify(opts.body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      statusCode = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw this.#transportError(err, method, path, timeout);
    }
    if (statusCode < 200 || statusCode > 299) throw new DaemonError(statusCode, bodyMessage(statusCode, text));
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ShoalError('bad_response', `the daemon at ${this.address.display} answered ${method} ${path} with invalid JSON`, 502, { cause: err });
    }
  }

  /**
   * A request whose answer is read as a stream (logs, pull progress). Error
   * answers throw DaemonError with the daemon's message, as request() does.
   */
  async stream(method: Dispatcher.HttpMethod, path: string, opts: StreamOptions = {}): Promise<OpenedStream> {
    const headersTimeout = opts.headersTimeoutMs ?? this.#timeoutMs;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#agent.request({
        origin: this.address.origin,
        path: this.#versionedPath(path, opts.query),
        method,
        headers: { ...opts.headers, 'user-agent': `shoal-cli/${VERSION}` },
        headersTimeout,
        bodyTimeout: opts.bodyTimeoutMs ?? 0,
      });
    } catch (err) {
      throw this.#transportError(err, method, path, headersTimeout);
    }
    const body = res.body;
    const close = async (): Promise<void> => {
      body.destroy();
    };
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = await body.text().catch(() => '');
      await close();
      throw new DaemonError(res.statusCode, bodyMessage(res.statusCode, text));
    }
    const type = res.headers['content-type'];
    return { body, contentType: typeof type === 'string' ? type : '', close };
  }

  get(path: string, query?: Record<string, QueryValue>): Promise<unknown> {
    return this.request('GET', path, query === undefined ? {} : { query });
  }

  post(path: string, body?: unknown, query?: Record<string, QueryValue>, timeoutMs?: number): Promise<unknown> {
    return this.request('POST', path, {
      ...(body === undefined ? {} : { body }),
      ...(query === undefined ? {} : { query }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  delete(path: string, query?: Record<string, QueryValue>): Promise<unknown> {
    return this.request('DELETE', path, query === undefined ? {} : { query });
  }

  /** Closes idle connections so the process can exit. */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  #versionedPath(path: string, query: Record<string, QueryValue> = {}): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    // Versioned like the docker CLI, so a daemon speaking another API version says so.
    return `/v${API_VERSION}${path}${qs.size > 0 ? `?${qs.toString()}` : ''}`;
  }

  #transportError(err: unknown, method: string, path: string, timeoutMs: number): ShoalError {
    const where = this.address.display;
    const code = errorCode(err);
    if (code !== undefined && UNREACHABLE_CODES.has(code)) {
      return new DaemonConnectionError(
        `Cannot connect to the shoal daemon at ${where}. Is the shoal daemon running? (start it with: shoal daemon)`,
        err,
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new DaemonConnectionError(
        `permission denied while trying to connect to the shoal daemon socket at ${where} (run as a user allowed to use the socket, e.g. with sudo)`,
        err,
      );
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new DaemonConnectionError(
        `the shoal daemon at ${where} did not answer ${method} ${path} within ${timeoutMs / 1000}s (is it overloaded or stuck? see its log)`,
        err,
      );
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new DaemonConnectionError(`error talking to the shoal daemon at ${where} (${method} ${path}): ${detail}`, err);
  }
}
