// ManagerOptions.loops: a single-member manager (real Raft on disk, a real
// libp2p host) starts a fresh instance of every registered loop, and its
// dispatcher, once it leads, and stops them when it stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../shared/logger.js';
import type { ControlLoop, LeaderContext } from '../../../manager/control-loop.js';
import { Manager } from '../../../manager/manager.js';
import { eventually, makeHost } from '../p2p/hosts.js';

// A real Raft node and libp2p host: a start or stop that never finishes must fail the test, not hang it.
const LIMIT = { timeout: 60_000 };

class RecordingLoop implements ControlLoop {
  readonly name = 'recording';
  ctx: LeaderContext | undefined;
  stopped = false;

  start(ctx: LeaderContext): void {
    this.ctx = ctx;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}

test('registered loops and the dispatcher start when the manager leads and stop with it', LIMIT, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-loops-'));
  const { host } = await makeHost();
  let running: Manager | undefined;
  // Not a finally: this also runs when the test times out, when the manager's
  // timers and the host would otherwise keep the file's process alive.
  t.after(async () => {
    await running?.stop();
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const made: RecordingLoop[] = [];
  const m = (running = await Manager.start({
    dataDir: join(dir, 'raft'),
    raftId: 1,
    nodeId: 'n1',
    host,
    logger: createLogger({ level: 'silent' }),
    bootstrap: true,
    seeds: () => [],
    tickMs: 10,
    loops: [
      () => {
        const l = new RecordingLoop();
        made.push(l);
        return l;
      },
    ],
  }));
  await eventually(() => made.length === 1 && made[0]!.ctx !== undefined && m.dispatcher.leading, 'the loops start once leading');
  assert.equal(made[0]!.ctx?.store, m.store);
  assert.equal(made[0]!.ctx?.memory, m.memory);
  await m.stop();
  assert.equal(made[0]!.stopped, true);
  assert.equal(m.dispatcher.leading, false);
  assert.equal(made.length, 1, 'one instance per term');
});
