// The image reference grammar of distribution/reference, as regular-expression
// source pieces. Kept in one place so the manager's up-front validation and the
// registry client's parser can never disagree about what a reference is.

/** A path component: lowercase alphanumerics joined by ".", "_", "__" or runs of "-". */
export const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
/** A registry host: DNS-ish labels (any case) or a bracketed IPv6 address, then an optional port. */
export const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
export const TAG = '[\\w][\\w.-]{0,127}';
export const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

/** Groups: 1 = name (with any domain), 2 = tag, 3 = digest. */
export const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
export const TAG_ONLY = new RegExp(`^${TAG}$`);
export const NAME_TOTAL_MAX = 255;
/** What Docker refuses as a name because it would read as an image ID. */
export const IMAGE_ID_HEX = /^[a-f0-9]{64}$/;
