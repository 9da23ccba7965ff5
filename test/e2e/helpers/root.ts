// Root-only tests (runc, mounts, cgroups) fail with this message instead of
// being skipped, so a run without root can never look like a pass.
import { access, constants } from 'node:fs/promises';

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} needs root (it runs containers with runc, mounts overlayfs and writes cgroups); run it as root, e.g. sudo node --test ...`);
  }
}

export async function requireRunc(bin = '/usr/sbin/runc'): Promise<void> {
  try {
    await access(bin, constants.X_OK);
  } catch {
    throw new Error(`${bin} not found; install runc (apt-get install runc) to run this test`);
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms` saying what it waited for. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
