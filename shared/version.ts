// Version numbers reported by `shoal version`, `shoal --version` and (later) /version.

import { readFileSync } from 'node:fs';

/** Docker Engine API version this project models (docker-engine-api-v1.56.yaml). */
export const API_VERSION = '1.56';
/** Oldest API version clients may request, as the Docker daemon allows. */
export const MIN_API_VERSION = '1.24';

function readPackageVersion(): string {
  // Resolved relative to the compiled file (dist/shared/version.js -> ../../package.json),
  // so it works from a checkout and from an npm install alike, whatever the cwd.
  const url = new URL('../../package.json', import.meta.url);
  const parsed: unknown = JSON.parse(readFileSync(url, 'utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
    return parsed.version;
  }
  throw new Error(`no "version" string in ${url.pathname}`);
}

/** The shoal release, from package.json. */
export const VERSION: string = readPackageVersion();
