import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { WatchClosedError, type WatchEvent, WatchOverflowError } from '../../../manager/store/watch.js';
import { createLogger } from '../../../shared/logger.js';
import { clusterDraft, entry, nodeDraft, txBytes } from './fixtures.js';

const silent = createLogger({ level: 'silent' });

function describe(e: WatchEvent): string {
  if (e.kind === 'reset') return `reset@${e.index}`;
  const extra = e.kind === 'update' ? `<-v${e.previous.Version.Index}` : '';
  return `${e.kind} ${e.table}/${e.object.ID}@${e.index}${extra}`;
}

async function take(w: AsyncIterator<WatchEvent>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await w.next();
    assert.equal(r.done, false);
    out.push(describe(r.value as WatchEvent));
  }
  return out;
}

test('a watcher receives every change in commit order, with the previous version on updates', async () => {
  const s = new MemoryStore({ logger: silent });
  const w = s.watch();
  s.apply(entry(1, txBytes((t) => (t.nodes.create(nodeDraft('n1')), t.cluster.create(clusterDraft())))));
  s.apply(entry(2, txBytes((t) => t.nodes.update(nodeDraft('n1', { hostname: 'x' }), 1))));
  // A rejected transaction produces no events.
  assert.throws(() => s.apply(entry(3, txBytes((t) => t.nodes.delete('ghost')))));
  s.apply(entry(4, txBytes((t) => t.nodes.delete('n1'))));
  assert.deepEqual(await take(w, 4), ['create nodes/n1@1', 'create cluster/swarm1@1', 'update nodes/n1@2<-v1', 'delete nodes/n1@4']);
  assert.equal(w.pending, 0);
  w.close();
  assert.equal(s.watchers, 0);
});

test('a pending next() resolves when a change arrives; for-await works and break closes the watcher', async () => {
  const s = new MemoryStore({ logger: silent });
  const w = s.watch({ tables: ['nodes'] });
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of w) {
      got.push(describe(e));
      if (got.length === 2) break;
    }
  })();
  // The reader is waiting on next() before anything is applied.
  await Promise.resolve();
  s.apply(entry(1, txBytes((t) => t.cluster.create(clusterDraft()))));
  s.apply(entry(2, txBytes((t) => t.nodes.create(nodeDraft('a')))));
  s.apply(entry(3, txBytes((t) => t.nodes.create(nodeDraft('b')))));
  await reader;
  assert.deepEqual(got, ['create nodes/a@2', 'create nodes/b@3']);
  assert.equal(w.closed, true);
  assert.equal(s.watchers, 0);
});

test('table and filter options select events', async () => {
  const s = new MemoryStore({ logger: silent });
  const managers = s.watch({ filter: (e) => e.table === 'nodes' && e.object.Spec.Role === 'manager' });
  const cluster = s.watch({ tables: ['cluster'] });
  s.apply(entry(1, txBytes((t) => {
    t.nodes.create(nodeDraft('w1'));
    t.nodes.create(nodeDraft('m1', { role: 'manager', raftId: 1 }));
    t.cluster.create(clusterDraft());
  })));
  assert.deepEqual(await take(managers, 1), ['create nodes/m1@1']);
  assert.equal(managers.pending, 0);
  assert.deepEqual(await take(cluster, 1), ['create cluster/swarm1@1']);
});

test('a watcher that falls behind is closed with an error it sees, its queue dropped; others carry on', async () => {
  const s = new MemoryStore({ logger: silent });
  const slow = s.watch({ maxQueue: 5 });
  const fast = s.watch();
  const fastSeen: string[] = [];
  for (let i = 1; i <= 8; i++) {
    s.apply(entry(i, txBytes((t) => t.nodes.create(nodeDraft(`n${i}`)))));
    fastSeen.push(...(await take(fast, 1)));
  }
  assert.equal(fastSeen.length, 8);
  assert.equal(slow.closed, true);
  assert.equal(slow.pending, 0, 'the queue is freed at once');
  assert.ok(slow.error instanceof WatchOverflowError);
  await assert.rejects(slow.next(), (err: unknown) => err instanceof WatchOverflowError && /fell behind by more than 5 events; re-read the store/.test(err.message));
  // After the error the iteration is simply over.
  assert.deepEqual(await slow.next(), { value: undefined, done: true });
  assert.equal(s.watchers, 1);
});

test('restoring a snapshot sends a reset in place of queued events', async () => {
  const source = new MemoryStore({ logger: silent });
  source.apply(entry(10, txBytes((t) => t.nodes.create(nodeDraft('n1')))));
  const s = new MemoryStore({ logger: silent });
  const w = s.watch();
  const resets: number[] = [];
  s.onCommit((c) => {
    if (c.kind === 'reset') resets.push(c.index);
  });
  s.apply(entry(1, txBytes((t) => t.nodes.create(nodeDraft('old')))));
  s.restore(source.snapshot());
  s.apply(entry(11, txBytes((t) => t.nodes.create(nodeDraft('n2')))));
  assert.deepEqual(await take(w, 2), ['reset@10', 'create nodes/n2@11']);
  assert.deepEqual(resets, [10]);
});

test('close() ends a pending read; closeWatchers() fails readers with the reason; a throwing filter closes only its watcher', async () => {
  const s = new MemoryStore({ logger: silent });
  const a = s.watch();
  const pending = a.next();
  a.close();
  assert.deepEqual(await pending, { value: undefined, done: true });

  const b = s.watch();
  const bPending = b.next();
  const bad = s.watch({
    filter: () => {
      throw new Error('filter bug');
    },
  });
  s.apply(entry(1, txBytes((t) => t.nodes.create(nodeDraft('n1')))));
  await assert.rejects(bad.next(), /filter bug/);
  assert.equal(describe((await bPending).value as WatchEvent), 'create nodes/n1@1');
  s.closeWatchers('the manager is stopping');
  await assert.rejects(b.next(), (err: unknown) => err instanceof WatchClosedError && err.message === 'watch closed: the manager is stopping');
  assert.equal(s.watchers, 0);
});
