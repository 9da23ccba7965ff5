// Overlayfs whiteouts. An OCI layer deletes NAME with an empty file `.wh.NAME`
// and hides a directory's lower contents with `.wh..wh..opq`; overlayfs wants a
// character device 0:0 named NAME and the xattr trusted.overlay.opaque=y on
// the directory. Node can do neither (no mknod, no setxattr), so the real maker
// runs small programs; tests use a recording maker and need no root.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ShoalError } from '../../shared/errors.js';

const run = promisify(execFile);

export interface WhiteoutMaker {
  /** Make `path` an overlay whiteout (character device 0:0). `path` does not exist. */
  whiteout(path: string): Promise<void>;
  /** Mark the existing directory `dir` opaque for overlayfs. */
  opaque(dir: string): Promise<void>;
}

async function onPath(program: string, pathEnv = process.env['PATH'] ?? ''): Promise<string | undefined> {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

const PYTHON_SETXATTR = 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")';

/**
 * Whiteouts with `mknod PATH c 0 0`, opaque directories with `setfattr` (Debian's
 * `attr` package) or, when that is missing, `python3`'s os.setxattr. Both need root
 * (CAP_MKNOD, CAP_SYS_ADMIN for trusted.* xattrs).
 */
export class ShellWhiteoutMaker implements WhiteoutMaker {
  private opaqueTool: Promise<{ kind: 'setfattr' | 'python3'; path: string }> | undefined;

  /** Which program sets the opaque xattr here: 'setfattr' or 'python3' (for logs and reports). */
  async opaqueMethod(): Promise<'setfattr' | 'python3'> {
    return (await this.tool()).kind;
  }

  async whiteout(path: string): Promise<void> {
    try {
      await run('mknod', [path, 'c', '0', '0']);
    } catch (err) {
      throw new ShoalError('layer_unpack_failed', `cannot create the overlay whiteout ${path} with mknod (${stderrOf(err)}); unpacking image layers needs root`, 500, { cause: err });
    }
  }

  async opaque(dir: string): Promise<void> {
    const tool = await this.tool();
    try {
      if (tool.kind === 'setfattr') await run(tool.path, ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
      else await run(tool.path, ['-c', PYTHON_SETXATTR, dir]);
    } catch (err) {
      throw new ShoalError(
        'layer_unpack_failed',
        `cannot mark ${dir} opaque (xattr trusted.overlay.opaque) with ${tool.kind} (${stderrOf(err)}); unpacking image layers needs root and a filesystem with xattrs`,
        500,
        { cause: err },
      );
    }
  }

  private tool(): Promise<{ kind: 'setfattr' | 'python3'; path: string }> {
    this.opaqueTool ??= (async () => {
      const setfattr = await onPath('setfattr');
      if (setfattr !== undefined) return { kind: 'setfattr' as const, path: setfattr };
      // Debian's python3 rather than whatever a version manager puts first on PATH.
      for (const candidate of ['/usr/bin/python3', await onPath('python3')]) {
        if (candidate === undefined) continue;
        try {
          await access(candidate, constants.X_OK);
          return { kind: 'python3' as const, path: candidate };
        } catch {
          // try the next
        }
      }
      throw new ShoalError('layer_unpack_failed', 'neither setfattr nor python3 is installed, and one is needed to unpack image layers with opaque directories: apt-get install attr', 500);
    })();
    // A failed lookup is not cached: the operator may install the package and retry.
    this.opaqueTool.catch(() => {
      this.opaqueTool = undefined;
    });
    return this.opaqueTool;
  }
}

function stderrOf(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim() !== '') return stderr.trim();
  return err instanceof Error ? err.message : String(err);
}
