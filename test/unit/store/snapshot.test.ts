import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from '../../../manager/store/codec.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { SnapshotError } from '../../../manager/store/snapshot.js';
import { createLogger } from '../../../shared/logger.js';
import { clusterDraft, entry, nodeDraft, T1, txBytes } from './fixtures.js';

const silent = createLogger({ level: 'silent' });

function populated(): MemoryStore {
  const s = new MemoryStore({ logger: silent });
  s.apply(entry(1, txBytes((t) => {
    t.cluster.create(clusterDraft());
    t.nodes.create(nodeDraft('m1', { role: 'manager', raftId: 1, hostname: 'alpha' }));
    t.nodes.create(nodeDraft('w1', { hostname: 'alpha' }));
    t.nodes.create(nodeDraft('w2', { hostname: 'beta' }));
  })));
  s.apply(entry(5, txBytes((t) => t.nodes.update(nodeDraft('w2', { hostname: 'gamma' }), 1), T1)));
  s.apply(entry(6, txBytes((t) => t.nodes.delete('w1'))));
  return s;
}

test('snapshot and restore round-trip: objects, versions, times and applied index kept, indexes rebuilt', () => {
  const a = populated();
  const bytes = a.snapshot();
  const b = new MemoryStore({ logger: silent });
  b.restore(bytes);
  assert.equal(b.appliedIndex, 6);
  assert.deepEqual(b.list('nodes'), a.list('nodes'));
  assert.deepEqual(b.get('cluster', 'swarm1'), a.get('cluster', 'swarm1'));
  const w2 = b.get('nodes', 'w2')!;
  assert.deepEqual(w2.Version, { Index: 5 });
  assert.equal(w2.UpdatedAt, T1);
  assert.equal(b.lookup('nodes', 'raftId', 1)!.ID, 'm1');
  assert.equal(b.lookup('nodes', 'peerId', 'peer-w2')!.ID, 'w2');
  assert.deepEqual(b.find('nodes', 'hostname', 'alpha').map((n) => n.ID), ['m1']);
  assert.deepEqual(b.find('nodes', 'hostname', 'gamma').map((n) => n.ID), ['w2']);
  assert.deepEqual(b.find('nodes', 'role', 'worker').map((n) => n.ID), ['w2']);
  assert.ok(Object.isFrozen(w2.Spec), 'restored objects are frozen too');
  assert.ok(Buffer.from(b.snapshot()).equals(Buffer.from(bytes)), 'a restored store snapshots to the same bytes');

  // The restored store goes on applying, version checks and unique keys included.
  assert.throws(() => b.apply(entry(7, txBytes((t) => t.nodes.create(nodeDraft('x', { peer: 'peer-m1' }))))), /Internal\.PeerID "peer-m1" is already used by node m1/);
  b.apply(entry(8, txBytes((t) => t.nodes.update(nodeDraft('w2'), 5))));
  assert.equal(b.get('nodes', 'w2')!.Version.Index, 8);
});

test('restore replaces everything, and empty bytes are an empty store', () => {
  const s = populated();
  s.restore(new Uint8Array());
  assert.equal(s.appliedIndex, 0);
  assert.equal(s.count('nodes'), 0);
  assert.deepEqual(s.find('nodes', 'role', 'manager'), []);
  assert.equal(s.lookup('nodes', 'raftId', 1), undefined);
});

test('a bad snapshot is refused with a SnapshotError and the current state stays', () => {
  const s = populated();
  const before = Buffer.from(s.snapshot());
  const good = s.list('nodes');
  const tables = (nodes: unknown[]): unknown => ({ format: 1, appliedIndex: 6, tables: { cluster: [], nodes } });
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array([0xc1, 0x00]), /not valid msgpack/],
    [pack({ format: 2, appliedIndex: 1, tables: {} }), /unknown format 2/],
    [pack({ format: 1, appliedIndex: 1, tables: { gadgets: [] } }), /unknown table "gadgets"/],
    [pack(tables([good[0], good[0]])), /node m1 appears twice/],
    [pack(tables([good[0], { ...good[0], ID: 'other' }])), /nodes m1 and other share Internal\.PeerID "peer-m1"/],
    [pack(tables([{ ...good[0], Version: { Index: 0 } }])), /Version\.Index must be >= 1/],
    [pack(tables([{ ...good[0], Version: { Index: 7 } }])), /past the snapshot's index 6/],
    [pack(tables([{ ...good[0], Spec: {} }])), /Spec\.Role must be one of/],
  ];
  cases.forEach(([bytes, message], i) => {
    assert.throws(() => s.restore(bytes), (err: unknown) => err instanceof SnapshotError && message.test(err.message), `case ${i}`);
  });
  assert.ok(Buffer.from(s.snapshot()).equals(before));
  assert.equal(s.lookup('nodes', 'raftId', 1)!.ID, 'm1');
});
