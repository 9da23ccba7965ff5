// Which executor a daemon runs tasks with (`shoal daemon --executor`).
import { join } from 'node:path';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Executor } from './executor.js';
import { SimExecutor } from './sim/sim-executor.js';
import type { ImageProvider } from '../image/types.js';
import type { NetworkDataPlane } from '../network/types.js';
import { OciExecutor } from './oci/oci-executor.js';
import { UnavailableExecutor } from './unavailable.js';

export const EXECUTOR_KINDS = ['oci', 'sim'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];
export const DEFAULT_EXECUTOR: ExecutorKind = 'oci';

export function isExecutorKind(v: string): v is ExecutorKind {
  return (EXECUTOR_KINDS as readonly string[]).includes(v);
}

export interface OpenExecutorOptions {
  dataRoot: string;
  clock: Clock;
  logger: Logger;
  /** Where the oci executor gets its images (the node's image store). */
  images: ImageProvider;
  /** The OCI runtime binary for oci: `runc` (default) or a path, e.g. to crun. */
  runtime?: string;
  /** Overlay networks for the oci executor's containers. */
  network?: NetworkDataPlane;
}

export async function openExecutor(kind: ExecutorKind, o: OpenExecutorOptions): Promise<Executor> {
  switch (kind) {
    case 'sim':
      return SimExecutor.open({ dataDir: join(o.dataRoot, 'sim'), clock: o.clock, logger: o.logger });
    case 'oci':
      try {
        const net = o.network;
        return await OciExecutor.open({
          dataRoot: o.dataRoot,
          images: o.images,
          logger: o.logger,
          clock: o.clock,
          ...(o.runtime !== undefined ? { runtime: o.runtime } : {}),
          ...(net !== undefined
            ? {
                network: async (task, containerId) =>
                  (task.NetworksAttachments?.length ?? 0) > 0 ? net.attach({ taskId: task.ID, containerId, attachments: task.NetworksAttachments! }) : undefined,
                releaseNetwork: (_taskId, containerId) => net.detach(containerId),
              }
            : {}),
        });
      } catch (err) {
        // A node that cannot run containers still takes part in the swarm (as a
        // manager, say); tasks placed on it are rejected with the reason.
        const why = err instanceof Error ? err.message : String(err);
        o.logger.error({ err: why }, 'the oci executor cannot run containers on this node; tasks placed here will be rejected');
        return new UnavailableExecutor('oci', why);
      }
  }
}
