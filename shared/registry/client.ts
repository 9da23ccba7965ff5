// A client for the OCI distribution API (what `docker pull` and `docker push`
// speak), over undici. Managers use resolve() to pin a service's tag to a
// digest; workers use getManifest() and fetchBlob() to pull; the test fixtures
// and tools push with pushBlob() and pushManifest(). Every failure is a
// RegistryError worded as Docker words it (see errors.ts).
import { untilAborted } from '../abort.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { ShoalError } from '../errors.js';
import type { Logger } from '../logger.js';
import { VERSION } from '../version.js';
import { hasCredentials, RegistryAuthenticator, TokenRefusedError, type TokenRequest, type TokenResponse } from './auth.js';
import {
  blobDigestMismatch,
  manifestDigestMismatch,
  networkFailure,
  RegistryError,
  registryFailure,
  type FailureContext,
} from './errors.js';
import { MANIFEST_ACCEPT, parseImageConfig, parseManifestDocument, type ManifestDocument } from './manifest.js';
import { formatPlatform, hostPlatform, selectPlatform, type Platform } from './platform.js';
import { digestProblem, familiarString, parseReference } from './reference.js';
import { InsecureRegistries, registryBaseUrl } from './transport.js';
import type { Descriptor, ImageIndex, ImageManifest, ImageReference, RegistryAuth } from './types.js';

export interface RegistryClientOptions {
  /** Registries spoken to over plain HTTP besides loopback: `host[:port]` or CIDR ranges. */
  insecureRegistries?: readonly string[];
  /** Default platform for index selection; this process's (linux/amd64 on x64) when absent. */
  platform?: Platform;
  connectTimeoutMs?: number;
  /** Time allowed for a response's headers to arrive. */
  headersTimeoutMs?: number;
  /** Longest silence allowed while a body streams. */
  bodyTimeoutMs?: number;
  /** Tries per read (manifests, blobs) on network errors and 5xx answers. */
  attempts?: number;
  /** First retry delay; doubles each time. */
  retryDelayMs?: number;
  logger?: Logger;
  /** An undici dispatcher to use instead of the client's own Agent (the caller then closes it). */
  dispatcher?: Dispatcher;
  now?: () => number;
}

export interface RequestOptions {
  auth?: RegistryAuth;
  signal?: AbortSignal;
}

export interface ResolveOptions extends RequestOptions {
  /** When set and the reference names an index, check the index has a manifest for it. */
  platform?: Platform;
}

export interface ResolvedDescriptor {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ManifestOptions extends RequestOptions {
  platform?: Platform;
}

export interface ManifestResult {
  /** The image manifest for the platform. */
  manifest: ImageManifest;
  /** Digest of `bytes`: the platform manifest's own digest. */
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  /** When the reference named an index (manifest list): its digest, which Docker reports as the repo digest. */
  indexDigest?: string;
  /** The platform of the entry chosen from the index. */
  platform?: Platform;
}

export interface DistributionInspect {
  /** What the reference names (the index when there is one), as Docker's GET /distribution/{name}/json. */
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Array<{ architecture: string; os: string; variant?: string }>;
}

export interface FetchBlobOptions extends RequestOptions {
  /** Bytes received so far, and the blob's size. */
  onProgress?: (current: number, total: number) => void;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT';

interface Exchange {
  ref: ImageReference;
  action: 'pull' | 'push';
  target: FailureContext['target'];
  auth: RegistryAuth | undefined;
  signal: AbortSignal | undefined;
}

interface Outgoing {
  method: Method;
  /** A path on the registry (`/v2/...`) or an absolute URL (upload locations). */
  path?: string;
  url?: string;
  headers?: Record<string, string>;
  /** Made afresh for each try, since a stream can be sent only once. */
  body?: () => Buffer | Readable;
}

interface Incoming {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: string;
  method: Method;
}

const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const ERROR_BODY_MAX_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

let tmpCounter = 0;

/** Go's rendering of a request in errors: `Get "http://127.0.0.1:5000/v2/"`. */
function goRequest(method: string, url: string): string {
  return `${method.charAt(0)}${method.slice(1).toLowerCase()} "${url}"`;
}

function header(res: Incoming, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function toRef(ref: ImageReference | string): ImageReference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

/** The tag or digest to ask a registry for: the digest wins. */
function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

function hashOf(digest: string): { algorithm: string; hash: ReturnType<typeof createHash> } {
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new RegistryError('unsupported_manifest', `cannot verify content against "${digest}": ${problem}`, 400);
  const algorithm = digest.slice(0, digest.indexOf(':'));
  return { algorithm, hash: createHash(algorithm) };
}

function digestWith(algorithm: string, bytes: Uint8Array): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

const cancelled = (): Error => new ShoalError('cancelled', 'the registry request was cancelled', 500);
/** Why a request stopped: the signal's own reason when it gave one. */
const abortError = (signal: AbortSignal): Error => (signal.reason instanceof Error ? signal.reason : cancelled());

async function readLimited(body: Incoming['body'], limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > limit) {
      body.destroy();
      throw new RegistryError('unsupported_manifest', `${what} is larger than ${limit} bytes; refusing it`, 400);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

async function errorText(res: Incoming): Promise<string> {
  if (res.method === 'HEAD') {
    await res.body.dump();
    return '';
  }
  try {
    return (await readLimited(res.body, ERROR_BODY_MAX_BYTES, 'error body')).toString('utf8');
  } catch {
    return '';
  }
}

export class RegistryClient {
  readonly platform: Platform;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly insecure: InsecureRegistries;
  private readonly authenticator: RegistryAuthenticator;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly logger: Logger | undefined;
  private readonly userAgent = `shoal/${VERSION}`;

  constructor(opts: RegistryClientOptions = {}) {
    this.platform = opts.platform ?? hostPlatform();
    this.insecure = new InsecureRegistries(opts.insecureRegistries ?? []);
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.retryDelayMs = opts.retryDelayMs ?? 250;
    this.logger = opts.logger;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher =
      opts.dispatcher ??
      new Agent({
        connect: { timeout: opts.connectTimeoutMs ?? 10_000 },
        headersTimeout: opts.headersTimeoutMs ?? 30_000,
        bodyTimeout: opts.bodyTimeoutMs ?? 60_000,
        connections: 16,
      });
    this.authenticator = new RegistryAuthenticator((req) => this.tokenRequest(req), opts.now ?? Date.now);
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** `http://127.0.0.1:5000` or `https://...`: where a registry's API is reached. */
  baseUrl(domain: string): Promise<string> {
    return registryBaseUrl(domain, this.insecure);
  }

  /**
   * What a tag (or digest) names, without downloading it: a HEAD request, or a
   * GET when the registry's HEAD answer lacks the digest. Managers pin services with this.
   */
  async resolve(refIn: ImageReference | string, opts: ResolveOptions = {}): Promise<ResolvedDescriptor> {
    const ref = toRef(refIn);
    const ex = this.exchangeFor(ref, 'pull', 'manifest', opts);
    const path = `/v2/${ref.path}/manifests/${manifestReference(ref)}`;
    const head = await this.retrying(opts.signal, () => this.exchange(ex, { method: 'HEAD', path, headers: { accept: MANIFEST_ACCEPT } }));
    await head.body.dump();
    const digest = header(head, 'docker-content-digest');
    const mediaType = header(head, 'content-type');
    const length = Number(header(head, 'content-length'));
    const headUsable = head.status === 200 && digest !== undefined && digestProblem(digest) === undefined && mediaType !== undefined && Number.isSafeInteger(length);
    if (headUsable && opts.platform === undefined) {
      if (ref.digest !== undefined && digest !== ref.digest) throw manifestDigestMismatch(ref, ref.digest, digest);
      return { digest, mediaType: mediaType.split(';')[0]?.trim() ?? mediaType, size: length };
    }
    // HEAD gave no digest, an error without a body, or we must look inside an index.
    const top = await this.fetchManifest(ref, manifestReference(ref), ex);
    if (opts.platform !== undefined && top.doc.kind === 'index') this.choosePlatform(ref, top.doc.index, opts.platform);
    return { digest: top.digest, mediaType: top.doc.mediaType, size: top.bytes.length };
  }

  /** The image manifest for a platform (default this node's), following an index when the reference names one. */
  async getManifest(refIn: ImageReference | string, opts: ManifestOptions = {}): Promise<ManifestResult> {
    const ref = toRef(refIn);
    const ex = this.exchangeFor(ref, 'pull', 'manifest', opts);
    const top = await this.fetchManifest(ref, manifestReference(ref), ex);
    if (top.doc.kind === 'manifest') {
      return { manifest: top.doc.manifest, digest: top.digest, mediaType: top.doc.mediaType, size: top.bytes.length, bytes: top.bytes };
    }
    const chosen = this.choosePlatform(ref, top.doc.index, opts.platform ?? this.platform);
    const inner = await this.fetchManifest(ref, chosen.digest, ex);
    if (inner.bytes.length !== chosen.size) {
      throw manifestDigestMismatch(ref, chosen.digest, `${inner.digest} (${inner.bytes.length} bytes, the index says ${chosen.size})`);
    }
    if (inner.doc.kind !== 'manifest') {
      throw new RegistryError('unsupported_manifest', `the index of ${familiarString(ref)} points at another index for ${formatPlatform(opts.platform ?? this.platform)}; nested indexes are not supported`, 400);
    }
    return {
      manifest: inner.doc.manifest,
      digest: chosen.digest,
      mediaType: inner.doc.mediaType,
      size: inner.bytes.length,
      bytes: inner.bytes,
      indexDigest: top.digest,
      ...(chosen.platform !== undefined ? { platform: chosen.platform } : {}),
    };
  }

  /** Docker's GET /distribution/{name}/json: the descriptor a reference names and the platforms it offers. */
  async distributionInspect(refIn: ImageReference | string, opts: RequestOptions = {}): Promise<DistributionInspect> {
    const ref = toRef(refIn);
    const ex = this.exchangeFor(ref, 'pull', 'manifest', opts);
    const top = await this.fetchManifest(ref, manifestReference(ref), ex);
    const descriptor = { mediaType: top.doc.mediaType, digest: top.digest, size: top.bytes.length };
    if (top.doc.kind === 'index') {
      const platforms = top.doc.index.manifests
        .flatMap((m) => (m.platform !== undefined && m.platform.os !== 'unknown' ? [m.platform] : []))
        .map((p) => ({ architecture: p.architecture, os: p.os, ...(p.variant !== undefined ? { variant: p.variant } : {}) }));
      return { Descriptor: descriptor, Platforms: platforms };
    }
    const configBytes = await this.fetchBlobBytes(ref, top.doc.manifest.config, opts);
    const config = parseImageConfig(configBytes, top.doc.manifest.layers.length, familiarString(ref));
    return {
      Descriptor: descriptor,
      Platforms: [{ architecture: config.architecture, os: config.os, ...(config.variant !== undefined ? { variant: config.variant } : {}) }],
    };
  }

  /**
   * Download a blob to `destFile`: streamed to a temporary file beside it,
   * checked against the descriptor's size and digest, then renamed into place.
   * Network errors and 5xx answers are retried; a blob that fails the check is
   * deleted, never kept.
   */
  async fetchBlob(refIn: ImageReference | string, descriptor: Descriptor, destFile: string, opts: FetchBlobOptions = {}): Promise<void> {
    const ref = toRef(refIn);
    hashOf(descriptor.digest); // refuse an unusable digest before any I/O
    await mkdir(dirname(destFile), { recursive: true });
    const ex = this.exchangeFor(ref, 'pull', 'blob', opts);
    await this.retrying(opts.signal, () => this.downloadOnce(ex, descriptor, destFile, opts.onProgress));
  }

  /** A small blob (an image config) in memory, verified. */
  async fetchBlobBytes(refIn: ImageReference | string, descriptor: Descriptor, opts: RequestOptions = {}, maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
    const ref = toRef(refIn);
    if (descriptor.size > maxBytes) throw new RegistryError('unsupported_manifest', `blob ${descriptor.digest} is ${descriptor.size} bytes, more than the ${maxBytes} expected here`, 400);
    const { algorithm } = hashOf(descriptor.digest);
    const ex = this.exchangeFor(ref, 'pull', 'blob', opts);
    return this.retrying(opts.signal, async () => {
      const res = await this.exchange(ex, { method: 'GET', path: `/v2/${ref.path}/blobs/${descriptor.digest}` });
      if (res.status !== 200) throw registryFailure(res.status, await errorText(res), this.failureContext(ex, res));
      const bytes = await this.readBody(ex, res, descriptor.size, `blob ${descriptor.digest}`);
      if (bytes.length !== descriptor.size) throw blobDigestMismatch(descriptor.digest, `got ${bytes.length} bytes, expected ${descriptor.size}`);
      const actual = digestWith(algorithm, bytes);
      if (actual !== descriptor.digest) throw blobDigestMismatch(descriptor.digest, `the content hashes to ${actual}`);
      return bytes;
    });
  }

  /** Upload a blob unless the registry has it: a POST to open an upload, then one PUT with `?digest=`. */
  async pushBlob(refIn: ImageReference | string, digest: string, source: Uint8Array | string, opts: RequestOptions = {}): Promise<{ existed: boolean; size: number }> {
    const ref = toRef(refIn);
    hashOf(digest);
    const size = typeof source === 'string' ? (await stat(source)).size : source.length;
    const ex = this.exchangeFor(ref, 'push', 'blob', opts);
    const head = await this.exchange(ex, { method: 'HEAD', path: `/v2/${ref.path}/blobs/${digest}` });
    await head.body.dump();
    if (head.status === 200) return { existed: true, size };

    const post = await this.exchange(ex, { method: 'POST', path: `/v2/${ref.path}/blobs/uploads/`, headers: { 'content-length': '0' } });
    const location = header(post, 'location');
    if (post.status !== 202 || location === undefined) {
      throw registryFailure(post.status, await errorText(post), this.failureContext(ex, post));
    }
    await post.body.dump();
    const uploadUrl = new URL(location, post.url);
    uploadUrl.searchParams.set('digest', digest);
    const put = await this.exchange(ex, {
      method: 'PUT',
      url: uploadUrl.toString(),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: () => (typeof source === 'string' ? createReadStream(source) : Buffer.from(source)),
    });
    if (put.status !== 201) throw registryFailure(put.status, await errorText(put), this.failureContext(ex, put));
    await put.body.dump();
    return { existed: false, size };
  }

  /** Store a manifest (or index) under a tag or its digest; returns its digest. */
  async pushManifest(refIn: ImageReference | string, tagOrDigest: string, bytes: Uint8Array, mediaType: string, opts: RequestOptions = {}): Promise<string> {
    const ref = toRef(refIn);
    const digest = digestWith('sha256', bytes);
    const ex = this.exchangeFor({ ...ref, tag: tagOrDigest }, 'push', 'manifest', opts);
    const res = await this.exchange(ex, {
      method: 'PUT',
      path: `/v2/${ref.path}/manifests/${tagOrDigest}`,
      headers: { 'content-type': mediaType },
      body: () => Buffer.from(bytes),
    });
    if (res.status !== 201) throw registryFailure(res.status, await errorText(res), this.failureContext(ex, res));
    await res.body.dump();
    const said = header(res, 'docker-content-digest');
    if (said !== undefined && said !== digest) throw manifestDigestMismatch(ref, digest, said);
    return digest;
  }

  // --- internals ----------------------------------------------------------------------

  private exchangeFor(ref: ImageReference, action: Exchange['action'], target: Exchange['target'], opts: RequestOptions): Exchange {
    return { ref, action, target, auth: opts.auth, signal: opts.signal };
  }

  private failureContext(ex: Exchange, res: { method: string; url: string }): FailureContext {
    return { ref: ex.ref, action: ex.action, target: ex.target, hadCredentials: hasCredentials(ex.auth), request: goRequest(res.method, res.url) };
  }

  private scope(ex: Exchange): string {
    return `repository:${ex.ref.path}:${ex.action === 'push' ? 'pull,push' : 'pull'}`;
  }

  private choosePlatform(ref: ImageReference, index: ImageIndex, want: Platform): Descriptor {
    const chosen = selectPlatform(index.manifests, want);
    if (chosen !== undefined) return chosen;
    const offered = index.manifests.flatMap((m) => (m.platform !== undefined && m.platform.os !== 'unknown' ? [formatPlatform(m.platform)] : []));
    throw new RegistryError(
      'no_matching_manifest',
      `no matching manifest for ${formatPlatform(want)} in the manifest list entries (${familiarString(ref)} is published for ${offered.length > 0 ? offered.join(', ') : 'no platform'})`,
      404,
    );
  }

  private async fetchManifest(ref: ImageReference, reference: string, ex: Exchange): Promise<{ doc: ManifestDocument; digest: string; bytes: Buffer }> {
    const byDigest = reference.includes(':');
    const expected = byDigest ? reference : undefined;
    const algorithm = expected !== undefined ? hashOf(expected).algorithm : 'sha256';
    return this.retrying(ex.signal, async () => {
      const res = await this.exchange(ex, { method: 'GET', path: `/v2/${ref.path}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT } });
      if (res.status !== 200) throw registryFailure(res.status, await errorText(res), this.failureContext(ex, res));
      const bytes = await this.readBody(ex, res, MANIFEST_MAX_BYTES, `the manifest of ${familiarString(ref)}`);
      const digest = digestWith(algorithm, bytes);
      if (expected !== undefined && digest !== expected) throw manifestDigestMismatch(ref, expected, digest);
      // For a tag, the registry's own digest header is the only thing to check the bytes against.
      const said = header(res, 'docker-content-digest');
      if (expected === undefined && said !== undefined && digestProblem(said) === undefined) {
        const saidAlgorithm = said.slice(0, said.indexOf(':'));
        if (digestWith(saidAlgorithm, bytes) !== said) throw manifestDigestMismatch(ref, said, digest);
      }
      const doc = parseManifestDocument(bytes, header(res, 'content-type'), familiarString(ref));
      return { doc, digest, bytes };
    });
  }

  private async readBody(ex: Exchange, res: Incoming, limit: number, what: string): Promise<Buffer> {
    try {
      return await readLimited(res.body, limit, what);
    } catch (err) {
      throw this.transportError(ex, err, res.method, res.url);
    }
  }

  private async downloadOnce(ex: Exchange, descriptor: Descriptor, destFile: string, onProgress: FetchBlobOptions['onProgress']): Promise<void> {
    const res = await this.exchange(ex, { method: 'GET', path: `/v2/${ex.ref.path}/blobs/${descriptor.digest}` });
    if (res.status !== 200) throw registryFailure(res.status, await errorText(res), this.failureContext(ex, res));
    const { algorithm, hash } = hashOf(descriptor.digest);
    const tmp = `${destFile}.part-${process.pid}-${++tmpCounter}`;
    let received = 0;
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          received += buf.length;
          if (received > descriptor.size) throw blobDigestMismatch(descriptor.digest, `the registry sent more than the ${descriptor.size} bytes the manifest gives`);
          hash.update(buf);
          await fh.write(buf);
          onProgress?.(received, descriptor.size);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (received < descriptor.size) {
        // A short body is a cut connection more often than a bad registry: worth another try.
        throw new RegistryError('registry_unreachable', `${goRequest('GET', res.url)}: unexpected EOF (got ${received} of ${descriptor.size} bytes)`, 500, { retryable: true });
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== descriptor.digest) throw blobDigestMismatch(descriptor.digest, `the content hashes to ${actual}`);
      await rename(tmp, destFile);
    } catch (err) {
      res.body.destroy();
      await rm(tmp, { force: true });
      throw err instanceof ShoalError ? err : this.transportError(ex, err, 'GET', res.url);
    }
  }

  private transportError(ex: Exchange, err: unknown, method: string, url: string): Error {
    if (err instanceof ShoalError) return err;
    if (ex.signal?.aborted) return abortError(ex.signal);
    return networkFailure(err, { host: new URL(url).host, request: goRequest(method, url), https: url.startsWith('https:') });
  }

  /** Run `fn` again after network errors and 5xx answers, with doubling delays. */
  private async retrying<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn();
      } catch (err) {
        const retryable = err instanceof RegistryError && err.retryable;
        if (!retryable || attempt >= this.attempts || signal?.aborted === true) throw err;
        const delay = this.retryDelayMs * 2 ** (attempt - 1);
        this.logger?.debug({ err: (err as Error).message, attempt, delayMs: delay }, 'registry request failed; retrying');
        try {
          await sleep(delay, undefined, signal !== undefined ? { signal } : {});
        } catch {
          throw signal !== undefined ? abortError(signal) : err;
        }
      }
    }
  }

  /**
   * One request with authentication: the header we already know to send, and
   * on a 401 the answer to the registry's challenge, tried once more.
   */
  private async exchange(ex: Exchange, out: Outgoing): Promise<Incoming> {
    const base = await this.baseUrl(ex.ref.domain);
    const url = out.url ?? `${base}${out.path ?? '/v2/'}`;
    const scope = this.scope(ex);
    const first = await this.authorize(ex, url, () => this.authenticator.authorization(base, scope, ex.auth));
    const res = await this.send(ex, out, url, first);
    if (res.status !== 401) return res;
    const challenge = header(res, 'www-authenticate');
    const refusal = await errorText(res);
    const retry = await this.authorize(ex, url, () => this.authenticator.challenged(base, challenge, scope, ex.auth));
    if (retry === undefined) throw registryFailure(401, refusal, this.failureContext(ex, res));
    const again = await this.send(ex, out, url, retry);
    if (again.status === 401) throw registryFailure(401, await errorText(again), this.failureContext(ex, again));
    return again;
  }

  private async authorize(ex: Exchange, url: string, get: () => Promise<string | undefined>): Promise<string | undefined> {
    try {
      // A token fetch is shared by concurrent requests, so a caller's signal only stops its own wait.
      return await untilAborted(get(), ex.signal, cancelled);
    } catch (err) {
      if (err instanceof TokenRefusedError) throw registryFailure(401, err.body, { ...this.failureContext(ex, { method: 'GET', url: err.realm }), target: 'token' });
      throw this.transportError(ex, err, 'GET', url);
    }
  }

  /** Send one request, following redirects (blob storage often lives elsewhere); credentials never leave the registry's origin. */
  private async send(ex: Exchange, out: Outgoing, startUrl: string, authorization: string | undefined): Promise<Incoming> {
    let url = startUrl;
    let method = out.method;
    let withBody = true;
    for (let hop = 0; ; hop += 1) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...(out.headers ?? {}) };
      if (authorization !== undefined && new URL(url).origin === new URL(startUrl).origin) headers['authorization'] = authorization;
      const body = withBody && out.body !== undefined ? out.body() : undefined;
      if (body === undefined) delete headers['content-length'];
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method,
          headers,
          dispatcher: this.dispatcher,
          ...(body !== undefined ? { body } : {}),
          ...(ex.signal !== undefined ? { signal: ex.signal } : {}),
        });
      } catch (err) {
        throw this.transportError(ex, err, method, url);
      }
      const incoming: Incoming = { status: res.statusCode, headers: res.headers, body: res.body, url, method };
      const location = header(incoming, 'location');
      if (!REDIRECT_STATUSES.has(res.statusCode) || location === undefined || (method !== 'GET' && method !== 'HEAD')) return incoming;
      await res.body.dump();
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError('registry_error', `${goRequest(method, startUrl)}: stopped after ${MAX_REDIRECTS} redirects`, 500);
      }
      url = new URL(location, url).toString();
      if (res.statusCode === 303) {
        method = 'GET';
        withBody = false;
      }
    }
  }

  private async tokenRequest(req: TokenRequest): Promise<TokenResponse> {
    try {
      const res = await request(req.url, {
        method: req.method,
        headers: { 'user-agent': this.userAgent, ...req.headers },
        dispatcher: this.dispatcher,
        ...(req.body !== undefined ? { body: req.body } : {}),
      });
      const text = (await readLimited(res.body, ERROR_BODY_MAX_BYTES, 'token response')).toString('utf8');
      return { status: res.statusCode, text };
    } catch (err) {
      if (err instanceof ShoalError) throw err;
      throw networkFailure(err, { host: new URL(req.url).host, request: goRequest(req.method, req.url), https: req.url.startsWith('https:') });
    }
  }
}
