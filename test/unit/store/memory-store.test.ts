import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { pack } from '../../../manager/store/codec.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';
import { SeededRandom } from '../../../shared/random.js';
import type { NodeRecord } from '../../../shared/model/index.js';
import { applyAll, clusterDraft, entry, nodeDraft, T0, T1, txBytes } from './fixtures.js';

const silent = createLogger({ level: 'silent' });

function replicas(n = 2): MemoryStore[] {
  return Array.from({ length: n }, () => new MemoryStore({ logger: silent }));
}

function sameSnapshots(stores: MemoryStore[]): void {
  const first = Buffer.from(stores[0]!.snapshot());
  for (const s of stores.slice(1)) assert.ok(first.equals(Buffer.from(s.snapshot())), 'replica snapshots differ');
}

test('create and update stamp Version.Index with the entry index and times with the transaction time', () => {
  const s = new MemoryStore({ logger: silent });
  const r1 = s.apply(entry(3, txBytes((t) => t.nodes.create(nodeDraft('n1')), T0)));
  assert.equal(r1.index, 3);
  const n1 = s.get('nodes', 'n1')!;
  assert.deepEqual(n1.Version, { Index: 3 });
  assert.equal(n1.CreatedAt, T0);
  assert.equal(n1.UpdatedAt, T0);
  assert.equal(r1.objects[0], n1);
  // The meta fields come first, as Docker prints them.
  assert.deepEqual(Object.keys(n1).slice(0, 4), ['ID', 'Version', 'CreatedAt', 'UpdatedAt']);

  // A proposer cannot forge the stamped fields.
  const forged = { ...n1, Spec: { ...n1.Spec, Availability: 'drain' as const }, Version: { Index: 99 }, CreatedAt: 'then' };
  s.apply(entry(7, txBytes((t) => t.nodes.update(forged, { expectedVersion: 3 }), T1)));
  const n1b = s.get('nodes', 'n1')!;
  assert.deepEqual(n1b.Version, { Index: 7 });
  assert.equal(n1b.CreatedAt, T0);
  assert.equal(n1b.UpdatedAt, T1);
  assert.equal(n1b.Spec.Availability, 'drain');
  assert.equal(s.appliedIndex, 7);
});

test('a stale version fails with a ConflictError that says what to do; the current version succeeds', () => {
  const stores = replicas();
  applyAll(stores, entry(1, txBytes((t) => t.nodes.create(nodeDraft('n1')))));
  applyAll(stores, entry(2, txBytes((t) => t.nodes.update(nodeDraft('n1', { hostname: 'a' }), 1))));
  const stale = applyAll(stores, entry(3, txBytes((t) => t.nodes.update(nodeDraft('n1', { hostname: 'b' }), 1)))).error;
  assert.ok(stale instanceof ConflictError);
  assert.equal(stale.status, 409);
  assert.equal(stale.message, 'node n1 was updated since you read it (version 1, now 2); read it again and retry');
  assert.equal(stores[0]!.get('nodes', 'n1')!.Description.Hostname, 'a');

  // Passing the object as read checks its own Version.Index.
  const read = stores[0]!.get('nodes', 'n1')!;
  applyAll(stores, entry(4, txBytes((t) => t.nodes.update({ ...read, Description: { ...read.Description, Hostname: 'c' } }))));
  assert.equal(stores[1]!.get('nodes', 'n1')!.Description.Hostname, 'c');
  // Unconditional writes ignore the version; deletes can be checked too.
  applyAll(stores, entry(5, txBytes((t) => t.nodes.update(nodeDraft('n1', { hostname: 'd' }), { unconditional: true }))));
  assert.ok(applyAll(stores, entry(6, txBytes((t) => t.nodes.delete('n1', { expectedVersion: 4 })))).error instanceof ConflictError);
  applyAll(stores, entry(7, txBytes((t) => t.nodes.delete('n1', 5))));
  assert.equal(stores[0]!.get('nodes', 'n1'), undefined);
  sameSnapshots(stores);
});

test('one bad op rejects the whole transaction on every replica and changes nothing', () => {
  const stores = replicas(3);
  applyAll(stores, entry(1, txBytes((t) => (t.nodes.create(nodeDraft('n1')), t.cluster.create(clusterDraft())))));
  const before = Buffer.from(stores[0]!.snapshot());
  const bad = [
    // A stale version after two good ops.
    txBytes((t) => {
      t.nodes.create(nodeDraft('n2'));
      t.cluster.update(clusterDraft(), 1);
      t.nodes.update(nodeDraft('n1'), 0);
    }),
    // A missing object.
    txBytes((t) => t.nodes.create(nodeDraft('n3')).delete('ghost')),
    // A unique key clash with an existing object.
    txBytes((t) => t.nodes.create(nodeDraft('n4')).create(nodeDraft('n5', { peer: 'peer-n1' }))),
    // The same object twice.
    txBytes((t) => t.nodes.create(nodeDraft('n6')).update(nodeDraft('n6'), { unconditional: true })),
  ];
  const errors = [ConflictError, NotFoundError, ConflictError, InvalidArgumentError];
  bad.forEach((data, i) => {
    const { error } = applyAll(stores, entry(2 + i, data));
    assert.ok(error instanceof errors[i]!, `case ${i}: ${String(error)}`);
  });
  for (const s of stores) {
    assert.deepEqual(s.list('nodes').map((n) => n.ID), ['n1']);
    assert.equal(s.get('cluster', 'swarm1')!.Version.Index, 1);
    // The rejected entries still count as applied.
    assert.equal(s.appliedIndex, 5);
  }
  sameSnapshots(stores);
  assert.ok(!before.equals(Buffer.from(stores[0]!.snapshot())), 'only the applied index moved');
});

test('create of an existing ID conflicts; update and delete of a missing object are not found', () => {
  const s = new MemoryStore({ logger: silent });
  s.apply(entry(1, txBytes((t) => t.nodes.create(nodeDraft('n1')))));
  assert.throws(() => s.apply(entry(2, txBytes((t) => t.nodes.create(nodeDraft('n1', { peer: 'other' }))))), {
    name: 'ConflictError',
    message: 'cannot create node n1: a node with that ID already exists',
  });
  assert.throws(() => s.apply(entry(3, txBytes((t) => t.nodes.update(nodeDraft('nx'), 1)))), {
    name: 'NotFoundError',
    message: 'cannot update node nx: no such node (it may have been removed)',
  });
  assert.throws(() => s.apply(entry(4, txBytes((t) => t.nodes.delete('nx')))), NotFoundError);
});

test('unique indexes: clashes name the field, RaftID 0 is shared, keys may move within one transaction', () => {
  const s = new MemoryStore({ logger: silent });
  s.apply(entry(1, txBytes((t) => t.nodes.create(nodeDraft('n1', { raftId: 1 })).create(nodeDraft('n2', { raftId: 2 })))));
  // Many workers have RaftID 0: not a clash.
  s.apply(entry(2, txBytes((t) => t.nodes.create(nodeDraft('w1')).create(nodeDraft('w2')))));

  assert.throws(() => s.apply(entry(3, txBytes((t) => t.nodes.create(nodeDraft('n3', { raftId: 2 }))))), {
    name: 'ConflictError',
    message: 'cannot create node n3: Internal.RaftID "2" is already used by node n2',
  });
  assert.throws(() => s.apply(entry(4, txBytes((t) => t.nodes.update(nodeDraft('w1', { peer: 'peer-w2' }), 2)))), {
    message: 'cannot update node w1: Internal.PeerID "peer-w2" is already used by node w2',
  });
  // Two new objects claiming one key in the same transaction.
  assert.throws(() => s.apply(entry(5, txBytes((t) => t.nodes.create(nodeDraft('a', { peer: 'p' })).create(nodeDraft('b', { peer: 'p' }))))), {
    message: 'cannot create node b: Internal.PeerID "p" is already used by node a',
  });

  // Swapping RaftIDs in one transaction is fine: only the final state must be unique.
  s.apply(entry(6, txBytes((t) => t.nodes.update(nodeDraft('n1', { raftId: 2 }), 1).update(nodeDraft('n2', { raftId: 1 }), 1))));
  assert.equal(s.lookup('nodes', 'raftId', 1)!.ID, 'n2');
  assert.equal(s.lookup('nodes', 'raftId', '2')!.ID, 'n1');
  // A key freed by a delete can be taken in the same transaction.
  s.apply(entry(7, txBytes((t) => t.nodes.delete('w1').create(nodeDraft('w3', { peer: 'peer-w1' })))));
  assert.equal(s.lookup('nodes', 'peerId', 'peer-w1')!.ID, 'w3');
  // But a rewritten owner that keeps its key still clashes.
  assert.throws(() => s.apply(entry(8, txBytes((t) => t.nodes.create(nodeDraft('w4', { peer: 'peer-w3' })).update(nodeDraft('w3', { peer: 'peer-w3' }), 7)))), {
    message: /Internal\.PeerID "peer-w3" is already used by node w/,
  });
});

test('secondary indexes follow updates and deletes', () => {
  const s = new MemoryStore({ logger: silent });
  s.apply(entry(1, txBytes((t) => {
    t.nodes.create(nodeDraft('m1', { role: 'manager', raftId: 1, hostname: 'alpha' }));
    t.nodes.create(nodeDraft('w1', { hostname: 'alpha' }));
    t.nodes.create(nodeDraft('w2', { hostname: 'beta' }));
  })));
  const ids = (ns: NodeRecord[]): string[] => ns.map((n) => n.ID);
  assert.deepEqual(ids(s.find('nodes', 'role', 'worker')), ['w1', 'w2']);
  assert.deepEqual(ids(s.find('nodes', 'hostname', 'alpha')), ['m1', 'w1']);
  assert.equal(s.lookup('nodes', 'peerId', 'peer-w1')!.ID, 'w1');

  s.apply(entry(2, txBytes((t) => t.nodes.update(nodeDraft('w1', { role: 'manager', raftId: 5, hostname: 'gamma', peer: 'new-peer' }), 1))));
  assert.deepEqual(ids(s.find('nodes', 'role', 'worker')), ['w2']);
  assert.deepEqual(ids(s.find('nodes', 'role', 'manager')), ['m1', 'w1']);
  assert.deepEqual(ids(s.find('nodes', 'hostname', 'alpha')), ['m1']);
  assert.deepEqual(ids(s.find('nodes', 'hostname', 'gamma')), ['w1']);
  assert.equal(s.lookup('nodes', 'peerId', 'peer-w1'), undefined);
  assert.equal(s.lookup('nodes', 'peerId', 'new-peer')!.ID, 'w1');
  assert.equal(s.lookup('nodes', 'raftId', 5)!.ID, 'w1');

  s.apply(entry(3, txBytes((t) => t.nodes.delete('w1'))));
  assert.deepEqual(ids(s.find('nodes', 'role', 'manager')), ['m1']);
  assert.deepEqual(s.find('nodes', 'hostname', 'gamma'), []);
  assert.equal(s.lookup('nodes', 'raftId', 5), undefined);
  assert.equal(s.count('nodes'), 2);
  assert.deepEqual(ids(s.list('nodes')), ['m1', 'w2']);
});

test('stored objects are deep-frozen: a reader cannot change the replica', () => {
  const s = new MemoryStore({ logger: silent });
  s.apply(entry(1, txBytes((t) => (t.nodes.create(nodeDraft('n1')), t.cluster.create(clusterDraft())))));
  const n = s.get('nodes', 'n1')!;
  assert.throws(() => {
    n.Spec.Role = 'manager';
  }, TypeError);
  assert.throws(() => {
    (n.Version as { Index: number }).Index = 0;
  }, TypeError);
  assert.equal(s.find('nodes', 'role', 'worker').length, 1);
  // Bytes survive the round trip through the entry.
  assert.deepEqual([...s.get('cluster', 'swarm1')!.Internal.ClusterPublicKey], [4, 5, 6]);
});

test('empty entries (leader no-ops) only advance the applied index', () => {
  const s = new MemoryStore({ logger: silent });
  const commits: number[] = [];
  s.onCommit((c) => commits.push(c.index));
  assert.deepEqual(s.apply(entry(1, new Uint8Array())), { index: 1, objects: [] });
  assert.equal(s.appliedIndex, 1);
  assert.deepEqual(commits, []);
  // Raft never re-applies; the store refuses rather than stamping versions backwards.
  assert.throws(() => s.apply(entry(1, txBytes((t) => t.nodes.create(nodeDraft('n1'))))), /already applied up to 1/);
  assert.equal(s.count('nodes'), 0);
});

test('malformed entries are rejected with an InvalidArgumentError, identically on every replica, without a crash', () => {
  const stores = replicas(2);
  applyAll(stores, entry(1, txBytes((t) => t.nodes.create(nodeDraft('n1')))));
  const validOp = { op: 'create', table: 'nodes', object: nodeDraft('n2') };
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array([0xc1, 0xff, 0x00]), /not a store transaction|not a valid store transaction/],
    [new Uint8Array([0x92, 0x01]), /not valid msgpack/],
    [pack('hello'), /expected a transaction object/],
    [pack({ v: 2, time: T0, ops: [] }), /unknown transaction format 2/],
    [pack({ v: 1, time: 'yesterday', ops: [] }), /time must be an RFC 3339 time/],
    [pack({ v: 1, time: T0, ops: [{ ...validOp, table: 'gadgets' }] }), /"gadgets" is not a table this manager knows/],
    [pack({ v: 1, time: T0, ops: [{ ...validOp, op: 'upsert' }] }), /ops\[0\]\.op must be create, update or delete/],
    [pack({ v: 1, time: T0, ops: [{ ...validOp, object: { ...nodeDraft('n2'), Spec: { Role: 'boss', Availability: 'active' } } }] }), /Spec\.Role must be one of worker, manager \(got "boss"\)/],
    [pack({ v: 1, time: T0, ops: [{ ...validOp, object: { ...nodeDraft('n2'), ID: '../etc' } }] }), /ID must be 1-128 characters/],
    [pack({ v: 1, time: T0, ops: [{ ...validOp, object: { ...nodeDraft('n2'), When: new Date(0) } }] }), /When must be plain JSON data/],
    [pack({ v: 1, time: T0, ops: [{ op: 'delete', table: 'nodes', id: 'n1', expectedVersion: -1 }] }), /expectedVersion must be >= 0/],
    [pack({ v: 1, time: T0, ops: [validOp, { op: 'update', table: 'nodes', object: 7 }] }), /ops\[1\] \(update node\) must carry an object/],
    [pack({ v: 1, time: T0, ops: [{ ...validOp, object: { ...nodeDraft('n2'), Deep: JSON.parse('['.repeat(60) + ']'.repeat(60)) } }] }), /nests deeper/],
  ];
  cases.forEach(([data, message], i) => {
    const { error } = applyAll(stores, entry(2 + i, data));
    assert.ok(error instanceof InvalidArgumentError, `case ${i}: ${String(error)}`);
    assert.match(error.message, message, `case ${i}`);
  });
  for (const s of stores) {
    assert.deepEqual(s.list('nodes').map((n) => n.ID), ['n1']);
    assert.equal(s.appliedIndex, 1 + cases.length);
  }
  sameSnapshots(stores);
});

test('two replicas fed the same entries, successes and failures alike, have byte-identical snapshots', () => {
  const a = new MemoryStore({ logger: silent });
  const b = new MemoryStore({ logger: silent });
  // Pseudo-random but fixed workload: creates, updates (some stale), deletes (some missing).
  const random = new SeededRandom(42);
  const rand = (n: number): number => random.int(n);
  let index = 0;
  let rejected = 0;
  let c: MemoryStore | undefined;
  for (let i = 0; i < 400; i++) {
    const id = `n${rand(30)}`;
    const version = rand(3) === 0 ? rand(i + 1) : (a.get('nodes', id)?.Version.Index ?? 0);
    const kind = rand(4);
    const data = txBytes(
      (t) => {
        if (kind === 0) t.nodes.delete(id, version);
        else if (kind === 1 || !a.get('nodes', id)) t.nodes.create(nodeDraft(id, { hostname: `h${rand(5)}`, raftId: rand(3) === 0 ? rand(10) + 1 : 0 }));
        else t.nodes.update(nodeDraft(id, { hostname: `h${rand(5)}`, role: rand(2) ? 'worker' : 'manager' }), version);
      },
      `2024-05-01T12:00:${String(i % 60).padStart(2, '0')}.000000000Z`,
    );
    index += 1 + rand(2); // gaps, as conf changes and no-ops leave in the log
    const stores = c ? [a, b, c] : [a, b];
    if (applyAll(stores, entry(index, data)).error) rejected++;
    if (i === 200) {
      // A third replica joins from a snapshot half way and follows from there.
      c = new MemoryStore({ logger: silent });
      c.restore(b.snapshot());
    }
  }
  assert.ok(rejected > 50 && rejected < 350, `workload should mix outcomes, ${rejected} rejected`);
  assert.ok(a.count('nodes') > 0);
  sameSnapshots([a, b, c!]);
});

test('commit listeners see each transaction; a throwing listener does not stop the apply', () => {
  const s = new MemoryStore({ logger: silent });
  const seen: string[] = [];
  s.onCommit(() => {
    throw new Error('listener bug');
  });
  const off = s.onCommit((c) => {
    if (c.kind === 'commit') seen.push(`${c.index}:${c.time}:${c.events.map((e) => `${e.kind}/${e.table}/${e.object.ID}`).join(',')}`);
  });
  const r = s.apply(entry(1, txBytes((t) => (t.nodes.create(nodeDraft('n1')), t.cluster.create(clusterDraft())))));
  assert.equal(r.objects.length, 2);
  off();
  s.apply(entry(2, txBytes((t) => t.nodes.delete('n1'))));
  assert.deepEqual(seen, [`1:${T0}:create/nodes/n1,create/cluster/swarm1`]);
  assert.equal(s.count('nodes'), 0);
});
