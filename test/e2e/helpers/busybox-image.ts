// A fake ImageProvider for root tests: images made of layer directories
// built from the host's static busybox (/usr/bin/busybox), no registry
// needed. The base layer has /bin/busybox and its applets as symlinks; a
// second layer adds /etc/passwd and /etc/group, so images stack two layers
// as real ones do.
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfigFile, ImageRuntimeConfig, RegistryAuth } from '../../../shared/registry/types.js';
import type { ImageProvider, LocalImage, PullOptions } from '../../../worker/image/types.js';

const APPLETS = ['sh', 'sleep', 'echo', 'cat', 'hostname', 'ps', 'kill', 'true', 'false', 'id', 'touch', 'test', 'wget', 'ls', 'mkdir', 'rm', 'head', 'dd', 'seq'];

export const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n';
export const GROUP = 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app\n';

/** Builds the two layers under `dir`; returns them lowest first. */
export async function buildBusyboxLayers(dir: string, busybox = '/usr/bin/busybox'): Promise<string[]> {
  const base = join(dir, 'layer-busybox');
  const etc = join(dir, 'layer-etc');
  await mkdir(join(base, 'bin'), { recursive: true });
  await copyFile(busybox, join(base, 'bin', 'busybox'));
  await chmod(join(base, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) await symlink('busybox', join(base, 'bin', a)).catch(() => undefined);
  await mkdir(join(base, 'tmp'), { recursive: true, mode: 0o1777 });
  await chmod(join(base, 'tmp'), 0o1777);
  await mkdir(join(etc, 'etc'), { recursive: true });
  await writeFile(join(etc, 'etc', 'passwd'), PASSWD);
  await writeFile(join(etc, 'etc', 'group'), GROUP);
  return [base, etc];
}

export class FakeImages implements ImageProvider {
  readonly pulls: Array<{ ref: string; auth?: RegistryAuth }> = [];
  private readonly images = new Map<string, LocalImage>();

  constructor(private readonly layers: string[]) {}

  /** Registers `ref` as a busybox image with this runtime config. */
  add(ref: string, config: ImageRuntimeConfig = {}): LocalImage {
    const file: ImageConfigFile = {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...config },
      rootfs: { type: 'layers', diff_ids: [] },
    };
    const id = `sha256:${Buffer.from(ref).toString('hex').padEnd(64, '0').slice(0, 64)}`;
    const img: LocalImage = { id, manifestDigest: id, repoTags: [ref], repoDigests: [], config: file, layerDirs: this.layers, size: 0, pulledAt: Date.now() };
    this.images.set(ref, img);
    return img;
  }

  ensure(ref: string, opts?: PullOptions): Promise<LocalImage> {
    this.pulls.push({ ref, ...(opts?.auth !== undefined ? { auth: opts.auth } : {}) });
    const img = this.images.get(ref);
    if (img === undefined) return Promise.reject(new Error(`manifest for ${ref} not found: manifest unknown`));
    return Promise.resolve(img);
  }
}
