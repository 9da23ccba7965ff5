// The few file-system operations whose durability the storage relies on. A
// rename or unlink is only durable once the directory holding it is fsynced;
// forgetting that is the classic way to lose a "committed" file on power loss.

import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Storage files hold the cluster's state and secrets: owner only. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Makes a rename, create or unlink inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` (and missing parents) owner-only. When it did not exist, the
 * parent is fsynced too, or a crash could forget the directory along with
 * everything later made durable inside it.
 */
export async function ensureDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const firstCreated = await mkdir(target, { recursive: true, mode: DIR_MODE });
  if (firstCreated === undefined) return;
  // Each newly created level is an entry in its parent: fsync every parent
  // from the deepest up to the one that already existed.
  const top = resolve(firstCreated);
  for (let level = target; ; level = dirname(level)) {
    await fsyncDir(dirname(level));
    if (level === top || dirname(level) === level) break;
  }
}

/** Writes all of `data` at `position`; a single write may be short. */
export async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at offset ${position + done}`);
    done += bytesWritten;
  }
}

/** Removes `path`; a file that is already gone is what the caller wanted. */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT';
}
