// Opening a node's storage: validate the options, bootstrap a brand-new
// founding member, and rebuild the in-memory log the core reads from what the
// disk holds (the etcd pattern: DiskStorage is the truth, MemoryStorage its mirror).
import { InvalidArgumentError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { MemoryStorage } from './log-storage.js';
import type { RaftNodeOptions } from './node-types.js';
import { DiskStorage, type DurableState } from './storage/disk-storage.js';
import { type HardState, isEmptyHardState, isEmptySnapshot, NONE, type Snapshot } from './types.js';

export interface OpenedStorage {
  disk: DiskStorage;
  mem: MemoryStorage;
  state: DurableState;
}

/**
 * Open the data directory, bootstrap it if it is new and a founder, and
 * restore the state machine from the newest snapshot. The entries after the
 * snapshot are replayed by the node itself, as committed entries.
 */
export async function openStorage(opts: RaftNodeOptions, log: Logger): Promise<OpenedStorage> {
  const { storage: disk, state } = await DiskStorage.open(opts.dataDir, {
    ...opts.storage,
    onWarning: (message) => log.warn({ dataDir: opts.dataDir }, message),
  });
  try {
    const recovered = await bootstrapIfNew(opts, disk, state, log);
    const mem = new MemoryStorage();
    if (recovered.snapshot && !isEmptySnapshot(recovered.snapshot)) {
      mem.applySnapshot(recovered.snapshot);
      opts.stateMachine.restore(recovered.snapshot.data);
    }
    mem.setHardState(recovered.hardState);
    mem.append(recovered.entries);
    return { disk, mem, state: recovered };
  } catch (err) {
    await disk.close().catch(() => undefined);
    throw err;
  }
}

export function validateOptions(opts: RaftNodeOptions): void {
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) {
      throw new InvalidArgumentError(`raft node option ${name} must be a positive integer, got ${v}`);
    }
  };
  if (!opts.id) throw new InvalidArgumentError('raft node option id must be a non-empty string');
  positive('tickMs', opts.tickMs);
  positive('electionTick', opts.electionTick);
  positive('heartbeatTick', opts.heartbeatTick);
  positive('snapshotEntries', opts.snapshotEntries);
  positive('maxBatchEntries', opts.maxBatchEntries);
  positive('maxPendingProposals', opts.maxPendingProposals);
  positive('maxPendingReads', opts.maxPendingReads);
  if (opts.compactionMargin !== undefined && (!Number.isSafeInteger(opts.compactionMargin) || opts.compactionMargin < 0)) {
    throw new InvalidArgumentError(`raft node option compactionMargin must be a non-negative integer, got ${opts.compactionMargin}`);
  }
  if ((opts.electionTick ?? 10) <= (opts.heartbeatTick ?? 1)) {
    throw new InvalidArgumentError('raft node option electionTick must be greater than heartbeatTick');
  }
  if (opts.bootstrap !== undefined) {
    if (!opts.bootstrap.includes(opts.id)) {
      throw new InvalidArgumentError(`the bootstrap member list (${opts.bootstrap.join(', ')}) must include this node's id ${opts.id}`);
    }
    if (new Set(opts.bootstrap).size !== opts.bootstrap.length) {
      throw new InvalidArgumentError(`the bootstrap member list (${opts.bootstrap.join(', ')}) has duplicates`);
    }
  }
}

/**
 * A brand-new founding member writes the cluster's first snapshot: index 1,
 * term 1, the founding voters. Every founder writes the same one, so their
 * logs agree from the start and the first election can begin at once.
 */
async function bootstrapIfNew(opts: RaftNodeOptions, disk: DiskStorage, state: DurableState, log: Logger): Promise<DurableState> {
  const fresh = isEmptyHardState(state.hardState) && isEmptySnapshot(state.snapshot) && state.entries.length === 0;
  if (!fresh) {
    if (opts.bootstrap) log.debug({ dataDir: opts.dataDir }, 'data directory holds state; bootstrap list ignored');
    return state;
  }
  if (!opts.bootstrap) return state;
  const snapshot: Snapshot = {
    metadata: { index: 1, term: 1, confState: { voters: [...opts.bootstrap], learners: [] } },
    data: opts.stateMachine.snapshot(),
  };
  const hardState: HardState = { term: 1, vote: NONE, commit: 1 };
  await disk.save({ hardState, entries: [], snapshot });
  log.info({ voters: opts.bootstrap }, 'bootstrapped a new cluster');
  return { hardState, snapshot, entries: [] };
}
