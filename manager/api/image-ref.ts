// Image references as Docker parses them (distribution/reference's grammar): what
// `docker service create` accepts as IMAGE. Pure; used to refuse a spec up front
// instead of letting every worker fail to pull it.
import { IMAGE_ID_HEX, NAME_TOTAL_MAX, REFERENCE } from '../../shared/registry/grammar.js';

/** Why `image` is not a valid reference, or undefined when it is. */
export function imageReferenceProblem(image: string): string | undefined {
  if (image === '') return 'image reference must be provided';
  if (IMAGE_ID_HEX.test(image)) return 'cannot specify 64-byte hexadecimal strings as an image name';
  const m = REFERENCE.exec(image);
  if (m === null) {
    // The most common slip gets its own words, as Docker does.
    if (REFERENCE.test(image.toLowerCase())) return 'repository name must be lowercase';
    return 'invalid reference format';
  }
  if ((m[1] ?? '').length > NAME_TOTAL_MAX) return `repository name must not be more than ${NAME_TOTAL_MAX} characters`;
  return undefined;
}
