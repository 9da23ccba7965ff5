// An in-process registry speaking enough of the distribution API for client
// and image store tests: manifests and blobs by tag or digest, uploads, a
// Basic or Bearer (with its own token endpoint) auth mode, and knobs to make
// it misbehave (5xx answers, corrupted content, missing digest headers).
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256Digest } from '../../../shared/registry/digest.js';

export type FakeAuth =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; username?: string; password?: string; refreshToken?: string; anonymous?: boolean; expiresIn?: number };

export interface FakeRequest {
  method: string;
  path: string;
  authorization?: string;
}

interface StoredManifest {
  bytes: Buffer;
  mediaType: string;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  /** `repo:tag` and `repo@digest` → manifest. */
  readonly manifests = new Map<string, StoredManifest>();
  readonly requests: FakeRequest[] = [];
  readonly tokenRequests: Array<{ method: string; query: URLSearchParams; form?: URLSearchParams; authorization?: string }> = [];
  /** Paths (prefix match) answered with 500 this many more times. */
  readonly failures = new Map<string, number>();
  /** Digests whose content is served altered (for blobs and manifests by digest). */
  readonly corrupt = new Set<string>();
  /** Repositories whose access is denied (403 DENIED). */
  readonly denied = new Set<string>();
  /** Leave Docker-Content-Digest out of HEAD answers. */
  omitHeadDigest = false;
  auth: FakeAuth | undefined;
  private readonly tokens = new Map<string, string>(); // token → scope list
  private tokenSerial = 0;
  private readonly uploads = new Map<string, string>(); // upload id → repo
  private server: http.Server | undefined;
  host = '';
  url = '';

  constructor(auth?: FakeAuth) {
    this.auth = auth;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as AddressInfo;
    this.host = `127.0.0.1:${addr.port}`;
    this.url = `http://${this.host}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  putBlob(bytes: Buffer): string {
    const digest = sha256Digest(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  /** Store a manifest under its digest and, when given, a tag; returns the digest. */
  putManifest(repo: string, bytes: Buffer, mediaType: string, tag?: string): string {
    const digest = sha256Digest(bytes);
    this.manifests.set(`${repo}@${digest}`, { bytes, mediaType });
    if (tag !== undefined) this.manifests.set(`${repo}:${tag}`, { bytes, mediaType });
    return digest;
  }

  /** Requests whose path starts with `prefix` (and method, when given). */
  count(prefix: string, method?: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix) && (method === undefined || r.method === method)).length;
  }

  failNext(pathPrefix: string, times: number): void {
    this.failures.set(pathPrefix, times);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const authorization = req.headers.authorization;
    if (url.pathname === '/token') return this.handleToken(req, res, url, body);
    this.requests.push({ method, path: url.pathname, ...(authorization !== undefined ? { authorization } : {}) });

    for (const [prefix, n] of this.failures) {
      if (n > 0 && url.pathname.startsWith(prefix)) {
        this.failures.set(prefix, n - 1);
        return this.send(res, 500, errorBody('UNKNOWN', 'unknown error'), method);
      }
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    const repo = m?.[1] ?? (/^\/v2\/(.+?)\/blobs\/uploads\//.exec(url.pathname)?.[1] ?? '');
    if (!this.authorized(req, repo, res, method)) return;
    if (repo !== '' && this.denied.has(repo)) return this.send(res, 403, errorBody('DENIED', 'requested access to the resource is denied'), method);

    if (url.pathname === '/v2/') return this.send(res, 200, '{}', method);
    const upload = /^\/v2\/(.+?)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
    if (upload !== null) return this.handleUpload(res, method, upload[1] as string, upload[2] as string, url, body);
    if (m === null) return this.send(res, 404, errorBody('UNSUPPORTED', 'not here'), method);
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      if (method === 'PUT') {
        const mediaType = req.headers['content-type'] ?? 'application/json';
        const digest = this.putManifest(name, body, mediaType, ref.includes(':') ? undefined : ref);
        res.writeHead(201, { 'docker-content-digest': digest, location: `/v2/${name}/manifests/${digest}` });
        return void res.end();
      }
      const key = ref.includes(':') ? `${name}@${ref}` : `${name}:${ref}`;
      const found = this.manifests.get(key);
      if (found === undefined) return this.send(res, 404, errorBody('MANIFEST_UNKNOWN', 'manifest unknown'), method);
      const digest = sha256Digest(found.bytes);
      const bytes = this.corrupt.has(digest) ? Buffer.from(found.bytes.toString('utf8').replace('"schemaVersion":2', '"schemaVersion": 2')) : found.bytes;
      const headers: Record<string, string> = { 'content-type': found.mediaType, 'content-length': String(bytes.length) };
      if (!(method === 'HEAD' && this.omitHeadDigest)) headers['docker-content-digest'] = digest;
      res.writeHead(200, headers);
      return void res.end(method === 'HEAD' ? undefined : bytes);
    }
    const blob = this.blobs.get(ref);
    if (blob === undefined) return this.send(res, 404, errorBody('BLOB_UNKNOWN', 'blob unknown to registry'), method);
    let bytes = blob;
    if (this.corrupt.has(ref)) {
      bytes = Buffer.from(blob);
      bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'docker-content-digest': ref });
    res.end(method === 'HEAD' ? undefined : bytes);
  }

  private handleUpload(res: http.ServerResponse, method: string, repo: string, id: string, url: URL, body: Buffer): void {
    if (method === 'POST' && id === '') {
      const uuid = randomUUID();
      this.uploads.set(uuid, repo);
      res.writeHead(202, { location: `${this.url}/v2/${repo}/blobs/uploads/${uuid}?_state=x`, 'docker-upload-uuid': uuid, 'content-length': '0' });
      return void res.end();
    }
    if (method === 'PUT' && this.uploads.has(id)) {
      const digest = url.searchParams.get('digest') ?? '';
      const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (digest !== actual) return this.send(res, 400, errorBody('DIGEST_INVALID', 'provided digest did not match uploaded content'), method);
      this.blobs.set(digest, body);
      this.uploads.delete(id);
      res.writeHead(201, { 'docker-content-digest': digest, location: `/v2/${repo}/blobs/${digest}`, 'content-length': '0' });
      return void res.end();
    }
    this.send(res, 404, errorBody('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry'), method);
  }

  private authorized(req: http.IncomingMessage, repo: string, res: http.ServerResponse, method: string): boolean {
    const a = this.auth;
    if (a === undefined) return true;
    const given = req.headers.authorization ?? '';
    if (a.kind === 'basic') {
      const expected = `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
      if (given === expected) return true;
      res.setHeader('www-authenticate', 'Basic realm="fake"');
      this.send(res, 401, errorBody('UNAUTHORIZED', 'authentication required'), method);
      return false;
    }
    const token = given.startsWith('Bearer ') ? given.slice('Bearer '.length) : undefined;
    const scopes = token !== undefined ? this.tokens.get(token) : undefined;
    if (scopes !== undefined && (repo === '' || scopes.includes(`repository:${repo}:`))) return true;
    const scope = repo === '' ? '' : `,scope="repository:${repo}:pull"`;
    res.setHeader('www-authenticate', `Bearer realm="${this.url}/token",service="fake-registry"${scope}`);
    this.send(res, 401, errorBody('UNAUTHORIZED', 'authentication required'), method);
    return false;
  }

  private handleToken(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): void {
    const a = this.auth;
    const authorization = req.headers.authorization;
    const form = req.method === 'POST' ? new URLSearchParams(body.toString('utf8')) : undefined;
    this.tokenRequests.push({ method: req.method ?? 'GET', query: url.searchParams, ...(form !== undefined ? { form } : {}), ...(authorization !== undefined ? { authorization } : {}) });
    if (a?.kind !== 'bearer') return this.send(res, 404, '{}', 'GET');
    let ok: boolean;
    let scopes: string[];
    if (form !== undefined) {
      ok = form.get('grant_type') === 'refresh_token' && a.refreshToken !== undefined && form.get('refresh_token') === a.refreshToken;
      scopes = (form.get('scope') ?? '').split(' ');
    } else {
      const expected = a.username !== undefined ? `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}` : undefined;
      ok = authorization === undefined ? a.anonymous === true : authorization === expected;
      scopes = url.searchParams.getAll('scope');
    }
    if (!ok) return this.send(res, 401, errorBody('UNAUTHORIZED', 'incorrect username or password'), 'GET');
    const token = `tok-${++this.tokenSerial}`;
    this.tokens.set(token, scopes.join(' '));
    const reply = form !== undefined ? { access_token: token, expires_in: a.expiresIn ?? 300 } : { token, expires_in: a.expiresIn ?? 300 };
    this.send(res, 200, JSON.stringify(reply), 'GET');
  }

  private send(res: http.ServerResponse, status: number, body: string, method: string): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
    res.end(method === 'HEAD' ? undefined : body);
  }
}

/** A small image (two tiny layers, no busybox) stored in the fake registry under repo:tag. */
export function addSimpleImage(
  reg: FakeRegistry,
  repo: string,
  tag: string,
  layers: Array<{ blob: Buffer; diffId: string; mediaType: string }>,
  opts: { architecture?: string; mediaType?: 'oci' | 'docker'; cmd?: string[] } = {},
): { manifestDigest: string; configDigest: string; manifestBytes: Buffer } {
  const docker = opts.mediaType === 'docker';
  for (const l of layers) reg.putBlob(l.blob);
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      config: { Cmd: opts.cmd ?? ['sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const configDigest = reg.putBlob(config);
  const manifestType = docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256Digest(l.blob), size: l.blob.length })),
    }),
  );
  const manifestDigest = reg.putManifest(repo, manifestBytes, manifestType, tag);
  return { manifestDigest, configDigest, manifestBytes };
}
