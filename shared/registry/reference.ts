// Image references normalized the way Docker normalizes them
// (distribution/reference ParseNormalizedNamed): `busybox` is
// docker.io/library/busybox:latest, `127.0.0.1:5000/web:1` keeps its registry,
// and Docker Hub names print without `docker.io/library/`. Pure.
import { InvalidArgumentError } from '../errors.js';
import { IMAGE_ID_HEX, NAME_TOTAL_MAX, REFERENCE, TAG_ONLY } from './grammar.js';
import type { ImageReference } from './types.js';

export const DOCKER_HUB_DOMAIN = 'docker.io';
const LEGACY_HUB_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function invalid(input: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid reference format: ${why} (in "${input}"); write it as [registry/]repository[:tag][@sha256:digest], e.g. 127.0.0.1:5000/web:1`);
}

/** Why a digest string is malformed, or undefined. Only the algorithms registries use are known. */
export function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon <= 0) return 'invalid digest format';
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) return `unsupported digest algorithm ${algorithm}`;
  if (!/^[a-f0-9]*$/.test(hex)) return 'invalid checksum digest format';
  if (hex.length !== length) return 'invalid checksum digest length';
  return undefined;
}

/**
 * Split a name into registry and repository path as Docker does: the first
 * component is a registry only when it looks like a host (has a dot or a port,
 * is `localhost`, or has uppercase letters); otherwise the name is on Docker Hub.
 */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === LEGACY_HUB_DOMAIN) domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path };
}

/** Parse and normalize a reference; a reference without tag or digest gets `latest`. */
export function parseReference(input: string): ImageReference {
  if (input === '') throw invalid(input, 'image reference must be provided');
  if (IMAGE_ID_HEX.test(input)) throw invalid(input, 'cannot specify 64-byte hexadecimal strings as an image name');
  const m = REFERENCE.exec(input);
  if (m === null) {
    if (REFERENCE.test(input.toLowerCase())) throw invalid(input, 'repository name must be lowercase');
    throw invalid(input, 'invalid reference format');
  }
  const name = m[1] ?? '';
  if (name.length > NAME_TOTAL_MAX) throw invalid(input, `repository name must not be more than ${NAME_TOTAL_MAX} characters`);
  const { domain, path } = splitDomain(name);
  // A path the domain split left with uppercase (`Foo/bar` is registry "Foo") is still refused.
  if (path.toLowerCase() !== path) throw invalid(input, 'repository name must be lowercase');
  const tag = m[2];
  const digest = m[3];
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem !== undefined) throw invalid(input, problem);
  }
  const ref: ImageReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** True when `s` is a valid tag on its own (for `docker tag`-style commands). */
export function isValidTag(s: string): boolean {
  return TAG_ONLY.test(s);
}

/** `domain/path`, the full repository name: `docker.io/library/busybox`. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The repository as Docker prints it: `busybox`, `user/app`, `127.0.0.1:5000/web`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DOCKER_HUB_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_PREFIX) && !ref.path.slice(OFFICIAL_PREFIX.length).includes('/')
    ? ref.path.slice(OFFICIAL_PREFIX.length)
    : ref.path;
}

function suffix(ref: ImageReference): string {
  return `${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The whole reference as Docker prints it: `busybox:latest`, `127.0.0.1:5000/web@sha256:...`. */
export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + suffix(ref);
}

/** The fully qualified reference: `docker.io/library/busybox:latest`. */
export function canonical(ref: ImageReference): string {
  return repositoryName(ref) + suffix(ref);
}

/**
 * The reference pinned to a digest, as `docker service create` writes a
 * service's image: `busybox:latest@sha256:...` (the tag stays for people to read).
 */
export function withDigest(ref: ImageReference, digest: string): string {
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new InvalidArgumentError(`cannot pin ${familiarString(ref)} to "${digest}": ${problem}`);
  return familiarString({ domain: ref.domain, path: ref.path, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), digest });
}

/** The same repository with a tag and no digest. */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!isValidTag(tag)) throw new InvalidArgumentError(`invalid tag "${tag}": use letters, digits, "_", "." and "-" (at most 128, not starting with "." or "-")`);
  return { domain: ref.domain, path: ref.path, tag };
}
