// Which executor a daemon runs tasks with (`shoal daemon --executor`).
import { join } from 'node:path';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Executor } from './executor.js';
import { SimExecutor } from './sim/sim-executor.js';
import { UnavailableExecutor } from './unavailable.js';

export const EXECUTOR_KINDS = ['oci', 'sim'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];
export const DEFAULT_EXECUTOR: ExecutorKind = 'oci';

export const OCI_UNAVAILABLE_MESSAGE = 'executor oci is not available yet; run the daemon with --executor sim';

export function isExecutorKind(v: string): v is ExecutorKind {
  return (EXECUTOR_KINDS as readonly string[]).includes(v);
}

export async function openExecutor(kind: ExecutorKind, o: { dataRoot: string; clock: Clock; logger: Logger }): Promise<Executor> {
  switch (kind) {
    case 'sim':
      return SimExecutor.open({ dataDir: join(o.dataRoot, 'sim'), clock: o.clock, logger: o.logger });
    case 'oci':
      return new UnavailableExecutor('oci', OCI_UNAVAILABLE_MESSAGE);
  }
}
