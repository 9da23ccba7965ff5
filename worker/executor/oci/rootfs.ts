// A container's directory, <data-root>/containers/<id>/: the OCI bundle
// (config.json and an empty rootfs/ that runc covers with an overlayfs of the
// image's layers, with upper/ and work/ beside it), the files mounted over
// /etc, the log directory, and what the monitor leaves there (pid,
// exit.json, runc.log).
//
// The overlay is mounted by runc inside the container's own mount namespace
// (a mount with destination "/" in config.json), not on the host: the host's
// mount table stays small (every new mount namespace copies it, so host
// mounts would make each container start slower than the last), nothing is
// left mounted when a container or the agent dies, and removing a container
// is deleting its directory.
import type { Stats } from 'node:fs';
import { lstat, mkdir, readFile, readlink, rm } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { ShoalError } from '../../../shared/errors.js';

export interface ContainerPaths {
  dir: string;
  rootfs: string;
  upper: string;
  work: string;
  /** An empty lower layer for images without any. */
  empty: string;
  logDir: string;
  config: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  pidFile: string;
  exitFile: string;
  runcLog: string;
}

export function containerPaths(containersDir: string, id: string): ContainerPaths {
  const dir = join(containersDir, id);
  return {
    dir,
    rootfs: join(dir, 'rootfs'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    empty: join(dir, 'empty'),
    logDir: join(dir, 'log'),
    config: join(dir, 'config.json'),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
    pidFile: join(dir, 'pid'),
    exitFile: join(dir, 'exit.json'),
    runcLog: join(dir, 'runc.log'),
  };
}

/** Mount points listed in /proc/self/mountinfo (field 5, octal escapes decoded). */
export function mountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.push(f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

export async function isMounted(path: string): Promise<boolean> {
  return mountPoints(await readFile('/proc/self/mountinfo', 'utf8')).includes(path);
}

/** The directory and its empty rootfs/, upper/, work/ and log/ (and empty/ for an image without layers). */
export async function makeContainerDirs(p: ContainerPaths, withEmptyLayer: boolean): Promise<void> {
  await mkdir(p.dir, { recursive: true, mode: 0o711 });
  const dirs = [p.rootfs, p.upper, p.work, p.logDir, ...(withEmptyLayer ? [p.empty] : [])];
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true, mode: 0o755 })));
}

/** Everything the container left. Refuses while something is mounted on its rootfs (left by hand or an old version). */
export async function removeContainerDir(p: ContainerPaths): Promise<void> {
  if (await isMounted(p.rootfs)) throw new ShoalError('still_mounted', `${p.rootfs} is still mounted; unmount it (umount ${p.rootfs}) and retry`, 500);
  await rm(p.dir, { recursive: true, force: true, maxRetries: 3 });
}

const MAX_LINKS = 8;

/**
 * A file of the image as the container will see it (the highest layer that
 * has it wins; a whiteout hides it), read without following any symlink out
 * of the layers: symlinks, the file's or a directory's on the way, are
 * resolved inside the image. Undefined when there is none.
 */
export async function readImageFile(layerDirs: readonly string[], path: string, links = 0): Promise<string | undefined> {
  const rel = posix.normalize(`/${path}`).slice(1);
  if (rel === '' || links > MAX_LINKS) return undefined;
  const parts = rel.split('/');
  layers: for (const layer of [...layerDirs].reverse()) {
    for (let i = 1; i <= parts.length; i++) {
      const here = join(layer, ...parts.slice(0, i));
      const st = await lstatOrUndefined(here);
      if (st === undefined) {
        // Deleted in this layer (OCI whiteout), or not in it: look lower.
        if (await exists(join(dirname(here), `.wh.${basename(here)}`))) return undefined;
        continue layers;
      }
      const last = i === parts.length;
      if (st.isSymbolicLink()) {
        const target = await readlink(here);
        const base = target.startsWith('/') ? target : posix.join(posix.dirname(`/${parts.slice(0, i).join('/')}`), target);
        return readImageFile(layerDirs, posix.join(base, ...parts.slice(i)), links + 1);
      }
      if (last) return st.isFile() ? readFile(here, 'utf8') : undefined;
      // A whiteout (character device 0:0) or a file where a directory should be: no such path.
      if (!st.isDirectory()) return undefined;
    }
  }
  return undefined;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstatOrUndefined(path)) !== undefined;
}
