// Image references as Docker parses them (distribution/reference's grammar): what
// `docker service create` accepts as IMAGE. Pure; used to refuse a spec up front
// instead of letting every worker fail to pull it.

// A path component: lowercase alphanumerics joined by ".", "_", "__" or runs of "-".
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
// A registry host: DNS-ish labels (any case), an optional port; or a bracketed IPv6 address.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_TOTAL_MAX = 255;

/** Why `image` is not a valid reference, or undefined when it is. */
export function imageReferenceProblem(image: string): string | undefined {
  if (image === '') return 'image reference must be provided';
  if (/^[a-f0-9]{64}$/.test(image)) return 'cannot specify 64-byte hexadecimal strings as an image name';
  const m = REFERENCE.exec(image);
  if (m === null) {
    // The most common slip gets its own words, as Docker does.
    if (REFERENCE.test(image.toLowerCase())) return 'repository name must be lowercase';
    return 'invalid reference format';
  }
  if ((m[1] ?? '').length > NAME_TOTAL_MAX) return `repository name must not be more than ${NAME_TOTAL_MAX} characters`;
  return undefined;
}
