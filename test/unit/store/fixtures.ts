// Builders for store tests: Docker-shaped objects, entries, and a proposer
// that applies synchronously to several replicas, as a perfect Raft would.
import { EntryType, type Entry } from '../../../manager/raft/types.js';
import type { Proposer } from '../../../manager/store/replicated-store.js';
import type { MemoryStore } from '../../../manager/store/memory-store.js';
import { encodeTransaction, type Draft } from '../../../manager/store/transaction.js';
import { type Tx, tx } from '../../../manager/store/tx-builder.js';
import type { ClusterRecord, NodeRecord } from '../../../shared/model/index.js';

export const T0 = '2024-05-01T12:00:00.000000000Z';
export const T1 = '2024-05-01T12:00:01.000000000Z';

export function nodeDraft(id: string, over: { peer?: string; raftId?: number; role?: 'worker' | 'manager'; hostname?: string } = {}): Draft<NodeRecord> {
  return {
    ID: id,
    Spec: { Role: over.role ?? 'worker', Availability: 'active', Labels: {} },
    Description: {
      Hostname: over.hostname ?? `host-${id}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4_000_000_000, MemoryBytes: 8 << 30 },
      Engine: { EngineVersion: '0.1.0' },
    },
    Status: { State: 'ready', Addr: '10.0.0.1' },
    Internal: { PeerID: over.peer ?? `peer-${id}`, Multiaddr: '/ip4/10.0.0.1/tcp/2377', RaftID: over.raftId ?? 0 },
  };
}

export function clusterDraft(id = 'swarm1'): Draft<ClusterRecord> {
  return {
    ID: id,
    Spec: { Name: 'default', Labels: {} },
    JoinTokens: { Worker: '', Manager: '' },
    TLSInfo: {},
    RootRotationInProgress: false,
    DataPathPort: 4789,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    Internal: {
      Fingerprint: 'f'.repeat(50),
      WorkerSecret: 'w'.repeat(25),
      ManagerSecret: 'm'.repeat(25),
      ClusterKey: new Uint8Array([1, 2, 3]),
      ClusterPublicKey: new Uint8Array([4, 5, 6]),
    },
  };
}

export function entry(index: number, data: Uint8Array, term = 1): Entry {
  return { term, index, type: EntryType.Normal, data };
}

/** The entry bytes of a transaction built by `build`. */
export function txBytes(build: (t: Tx) => void, time = T0): Uint8Array {
  const t = tx();
  build(t);
  return encodeTransaction({ time, ops: t.ops });
}

/** Apply to every replica; all must agree on success or on the error message. Returns the first replica's outcome. */
export function applyAll(stores: readonly MemoryStore[], e: Entry): { result?: unknown; error?: unknown } {
  const outcomes = stores.map((s) => {
    try {
      return { result: s.apply(e) };
    } catch (error) {
      return { error };
    }
  });
  const shape = (o: { result?: unknown; error?: unknown }): string => (o.error instanceof Error ? `error:${o.error.name}:${o.error.message}` : 'ok');
  const first = shape(outcomes[0]!);
  for (const o of outcomes) if (shape(o) !== first) throw new Error(`replicas disagree: ${first} vs ${shape(o)}`);
  return outcomes[0]!;
}

/** A perfect Raft: every proposal commits at the next index on every replica, synchronously. */
export class FakeProposer implements Proposer {
  index = 0;
  reads = 0;
  readonly proposals: Uint8Array[] = [];

  constructor(readonly replicas: readonly MemoryStore[]) {}

  propose(data: Uint8Array): Promise<unknown> {
    this.proposals.push(data);
    const outcome = applyAll(this.replicas, entry(++this.index, data));
    return 'error' in outcome ? Promise.reject(outcome.error) : Promise.resolve(outcome.result);
  }

  read(): Promise<void> {
    this.reads++;
    return Promise.resolve();
  }
}
