// Managers pin a service's image tag to the digest its registry gives, so
// every node runs the same image (dockerd does this on service create and
// update). An unreachable registry leaves the tag; the API warns as Docker does.
import type { Logger } from '../../shared/logger.js';
import type { RegistryClient } from '../../shared/registry/client.js';
import { parseReference, withDigest } from '../../shared/registry/reference.js';
import { decodeRegistryAuth } from '../../shared/registry/x-registry-auth.js';
import type { ImagePinner } from '../../manager/control.js';

/** A registry that does not answer within this long is treated as unreachable: the create goes on with the tag. */
export const PIN_TIMEOUT_MS = 5000;

export function createImagePinner(client: RegistryClient, log: Logger): ImagePinner {
  return async (image, registryAuth) => {
    try {
      const ref = parseReference(image);
      const auth = registryAuth === undefined ? undefined : decodeRegistryAuth(registryAuth);
      const d = await client.resolve(ref, { ...(auth !== undefined ? { auth } : {}), signal: AbortSignal.timeout(PIN_TIMEOUT_MS) });
      return withDigest(ref, d.digest);
    } catch (err) {
      log.warn({ image, err: err instanceof Error ? err.message : String(err) }, 'unable to pin image to digest');
      return undefined;
    }
  };
}
