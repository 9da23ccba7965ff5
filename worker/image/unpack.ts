// Unpacking one layer blob into its own directory, ready to be an overlayfs
// lowerdir: entries written with their modes, ownership (when root), mtimes,
// symlinks and hardlinks; OCI whiteouts turned into overlay whiteouts; the
// uncompressed stream hashed and checked against the config's diff ID. Any
// entry that would land outside the layer (an absolute name, `..`, or a parent
// that is a symlink) refuses the whole layer, as Docker does.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, rm, stat, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ShoalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { ancestors, entryMeaning, layerRelativePath } from './layer-paths.js';
import type { WhiteoutMaker } from './whiteouts.js';

export interface UnpackOptions {
  /** The layer blob as downloaded. */
  file: string;
  /** From the descriptor's media type; 'detect' sniffs the gzip magic. */
  compression: 'gzip' | 'none' | 'detect';
  /** A directory to unpack into; it must be absent or empty (the writer tracks what it creates). */
  dest: string;
  /** The config's diff ID for this layer; the unpack fails when the content differs. */
  expectedDiffId?: string;
  whiteouts: WhiteoutMaker;
  /** Restore entry owners; defaults to whether we run as root. */
  preserveOwnership?: boolean;
  /** Bytes of the blob consumed so far, and its size (Docker's "Extracting" progress). */
  onProgress?: (current: number, total: number) => void;
  logger?: Logger;
  /** Names the layer in errors and logs. */
  label?: string;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  /** Bytes of regular-file content unpacked. */
  size: number;
  entries: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];

function refuse(label: string, why: string): ShoalError {
  return new ShoalError('layer_invalid', `layer ${label} contains an unsafe entry (${why}); refusing to unpack it — the image is malformed or malicious`, 500);
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

/** Writes one layer's entries; the tar parser feeds it one entry at a time, in order. */
class LayerWriter {
  /**
   * What exists in the layer so far, by relative path. The layer starts empty
   * and only we write to it, so this answers "is something there?" without a
   * syscall per entry (which mattered: unpacking is mostly waiting on them).
   */
  private readonly present = new Map<string, 'dir' | 'other'>();
  private readonly symlinks = new Set<string>();
  private readonly dirMeta = new Map<string, { mode: number; atime: Date; mtime: Date }>();
  size = 0;
  entries = 0;

  constructor(
    private readonly root: string,
    private readonly opts: UnpackOptions,
    private readonly label: string,
    private readonly chown: boolean,
    /** Resolves when the unpack has failed and the remaining entries will never complete. */
    private readonly abandoned: Promise<void>,
  ) {}

  async write(entry: ReadEntry): Promise<void> {
    const rel = layerRelativePath(entry.path);
    if ('refused' in rel) throw refuse(this.label, rel.refused);
    if (rel.path === '') return drain(entry, this.abandoned); // the layer root itself: its directory is ours
    this.checkParents(rel.path);
    this.entries += 1;
    const meaning = entryMeaning(rel.path);
    switch (meaning.kind) {
      case 'ignore':
        return drain(entry, this.abandoned);
      case 'opaque': {
        await drain(entry, this.abandoned);
        if (meaning.dir !== '') {
          await this.makeRoomFor(meaning.dir, true);
          await this.ensureDir(meaning.dir);
        }
        await this.opts.whiteouts.opaque(join(this.root, meaning.dir));
        return;
      }
      case 'whiteout': {
        await drain(entry, this.abandoned);
        await this.makeRoomFor(meaning.path, false);
        await this.ensureParent(meaning.path);
        await this.opts.whiteouts.whiteout(join(this.root, meaning.path));
        this.present.set(meaning.path, 'other');
        return;
      }
      case 'path':
        return this.writePath(entry, meaning.path);
    }
  }

  /** Directory modes and times last: creating entries inside a directory changes its mtime. */
  async finish(): Promise<void> {
    for (const [dir, meta] of this.dirMeta) {
      await chmod(dir, meta.mode);
      await utimes(dir, meta.atime, meta.mtime);
    }
  }

  private async writePath(entry: ReadEntry, rel: string): Promise<void> {
    const abs = join(this.root, rel);
    const mode = (entry.mode ?? 0o644) & 0o7777;
    const mtime = entry.mtime ?? new Date(0);
    const atime = entry.atime ?? mtime;
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        await this.makeRoomFor(rel, false);
        await this.ensureParent(rel);
        const fh = await open(abs, 'wx', 0o600);
        this.present.set(rel, 'other');
        try {
          for await (const chunk of chunksOf(entry, this.abandoned)) await fh.write(chunk);
          if (this.chown) await fh.chown(entry.uid ?? 0, entry.gid ?? 0);
          await fh.chmod(mode); // after chown, which clears setuid bits
          await fh.utimes(atime, mtime);
        } finally {
          await fh.close();
        }
        this.size += entry.size;
        return;
      }
      case 'Directory': {
        await drain(entry, this.abandoned);
        await this.makeRoomFor(rel, true);
        await this.ensureDir(rel);
        if (this.chown) await lchown(abs, entry.uid ?? 0, entry.gid ?? 0);
        this.dirMeta.set(abs, { mode, atime, mtime });
        return;
      }
      case 'SymbolicLink': {
        await drain(entry, this.abandoned);
        await this.makeRoomFor(rel, false);
        await this.ensureParent(rel);
        await symlink(entry.linkpath ?? '', abs);
        this.present.set(rel, 'other');
        this.symlinks.add(rel);
        if (this.chown) await lchown(abs, entry.uid ?? 0, entry.gid ?? 0);
        await lutimes(abs, atime, mtime);
        return;
      }
      case 'Link': {
        await drain(entry, this.abandoned);
        const target = layerRelativePath(entry.linkpath ?? '');
        if ('refused' in target || target.path === '') throw refuse(this.label, `hardlink ${rel} to ${'refused' in target ? target.refused : 'the layer root'}`);
        this.checkParents(target.path);
        if (this.present.get(target.path) !== 'other') {
          throw new ShoalError('layer_invalid', `layer ${this.label} hardlinks ${rel} to ${target.path}, which is not a file earlier in the same layer; the image is malformed`, 500);
        }
        if (target.path === rel) return;
        await this.makeRoomFor(rel, false);
        await this.ensureParent(rel);
        await link(join(this.root, target.path), abs);
        this.present.set(rel, 'other');
        if (this.symlinks.has(target.path)) this.symlinks.add(rel);
        return;
      }
      default:
        // Devices and FIFOs need mknod; containers get /dev from the runtime, so they are skipped.
        await drain(entry, this.abandoned);
        this.opts.logger?.debug({ layer: this.label, path: rel, type: entry.type }, 'skipping layer entry of unsupported type');
    }
  }

  /** A parent that is a symlink would redirect the write anywhere, so it refuses the layer. */
  private checkParents(rel: string): void {
    for (const a of ancestors(rel)) {
      if (this.symlinks.has(a)) throw refuse(this.label, `"${rel}" goes through the symlink "${a}"`);
    }
  }

  /** Create `rel` as a directory unless it is one; parents missing from the tar are made 0755. */
  private async ensureDir(rel: string): Promise<void> {
    if (this.present.get(rel) === 'dir') return;
    await this.ensureParent(rel);
    await mkdir(join(this.root, rel), { mode: 0o755 });
    this.present.set(rel, 'dir');
  }

  private async ensureParent(rel: string): Promise<void> {
    const parent = posix.dirname(rel);
    if (parent === '.' || this.present.get(parent) === 'dir') return;
    // Whatever is in the way of an implicit parent (a file of that name) is replaced by it.
    await this.makeRoomFor(parent, true);
    await this.ensureDir(parent);
  }

  /**
   * Clear `rel` for a new entry: a later entry replaces an earlier one of the
   * same name, except that a directory over a directory keeps it.
   */
  private async makeRoomFor(rel: string, asDir: boolean): Promise<void> {
    const kind = this.present.get(rel);
    if (kind === undefined || (asDir && kind === 'dir')) return;
    await rm(join(this.root, rel), { recursive: true, force: true });
    const abs = join(this.root, rel);
    for (const p of [...this.present.keys()]) if (p === rel || p.startsWith(`${rel}/`)) this.present.delete(p);
    for (const s of [...this.symlinks]) if (s === rel || s.startsWith(`${rel}/`)) this.symlinks.delete(s);
    for (const d of [...this.dirMeta.keys()]) if (d === abs || d.startsWith(`${abs}/`)) this.dirMeta.delete(d);
  }
}

/**
 * An entry's body, chunk by chunk, until it ends or the unpack is abandoned
 * (a destroyed entry does not always wake a reader already between reads).
 */
async function* chunksOf(entry: ReadEntry, abandoned: Promise<void>): AsyncGenerator<Buffer> {
  const it = entry[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([it.next(), abandoned.then(() => undefined)]);
    if (next === undefined) throw new Error('unpacking was abandoned');
    if (next.done === true) return;
    yield next.value;
  }
}

/**
 * Consume an entry's body we do not keep, so the parser moves on. Resolves
 * early when the unpack is abandoned: a failed stream never ends its last entry.
 */
async function drain(entry: ReadEntry, abandoned: Promise<void>): Promise<void> {
  if (entry.emittedEnd) return;
  await Promise.race([
    new Promise<void>((resolve) => {
      entry.once('end', () => resolve());
      entry.resume();
    }),
    abandoned,
  ]);
}

/** Unpack a layer blob into `dest` and return its diff ID and size. */
export async function unpackLayer(opts: UnpackOptions): Promise<UnpackResult> {
  const label = opts.label ?? opts.expectedDiffId ?? opts.file;
  const total = (await stat(opts.file)).size;
  const gzip = opts.compression === 'gzip' || (opts.compression === 'detect' && (await isGzip(opts.file)));
  await mkdir(opts.dest, { recursive: true, mode: 0o755 });
  const chown = opts.preserveOwnership ?? process.getuid?.() === 0;

  let consumed = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      consumed += chunk.length;
      opts.onProgress?.(consumed, total);
      cb(null, chunk);
    },
  });
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });

  // Entries are written strictly one after another: the parser hands over the
  // next entry only once this one's body is consumed, and metadata-only entries
  // queue on this chain. On failure the pipeline is aborted and entries still
  // open are destroyed, so nothing waits for data that will never come.
  const abort = new AbortController();
  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
    abort.abort(err);
  };
  let abandon: () => void = () => undefined;
  const abandoned = new Promise<void>((resolve) => {
    abandon = resolve;
  });
  const writer = new LayerWriter(opts.dest, opts, label, chown, abandoned);
  const live = new Set<ReadEntry>();
  let chain: Promise<void> = Promise.resolve();
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    live.add(entry);
    entry.once('end', () => live.delete(entry));
    chain = chain.then(async () => {
      if (failure !== undefined) return drain(entry, abandoned);
      try {
        await writer.write(entry);
      } catch (err) {
        fail(err);
        await drain(entry, abandoned);
      }
    });
  });
  const parserDone = new Promise<void>((resolve, reject) => {
    parser.once('end', () => resolve());
    parser.once('error', (err: Error) => reject(err));
  });
  // A malformed archive (strict mode) stops everything, even while the sink waits for 'drain'.
  parserDone.catch((err: unknown) => fail(err));
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (parser.write(chunk)) cb();
      else parser.once('drain', () => cb());
    },
    final(cb) {
      parser.end();
      parserDone.then(
        () => cb(),
        (err: unknown) => cb(err as Error),
      );
    },
  });

  try {
    const stages = gzip ? [counter, createGunzip(), hasher, sink] : [counter, hasher, sink];
    await pipeline([createReadStream(opts.file), ...stages], { signal: abort.signal });
    await chain;
    if (failure !== undefined) throw failure;
    await writer.finish();
  } catch (err) {
    failure ??= err; // before abandoning, which makes the writer fail too
    abandon();
    for (const entry of live) entry.destroy();
    await chain.catch(() => undefined);
    const cause = failure;
    if (cause instanceof ShoalError) throw cause;
    throw new ShoalError('layer_invalid', `cannot unpack layer ${label}: ${(cause as Error).message}; the download may be corrupt — remove the image and pull again`, 500, { cause });
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  if (opts.expectedDiffId !== undefined && diffId !== opts.expectedDiffId) {
    throw new ShoalError('digest_mismatch', `layer verification failed: the unpacked content of ${label} hashes to ${diffId}, but the image config says ${opts.expectedDiffId}`, 500);
  }
  return { diffId, size: writer.size, entries: writer.entries };
}
