// How `shoal image ls` shows images: docker's image table (cli/command/formatter/image.go),
// one row per repository tag, `<none>` for untagged images, sizes in go-units' decimal
// units. Pure functions of the API's ImageSummary objects.

import type { ImageSummary } from '../../manager/api/image-types.js';
import { familiarName, parseReference } from '../../shared/registry/reference.js';
import { formatTable } from './tabwriter.js';
import { humanDuration } from './units.js';

const NONE = '<none>';

/** One line of the table: an image as one of its repository names shows it. */
export interface ImageRow {
  repository: string;
  tag: string;
  digest: string;
  image: ImageSummary;
}

/** docker's stringid.TruncateID: the hex after the algorithm, cut to 12. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  return (colon === -1 ? id : id.slice(colon + 1)).slice(0, 12);
}

/**
 * Go's `%.{precision}g`: `precision` significant digits, trailing zeros dropped,
 * exponent form (`1e+03`) when the rounded exponent is < -4 or >= precision.
 */
export function formatG(value: number, precision: number): string {
  if (value === 0) return '0';
  const [mantissa = '', exponentText] = value.toExponential(precision - 1).split('e');
  const exponent = Number(exponentText);
  const trimZeros = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exponent < -4 || exponent >= precision) {
    const abs = Math.abs(exponent);
    return `${trimZeros(mantissa)}e${exponent < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : String(abs)}`;
  }
  return trimZeros(value.toFixed(Math.max(0, precision - 1 - exponent)));
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'] as const;

/** go-units HumanSizeWithPrecision: decimal units, e.g. 1234567 -> "1.23MB" (precision 3). */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${formatG(size, precision)}${DECIMAL_UNITS[i]}`;
}

/** docker's CreatedSince: "2 days ago", "About an hour ago" (`Created` is Unix seconds). */
export function createdSince(createdSeconds: number, nowMs: number): string {
  return `${humanDuration((nowMs - createdSeconds * 1000) * 1e6)} ago`;
}

/** docker's isDangling: nothing names the image. */
function isDangling(img: ImageSummary): boolean {
  if (img.RepoTags.length === 0 && img.RepoDigests.length === 0) return true;
  return img.RepoTags.length === 1 && img.RepoTags[0] === '<none>:<none>' && img.RepoDigests.length === 1 && img.RepoDigests[0] === '<none>@<none>';
}

/** `[familiar repository, tag or digest]` of a RepoTags/RepoDigests entry; undefined when it is not of that kind. */
function splitRef(refString: string, kind: 'tag' | 'digest'): [string, string] | undefined {
  let ref;
  try {
    ref = parseReference(refString);
  } catch {
    return undefined; // docker skips what it cannot parse
  }
  if (kind === 'digest') return ref.digest === undefined ? undefined : [familiarName(ref), ref.digest];
  // parseReference supplies "latest" to a bare name; docker wants a tag that is really there.
  if (ref.digest !== undefined || ref.tag === undefined || !refString.endsWith(`:${ref.tag}`)) return undefined;
  return [familiarName(ref), ref.tag];
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * docker's imageFormatTaggedAndDigest: a row per tag (per tag and digest with
 * `digests`), then rows for repositories known only by digest. Repositories keep
 * the order the daemon gave (docker walks a Go map, so its order varies).
 */
export function imageRows(images: readonly ImageSummary[], digests = false): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const image of images) {
    if (isDangling(image)) {
      rows.push({ repository: NONE, tag: NONE, digest: NONE, image });
      continue;
    }
    const tags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const r of image.RepoTags) {
      const split = splitRef(r, 'tag');
      if (split !== undefined) push(tags, split[0], split[1]);
    }
    for (const r of image.RepoDigests) {
      const split = splitRef(r, 'digest');
      if (split !== undefined) push(repoDigests, split[0], split[1]);
    }
    for (const [repository, repoTags] of tags) {
      const ds = digests ? (repoDigests.get(repository) ?? []) : [];
      repoDigests.delete(repository);
      for (const tag of repoTags) {
        if (ds.length === 0) rows.push({ repository, tag, digest: NONE, image });
        else for (const digest of ds) rows.push({ repository, tag, digest, image });
      }
    }
    for (const [repository, ds] of repoDigests) {
      if (digests) for (const digest of ds) rows.push({ repository, tag: NONE, digest, image });
      else rows.push({ repository, tag: NONE, digest: '', image });
    }
  }
  return rows;
}

export interface ImageTableOptions {
  /** The DIGEST column (`--digests`). */
  digests?: boolean;
  /** Full IDs (`--no-trunc`). */
  noTrunc?: boolean;
  /** Unix ms "now" for the CREATED column. */
  now: number;
}

function shownId(id: string, noTrunc: boolean | undefined): string {
  return noTrunc === true ? id : truncateId(id);
}

/** `docker image ls`: the header even when there are no images. */
export function formatImageTable(images: readonly ImageSummary[], opts: ImageTableOptions): string {
  const header = opts.digests === true ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const rows = imageRows(images, opts.digests).map((r) => {
    const cells = [r.repository, r.tag];
    if (opts.digests === true) cells.push(r.digest);
    cells.push(shownId(r.image.Id, opts.noTrunc), createdSince(r.image.Created, opts.now), humanSizeWithPrecision(r.image.Size, 3));
    return cells;
  });
  return formatTable([header, ...rows]);
}

/** `docker image ls -q`: an ID per row, so an image with two tags shows twice, as in docker. */
export function formatImageIds(images: readonly ImageSummary[], opts: { noTrunc?: boolean } = {}): string {
  return imageRows(images)
    .map((r) => `${shownId(r.image.Id, opts.noTrunc)}\n`)
    .join('');
}
