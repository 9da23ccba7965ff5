// The simulated runtime: SHOAL_SIM_* settings, latencies, exits, stops with
// grace periods, health, and containers that outlive the executor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { healthAt, SimConfigError, simConfig } from '../../../worker/executor/sim/config.js';
import { SimExecutor } from '../../../worker/executor/sim/sim-executor.js';
import type { ExitResult } from '../../../worker/executor/executor.js';
import { settle, task } from './fixtures.js';

const log = createLogger({ level: 'silent' });

const withEnv = (id: string, env: string[], extra: Parameters<typeof task>[2] = {}) => task(id, 'running', { Env: env, ...extra });

async function open(dir: string, clock: ManualClock): Promise<SimExecutor> {
  return SimExecutor.open({ dataDir: dir, clock, logger: log });
}

async function withSim(body: (x: SimExecutor, clock: ManualClock, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-sim-'));
  const clock = new ManualClock(1_700_000_000_000);
  const x = await open(dir, clock);
  try {
    await body(x, clock, dir);
  } finally {
    await x.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Start a task, moving virtual time through its start latency. */
async function started(x: SimExecutor, clock: ManualClock, t: ReturnType<typeof task>, startMs = 10): Promise<void> {
  const p = x.start(t);
  await settle();
  clock.advance(startMs);
  await p;
}

test('simConfig: defaults, labels, env over labels, and clear errors for bad values', () => {
  const d = simConfig(task('t'));
  assert.deepEqual(d, {
    prepareMs: 0,
    startMs: 10,
    runMs: undefined,
    exitCode: 0,
    stopMs: 0,
    health: { kind: 'fixed', state: 'healthy' },
    prepareError: undefined,
    startError: undefined,
  });
  const c = simConfig(
    task('t', 'running', {
      Labels: { SHOAL_SIM_RUN_MS: '100', SHOAL_SIM_EXIT_CODE: '2', other: 'x' },
      Env: ['SHOAL_SIM_EXIT_CODE=3', 'SHOAL_SIM_HEALTH=unhealthy-after-500', 'PATH=/bin', 'SHOAL_SIM_PREPARE_ERROR=manifest unknown'],
    }),
  );
  assert.deepEqual([c.runMs, c.exitCode, c.prepareError], [100, 3, 'manifest unknown']);
  assert.deepEqual(c.health, { kind: 'after', afterMs: 500, then: 'unhealthy' });
  assert.deepEqual(simConfig(withEnv('t', ['SHOAL_SIM_HEALTH=250'])).health, { kind: 'after', afterMs: 250, then: 'healthy' });
  assert.throws(() => simConfig(withEnv('t', ['SHOAL_SIM_RUN_MS=soon'])), (e: unknown) => e instanceof SimConfigError && /SHOAL_SIM_RUN_MS/.test(e.message));
  assert.throws(() => simConfig(withEnv('t', ['SHOAL_SIM_EXIT_CODE=300'])), /SHOAL_SIM_EXIT_CODE must be an integer 0-255/);
  assert.throws(() => simConfig(withEnv('t', ['SHOAL_SIM_HEALTH=meh'])), /SHOAL_SIM_HEALTH must be/);
  assert.equal(healthAt({ kind: 'after', afterMs: 100, then: 'healthy' }, 99), 'starting');
  assert.equal(healthAt({ kind: 'after', afterMs: 100, then: 'healthy' }, 100), 'healthy');
});

test('prepare fails with the configured message; prepare and start take the configured time', async () => {
  await withSim(async (x, clock) => {
    await assert.rejects(x.prepare(withEnv('bad', ['SHOAL_SIM_PREPARE_ERROR=image sim/app:2: manifest unknown'])), /^Error: image sim\/app:2: manifest unknown$/);
    await assert.rejects(x.prepare(withEnv('typo', ['SHOAL_SIM_START_MS=x'])), /SHOAL_SIM_START_MS/);
    const t = withEnv('slow', ['SHOAL_SIM_PREPARE_MS=200', 'SHOAL_SIM_START_MS=300']);
    let prepared = false;
    void x.prepare(t).then(() => (prepared = true));
    await settle();
    clock.advance(199);
    await settle();
    assert.equal(prepared, false);
    clock.advance(1);
    await settle();
    assert.equal(prepared, true);
    let up = false;
    const starting = x.start(t).then(() => (up = true));
    await settle();
    clock.advance(299);
    await settle();
    assert.equal(up, false);
    assert.deepEqual(await x.running(), []);
    clock.advance(1);
    await starting;
    assert.deepEqual(await x.running(), ['slow']);
    // Idempotent: a second start does not restart it.
    await x.start(t);
    assert.deepEqual(await x.running(), ['slow']);
    await assert.rejects(x.start(withEnv('nostart', ['SHOAL_SIM_START_ERROR=exec format error'])), /exec format error/);
  });
});

test('a task runs until its run time, then exits with its exit code; without one it runs until stopped', async () => {
  await withSim(async (x, clock) => {
    const short = withEnv('short', ['SHOAL_SIM_RUN_MS=1000', 'SHOAL_SIM_EXIT_CODE=4']);
    const forever = withEnv('forever', []);
    await started(x, clock, short);
    await started(x, clock, forever);
    let exit: ExitResult | undefined;
    void x.wait(short, new AbortController().signal).then((r) => (exit = r));
    clock.advance(989);
    await settle();
    assert.equal(exit, undefined);
    clock.advance(1);
    await settle();
    assert.deepEqual(exit, { exitCode: 4 });
    assert.deepEqual(await x.running(), ['forever']);
    assert.deepEqual(await x.wait(short, new AbortController().signal), { exitCode: 4 }, 'an exited task answers at once');
    clock.advance(3_600_000);
    assert.deepEqual(await x.running(), ['forever']);
    // An abort only stops the waiting.
    const ac = new AbortController();
    const w = x.wait(forever, ac.signal);
    ac.abort(new Error('agent closing'));
    await assert.rejects(w, /agent closing/);
    assert.deepEqual(await x.running(), ['forever']);
    await assert.rejects(x.wait(withEnv('never', []), new AbortController().signal), /no such container/);
  });
});

test('stop: the process exits after SHOAL_SIM_STOP_MS, or is killed (137) at the end of the grace period', async () => {
  await withSim(async (x, clock) => {
    const polite = withEnv('polite', ['SHOAL_SIM_STOP_MS=300']);
    const stubborn = withEnv('stubborn', ['SHOAL_SIM_STOP_MS=60000']);
    const killed = withEnv('killed', ['SHOAL_SIM_STOP_MS=300']);
    for (const t of [polite, stubborn, killed]) await started(x, clock, t);
    const codes = new Map<string, number>();
    for (const t of [polite, stubborn, killed]) void x.wait(t, new AbortController().signal).then((r) => codes.set(t.ID, r.exitCode));
    let politeStopped = false;
    void x.stop(polite, { signal: 'SIGTERM', graceMs: 10_000 }).then(() => (politeStopped = true));
    void x.stop(stubborn, { signal: 'SIGTERM', graceMs: 2000 });
    void x.stop(killed, { signal: 'SIGKILL', graceMs: 10_000 });
    await settle();
    assert.deepEqual([...codes], [['killed', 137]], 'SIGKILL is immediate');
    clock.advance(300);
    await settle();
    assert.equal(codes.get('polite'), 0);
    assert.equal(politeStopped, true, 'stop resolves once the process has exited');
    assert.equal(codes.has('stubborn'), false);
    clock.advance(1700);
    await settle();
    assert.equal(codes.get('stubborn'), 137);
    assert.deepEqual(await x.running(), []);
    // Stopping what is not running does nothing.
    await x.stop(polite, { signal: 'SIGTERM', graceMs: 0 });
  });
});

test('health follows SHOAL_SIM_HEALTH for tasks with a healthcheck, and is undefined without one', async () => {
  await withSim(async (x, clock) => {
    const hc = { HealthCheck: { Test: ['CMD', 'true'] } };
    const later = withEnv('later', ['SHOAL_SIM_HEALTH=healthy-after-500'], hc);
    const sick = withEnv('sick', ['SHOAL_SIM_HEALTH=unhealthy'], hc);
    const none = withEnv('none', ['SHOAL_SIM_HEALTH=unhealthy']);
    const disabled = withEnv('disabled', [], { HealthCheck: { Test: ['NONE'] } });
    for (const t of [later, sick, none, disabled]) await started(x, clock, t);
    assert.equal(await x.health(later), 'starting');
    assert.equal(await x.health(sick), 'unhealthy');
    assert.equal(await x.health(none), undefined);
    assert.equal(await x.health(disabled), undefined);
    clock.advance(500);
    assert.equal(await x.health(later), 'healthy');
  });
});

test('remove kills a running task and forgets it', async () => {
  await withSim(async (x, clock) => {
    const t = withEnv('t', []);
    await started(x, clock, t);
    const exit = x.wait(t, new AbortController().signal);
    await x.remove(t);
    assert.equal((await exit).exitCode, 137);
    assert.deepEqual(await x.running(), []);
    await assert.rejects(x.wait(t, new AbortController().signal), /no such container/);
    await x.remove(t);
  });
});

test('containers outlive the executor: a new one on the same data root still runs them, at their original start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-sim-'));
  const clock = new ManualClock(1_700_000_000_000);
  try {
    const first = await open(dir, clock);
    const forever = withEnv('forever', []);
    const short = withEnv('short', ['SHOAL_SIM_RUN_MS=5000', 'SHOAL_SIM_EXIT_CODE=9']);
    const later = withEnv('later', ['SHOAL_SIM_RUN_MS=60000']);
    const hc = withEnv('hc', ['SHOAL_SIM_HEALTH=healthy-after-20000'], { HealthCheck: { Test: ['CMD', 'true'] } });
    for (const t of [forever, short, later, hc]) await started(first, clock, t);
    // No close(): as if the daemon were killed; start() already put each on disk.
    clock.advance(10_000);
    const second = await open(dir, clock);
    try {
      assert.deepEqual((await second.running()).sort(), ['forever', 'hc', 'later']);
      assert.deepEqual(await second.wait(short, new AbortController().signal), { exitCode: 9 }, 'exited while nobody watched, with its code');
      assert.equal(await second.health(hc), 'starting', 'health counts from the original start');
      clock.advance(10_000);
      assert.equal(await second.health(hc), 'healthy');
      let exited = false;
      void second.wait(later, new AbortController().signal).then(() => (exited = true));
      // Started 30 ms after the first (start latencies), so it ends at +60_030; now is +20_040.
      clock.advance(39_989);
      await settle();
      assert.equal(exited, false);
      clock.advance(1);
      await settle();
      assert.equal(exited, true, 'the run time is kept across the restart');
      await second.start(forever);
      assert.deepEqual((await second.running()).sort(), ['forever', 'hc']);
    } finally {
      await second.close();
      await first.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
