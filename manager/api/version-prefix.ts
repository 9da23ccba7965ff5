// API version prefixes (`/v1.47/nodes`), as dockerd's router and version middleware treat them.
// Pure functions: the server strips the prefix before routing (one route table serves both
// forms) and checks the requested version before any handler runs.

import { API_VERSION, MIN_API_VERSION } from '../../shared/version.js';
import { InvalidArgumentError } from '../../shared/errors.js';

// dockerd's route pattern is `/v{version:[0-9.]+}`; anything else after `/v` is an unknown path.
const PREFIX = /^\/v([0-9.]+)(\/.*)?$/;

export interface SplitUrl {
  /** The version from the prefix, or undefined when the URL has none. */
  version: string | undefined;
  /** The URL without the prefix (query string kept). */
  path: string;
}

export function splitVersionPrefix(url: string): SplitUrl {
  const queryAt = url.indexOf('?');
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  const match = PREFIX.exec(pathname);
  // `/v1.47` with nothing after it matches no dockerd route; leave it for the 404 handler.
  if (match === null || match[2] === undefined) return { version: undefined, path: url };
  const rest = match[2] + (queryAt === -1 ? '' : url.slice(queryAt));
  return { version: match[1], path: rest };
}

/**
 * Compares dotted versions numerically, part by part ("1.9" < "1.24"), treating missing
 * or non-numeric parts as 0 the way Docker's `versions.compare` does.
 */
export function compareApiVersions(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const l = Number.parseInt(left[i] ?? '0', 10) || 0;
    const r = Number.parseInt(right[i] ?? '0', 10) || 0;
    if (l !== r) return l < r ? -1 : 1;
  }
  return 0;
}

/** Throws dockerd's 400 for a version outside [MIN_API_VERSION, API_VERSION]. */
export function checkApiVersion(version: string): void {
  if (compareApiVersions(version, MIN_API_VERSION) < 0) {
    throw new InvalidArgumentError(
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareApiVersions(version, API_VERSION) > 0) {
    throw new InvalidArgumentError(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
}

/** The API version a request speaks: its prefix, or the newest one when it has none. */
export function requestApiVersion(originalUrl: string): string {
  return splitVersionPrefix(originalUrl).version ?? API_VERSION;
}
