// What a layer tar entry's name means for the unpacked layer directory: a path
// inside it (never outside), a whiteout of a name, or an opaque marker. Pure.
import { posix } from 'node:path';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
// aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`): meaningless to overlayfs.
const AUFS_META_PREFIX = '.wh..wh.';

export type EntryMeaning =
  | { kind: 'path'; path: string }
  | { kind: 'whiteout'; path: string }
  | { kind: 'opaque'; dir: string }
  | { kind: 'ignore' };

/**
 * The entry's path relative to the layer root ('' for the root itself), or a
 * reason to refuse the whole layer: absolute names and names that climb out
 * with `..` would write outside the layer.
 */
export function layerRelativePath(name: string): { path: string } | { refused: string } {
  if (name.startsWith('/')) return { refused: `absolute path "${name}"` };
  if (name.includes('\0')) return { refused: `path with a NUL byte "${name}"` };
  const norm = posix.normalize(name);
  if (norm === '..' || norm.startsWith('../')) return { refused: `path "${name}" leads outside the layer` };
  const trimmed = norm.replace(/\/+$/, '');
  return { path: trimmed === '.' || trimmed === '' ? '' : trimmed };
}

/** Interpret a (cleaned, relative) entry path, turning OCI whiteout names into what they stand for. */
export function entryMeaning(path: string): EntryMeaning {
  const base = posix.basename(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'path', path };
  const dir = posix.dirname(path);
  const parent = dir === '.' ? '' : dir;
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir: parent };
  if (base.startsWith(AUFS_META_PREFIX)) return { kind: 'ignore' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') return { kind: 'ignore' };
  return { kind: 'whiteout', path: parent === '' ? name : `${parent}/${name}` };
}

/** Every proper ancestor of a relative path, nearest the root first: `a/b/c` → `a`, `a/b`. */
export function ancestors(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i += 1) out.push(parts.slice(0, i).join('/'));
  return out;
}
