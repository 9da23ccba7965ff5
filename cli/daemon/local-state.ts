// What a daemon remembers about its swarm membership between restarts
// (<data-root>/swarm.json). Raft's own state lives beside it in raft/.
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ShoalError } from '../../shared/errors.js';
import type { NodeRole } from '../../shared/model/index.js';
import { parseManagerPeer, type ManagerPeer } from '../../shared/protocol/cluster.js';

export interface LocalState {
  nodeId: string;
  clusterId: string;
  role: NodeRole;
  /** Nonzero while this node runs (or should run) a Raft member. */
  raftId: number;
  /** host:port the cluster listener binds. */
  listenAddr: string;
  /** host:port other nodes reach this one at. */
  advertiseAddr: string;
  managers: ManagerPeer[];
}

const FILE = 'swarm.json';
let tmpCounter = 0;

export async function loadLocalState(dataRoot: string): Promise<LocalState | undefined> {
  const file = join(dataRoot, FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    // A missing field must not become the string "undefined" (a node id no manager knows).
    const field = (k: string): string => {
      const x = v[k];
      if (typeof x !== 'string' || x === '') throw new Error(`${k} is missing`);
      return x;
    };
    const role = v['role'];
    if (role !== 'manager' && role !== 'worker') throw new Error('role must be "manager" or "worker"');
    const raftId = v['raftId'] ?? 0;
    if (typeof raftId !== 'number' || !Number.isSafeInteger(raftId) || raftId < 0) throw new Error('raftId must be a non-negative integer');
    const s: LocalState = {
      nodeId: field('nodeId'),
      clusterId: field('clusterId'),
      role,
      raftId,
      listenAddr: field('listenAddr'),
      advertiseAddr: field('advertiseAddr'),
      managers: Array.isArray(v['managers']) ? v['managers'].map(parseManagerPeer) : [],
    };
    return s;
  } catch (err) {
    throw new ShoalError('corrupt_state', `${file} is corrupt (${(err as Error).message}); fix or remove it, then restart`, 500, { cause: err });
  }
}

/** Written to a temp file, fsynced, renamed: a crash leaves the old or the new state, never half. */
export async function saveLocalState(dataRoot: string, state: LocalState): Promise<void> {
  const file = join(dataRoot, FILE);
  // A name of its own per write: two writers never rename each other's file away.
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(state, null, 2));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function clearLocalState(dataRoot: string): Promise<void> {
  await rm(join(dataRoot, FILE), { force: true });
}
