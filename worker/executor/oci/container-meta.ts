// meta.json in a container's directory: which task it runs and what the
// executor decided at prepare, so an agent started again finds its
// containers (the task → container mapping) and what it needs to stop,
// check and remove them without the image at hand. Rewritten by rename, not
// fsynced: after a machine crash the containers are gone anyway.
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HealthSettings } from './health.js';
import type { LogRotation } from './json-log.js';
import { CONTAINER_ID } from './monitor-protocol.js';
import type { VolumeUse } from './spec.js';

export interface ContainerMeta {
  taskId: string;
  containerId: string;
  /** Docker's image ID (config digest), for the image GC. */
  imageId: string;
  /** The reference the task named. */
  image: string;
  /** Unix ms. */
  createdAt: number;
  /** Everything prepare does is done (a crash midway leaves false). */
  prepared: boolean;
  health?: HealthSettings;
  /** The image's StopSignal, used when the service names none. */
  imageStopSignal?: string;
  volumes: VolumeUse[];
  log: LogRotation;
}

export const META_FILE = 'meta.json';

export async function writeMeta(dir: string, m: ContainerMeta): Promise<void> {
  const path = join(dir, META_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(m));
  await rename(`${path}.tmp`, path);
}

function isMeta(v: unknown): v is ContainerMeta {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o['taskId'] === 'string' &&
    typeof o['containerId'] === 'string' &&
    CONTAINER_ID.test(o['containerId']) &&
    typeof o['imageId'] === 'string' &&
    typeof o['prepared'] === 'boolean' &&
    Array.isArray(o['volumes']) &&
    typeof o['log'] === 'object' &&
    o['log'] !== null
  );
}

/** Every container directory's meta; directories without a readable one are listed apart. */
export async function loadMetas(containersDir: string): Promise<{ metas: ContainerMeta[]; strays: string[] }> {
  const metas: ContainerMeta[] = [];
  const strays: string[] = [];
  let names: string[];
  try {
    names = await readdir(containersDir);
  } catch {
    return { metas, strays };
  }
  for (const name of names) {
    if (!CONTAINER_ID.test(name)) continue;
    try {
      const v = JSON.parse(await readFile(join(containersDir, name, META_FILE), 'utf8')) as unknown;
      if (isMeta(v) && v.containerId === name) metas.push(v);
      else strays.push(name);
    } catch {
      strays.push(name);
    }
  }
  return { metas, strays };
}
