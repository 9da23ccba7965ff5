// Docker's X-Registry-Auth header: base64url (padding optional, plain base64
// accepted too, as dockerd does) of a JSON RegistryAuth. `docker service
// create --with-registry-auth` sends it; swarm keeps it with the task spec
// (ContainerSpec.PullOptions.RegistryAuth) so workers can pull privately.
import { InvalidArgumentError } from '../errors.js';
import type { RegistryAuth } from './types.js';

const FIELDS = ['username', 'password', 'identitytoken', 'registrytoken', 'serveraddress'] as const;

export function decodeRegistryAuth(header: string): RegistryAuth | undefined {
  const trimmed = header.trim();
  if (trimmed === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new InvalidArgumentError('X-Registry-Auth is not base64url-encoded JSON; log in again (docker login) and retry');
  }
  // `{}` is what the docker CLI sends when it has no credentials for the registry.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out: RegistryAuth = {};
  const o = parsed as Record<string, unknown>;
  for (const k of FIELDS) {
    const v = o[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth), 'utf8').toString('base64url');
}
