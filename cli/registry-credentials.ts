// The credentials `--with-registry-auth` sends: read from the docker CLI's
// config file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), where
// `docker login` keeps them, so one login serves both CLIs.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '../shared/errors.js';
import { encodeRegistryAuth } from '../shared/registry/x-registry-auth.js';

const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** The registry host an image reference names (distribution/reference's rule for the first path component). */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/**
 * X-Registry-Auth for the registry of `image`: `{}` encoded when there are no
 * credentials for it (what the docker CLI sends), so the workers pull anonymously.
 */
export function registryAuthFor(image: string, env: NodeJS.ProcessEnv = process.env): string {
  const registry = registryOf(image);
  const path = dockerConfigPath(env);
  let config: DockerConfigFile;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as DockerConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return encodeRegistryAuth({});
    throw new ShoalError('invalid_argument', `cannot read registry credentials from ${path}: ${(err as Error).message}`, 400);
  }
  const keys = registry === 'docker.io' ? DOCKER_HUB_KEYS : [registry, `https://${registry}`, `http://${registry}`];
  const entry = keys.map((k) => config.auths?.[k]).find((e) => e !== undefined);
  if (entry === undefined) {
    const helper = config.credHelpers?.[registry] ?? config.credsStore;
    if (helper !== undefined) {
      throw new ShoalError(
        'invalid_argument',
        `credentials for ${registry} are kept by the docker-credential-${helper} helper, which shoal does not call; add an "auths" entry to ${path} or run the command without --with-registry-auth`,
        400,
      );
    }
    return encodeRegistryAuth({});
  }
  let { username, password } = entry;
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new ShoalError('invalid_argument', `the auth entry for ${registry} in ${path} is not base64 of user:password`, 400);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  return encodeRegistryAuth({
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(entry.identitytoken !== undefined ? { identitytoken: entry.identitytoken } : {}),
    ...(entry.registrytoken !== undefined ? { registrytoken: entry.registrytoken } : {}),
    serveraddress: registry,
  });
}
