// A JSON file in the data root that a worker component rewrites as its state
// changes (the agent's task records, the sim executor's containers). Writes
// are atomic (temp file, fsync, rename, fsync of the directory: a crash
// leaves the old or the new content, never half) and coalesced: while one
// write runs, further save() calls only mark the state dirty, and one more
// write of the state as it is then follows. So a burst of a thousand changes
// costs two writes, and a write never lands after a newer one.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

let tmpCounter = 0;

export class StateFile<T> {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastError: unknown;

  /** @param snapshot the state to write, read when a write starts */
  constructor(
    readonly path: string,
    private readonly snapshot: () => T,
  ) {}

  /** The file's content, or undefined when there is none yet. Throws when it is not JSON. */
  async load(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new Error(`${this.path} is not valid JSON (${(err as Error).message}); remove it to start afresh`, { cause: err });
    }
  }

  /** Write the state soon; resolves once a write that includes this call's state is on disk. */
  save(): Promise<void> {
    this.dirty = true;
    if (!this.writing) this.writing = this.drain();
    return this.writing;
  }

  /** Resolves when no write is running or due. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** The last write failure, if the last write failed. */
  get error(): unknown {
    return this.lastError;
  }

  async remove(): Promise<void> {
    await this.flush();
    await rm(this.path, { force: true });
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await writeAtomic(this.path, JSON.stringify(this.snapshot()));
          this.lastError = undefined;
        } catch (err) {
          this.lastError = err;
          throw err;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
