// Answering a registry's 401 (the distribution token spec): a Basic challenge
// gets the user's credentials; a Bearer challenge sends us to its realm for a
// token scoped to one repository, fetched with the credentials (or anonymously,
// or with an identity token as an OAuth2 refresh token) and cached per scope
// until it expires. A RegistryAuth's registrytoken is a bearer token used as is.
import { createHash } from 'node:crypto';
import { RegistryError } from './errors.js';
import type { RegistryAuth } from './types.js';
import { parseWwwAuthenticate, pickChallenge, type Challenge } from './www-authenticate.js';

export interface TokenRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface TokenResponse {
  status: number;
  text: string;
}

/** How the authenticator reaches a token endpoint (the client's HTTP stack, or a fake in tests). */
export type TokenTransport = (req: TokenRequest) => Promise<TokenResponse>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

// The token spec's floor: tokens said to live less than a minute are taken to live a minute.
const MIN_TOKEN_LIFETIME_S = 60;
// Refresh a little early so a token never expires between our check and the registry's.
const EXPIRY_MARGIN_MS = 10_000;
const CLIENT_ID = 'shoal';

export function hasCredentials(auth: RegistryAuth | undefined): boolean {
  return auth !== undefined && ((auth.username ?? '') !== '' || (auth.identitytoken ?? '') !== '' || (auth.registrytoken ?? '') !== '');
}

function basicHeader(auth: RegistryAuth): string | undefined {
  if ((auth.username ?? '') === '') return undefined;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
}

/** Who the cached token belongs to: tokens fetched for one user never serve another. */
function principal(auth: RegistryAuth | undefined): string {
  if (auth === undefined) return 'anonymous';
  return createHash('sha256')
    .update(JSON.stringify([auth.username ?? '', auth.password ?? '', auth.identitytoken ?? '']))
    .digest('hex');
}

/** The token server refused us; the client words it for the image at hand (pull access denied, unauthorized). */
export class TokenRefusedError extends Error {
  constructor(
    readonly realm: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`token server ${realm} answered ${status}`);
  }
}

export class RegistryAuthenticator {
  /** The challenge each registry (base URL) answered with, so later requests authenticate up front. */
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly transport: TokenTransport,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Authorization header to send before any 401, when this registry's challenge is already known. */
  async authorization(base: string, scope: string, auth: RegistryAuth | undefined): Promise<string | undefined> {
    if ((auth?.registrytoken ?? '') !== '') return `Bearer ${auth?.registrytoken}`;
    const challenge = this.challenges.get(base);
    if (challenge === undefined) return undefined;
    return this.answer(challenge, [scope], auth);
  }

  /**
   * After a 401: remember the challenge and return the header to retry with,
   * or undefined when we have nothing that could satisfy it (no credentials for Basic).
   */
  async challenged(base: string, wwwAuthenticate: string | undefined, scope: string, auth: RegistryAuth | undefined): Promise<string | undefined> {
    if ((auth?.registrytoken ?? '') !== '') return undefined; // the given token was refused; nothing else to try
    const challenge = pickChallenge(parseWwwAuthenticate(wwwAuthenticate ?? ''));
    if (challenge === undefined) return undefined;
    this.challenges.set(base, challenge);
    const scopes = [scope];
    // A registry saying which scope it wants (e.g. after insufficient_scope) is asked for that too.
    const asked = challenge.params['scope'];
    if (asked !== undefined && asked !== scope) scopes.push(asked);
    // Drop a cached token for this scope: the registry just refused it.
    this.tokens.delete(this.tokenKey(challenge, scopes, auth));
    return this.answer(challenge, scopes, auth);
  }

  private async answer(challenge: Challenge, scopes: string[], auth: RegistryAuth | undefined): Promise<string | undefined> {
    if (challenge.scheme === 'basic') return auth === undefined ? undefined : basicHeader(auth);
    const token = await this.token(challenge, scopes, auth);
    return `Bearer ${token}`;
  }

  private tokenKey(challenge: Challenge, scopes: string[], auth: RegistryAuth | undefined): string {
    return JSON.stringify([challenge.params['realm'] ?? '', challenge.params['service'] ?? '', scopes, principal(auth)]);
  }

  private async token(challenge: Challenge, scopes: string[], auth: RegistryAuth | undefined): Promise<string> {
    const key = this.tokenKey(challenge, scopes, auth);
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.token;
    // Concurrent layer downloads share one token request.
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.fetchToken(challenge, scopes, auth, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async fetchToken(challenge: Challenge, scopes: string[], auth: RegistryAuth | undefined, key: string): Promise<string> {
    const realm = challenge.params['realm'];
    if (realm === undefined || !/^https?:\/\//i.test(realm)) {
      throw new RegistryError('registry_error', `the registry asked for a bearer token without a usable realm ("${realm ?? ''}"); it is misconfigured`, 500);
    }
    const service = challenge.params['service'];
    const req = auth?.identitytoken ? refreshTokenRequest(realm, service, scopes, auth.identitytoken) : getTokenRequest(realm, service, scopes, auth);
    const res = await this.transport(req);
    if (res.status === 401 || res.status === 403) throw new TokenRefusedError(realm, res.status, res.text);
    if (res.status < 200 || res.status >= 300) {
      throw new RegistryError('registry_error', `token server ${realm} answered ${res.status}; try again later`, 500, { retryable: res.status >= 500 });
    }
    const parsed = parseTokenBody(res.text);
    if (parsed === undefined) throw new RegistryError('registry_error', `token server ${realm} sent no token`, 500);
    const lifetime = Math.max(parsed.expiresIn ?? MIN_TOKEN_LIFETIME_S, MIN_TOKEN_LIFETIME_S) * 1000;
    this.tokens.set(key, { token: parsed.token, expiresAt: this.now() + lifetime - EXPIRY_MARGIN_MS });
    return parsed.token;
  }
}

function getTokenRequest(realm: string, service: string | undefined, scopes: string[], auth: RegistryAuth | undefined): TokenRequest {
  const url = new URL(realm);
  if (service !== undefined) url.searchParams.set('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  const basic = auth === undefined ? undefined : basicHeader(auth);
  if (basic !== undefined) {
    headers['authorization'] = basic;
    url.searchParams.set('account', auth?.username ?? '');
  }
  return { method: 'GET', url: url.toString(), headers };
}

function refreshTokenRequest(realm: string, service: string | undefined, scopes: string[], refreshToken: string): TokenRequest {
  const form = new URLSearchParams();
  form.set('grant_type', 'refresh_token');
  form.set('refresh_token', refreshToken);
  form.set('client_id', CLIENT_ID);
  if (service !== undefined) form.set('service', service);
  // The OAuth2 form takes scopes space-separated in one field.
  form.set('scope', scopes.join(' '));
  return { method: 'POST', url: realm, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() };
}

/** `{token}` or `{access_token}` (the OAuth2 name), with an optional `expires_in` in seconds. */
export function parseTokenBody(text: string): { token: string; expiresIn?: number } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = typeof b.token === 'string' && b.token !== '' ? b.token : typeof b.access_token === 'string' && b.access_token !== '' ? b.access_token : undefined;
  if (token === undefined) return undefined;
  return { token, ...(typeof b.expires_in === 'number' && b.expires_in > 0 ? { expiresIn: b.expires_in } : {}) };
}
