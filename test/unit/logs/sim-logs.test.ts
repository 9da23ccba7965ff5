// The simulated runtime's output: derived from the start time and SHOAL_SIM_LOG_*,
// the same before and after a restart, tailed and followed like a real container's.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../shared/clock.js';
import { createLogger } from '../../../shared/logger.js';
import { logTimeNs } from '../../../shared/protocol/logs.js';
import type { LogEntry, LogOptions } from '../../../worker/executor/executor.js';
import { SimLog, simLogPlan } from '../../../worker/executor/sim/logs.js';
import { SimExecutor } from '../../../worker/executor/sim/sim-executor.js';
import { settle, task } from '../agent/fixtures.js';

const log = createLogger({ level: 'silent' });
const T0 = 1_700_000_000_000;
const text = (es: readonly LogEntry[]): string[] => es.map((e) => `${e.stream}:${e.line.toString().trimEnd()}`);

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('sim log plan', () => {
  it('reads SHOAL_SIM_LOG_LINES, SHOAL_SIM_LOG_EVERY_MS and SHOAL_SIM_STDERR, and names a bad value', () => {
    assert.deepEqual(simLogPlan(task('t')), { lines: 0, everyMs: undefined, stderr: undefined });
    assert.deepEqual(simLogPlan(task('t', 'running', { Env: ['SHOAL_SIM_LOG_LINES=3', 'SHOAL_SIM_LOG_EVERY_MS=250', 'SHOAL_SIM_STDERR=oops'] })), {
      lines: 3,
      everyMs: 250,
      stderr: 'oops',
    });
    assert.throws(() => simLogPlan(task('t', 'running', { Env: ['SHOAL_SIM_LOG_LINES=many'] })), /SHOAL_SIM_LOG_LINES must be a whole number >= 0, got "many"/);
    assert.throws(() => simLogPlan(task('t', 'running', { Env: ['SHOAL_SIM_LOG_EVERY_MS=0'] })), /SHOAL_SIM_LOG_EVERY_MS must be a number of milliseconds >= 1/);
  });

  it('entries by index: start lines, the stderr line, then ticks; ranges by since, until and tail', () => {
    const l = new SimLog({ lines: 2, everyMs: 100, stderr: 'warn' }, 'web.1.t1', 1000);
    assert.equal(l.countAtOrBefore(999), 0);
    assert.equal(l.countAtOrBefore(1000), 3);
    assert.equal(l.countAtOrBefore(1250), 5);
    assert.deepEqual(text([0, 1, 2, 3].map((j) => l.entry(j))), ['stdout:line 1 of web.1.t1', 'stdout:line 2 of web.1.t1', 'stderr:warn', 'stdout:tick 1 of web.1.t1']);
    assert.ok(logTimeNs(l.entry(0).time) < logTimeNs(l.entry(1).time) && logTimeNs(l.entry(2).time) < logTimeNs(l.entry(3).time), 'strictly ordered');
    assert.deepEqual(l.range(1250, {}), { from: 0, to: 5 });
    assert.deepEqual(l.range(1250, { tail: 2 }), { from: 3, to: 5 });
    assert.deepEqual(l.range(1250, { tail: 0 }), { from: 5, to: 5 });
    assert.deepEqual(l.range(1250, { sinceMs: 1100 }), { from: 3, to: 5 }, 'since: the tick at exactly 1100 on');
    assert.deepEqual(l.range(1250, { sinceMs: 1101 }), { from: 4, to: 5 });
    assert.deepEqual(l.range(1250, { untilMs: 1200 }), { from: 0, to: 4 }, 'until: before 1200');
    assert.deepEqual(l.range(1250, { sinceMs: 2000 }), { from: 5, to: 5 });
  });
});

describe('SimExecutor.logs', () => {
  async function withSim(body: (x: SimExecutor, clock: ManualClock, dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-sim-logs-'));
    const clock = new ManualClock(T0);
    const x = await SimExecutor.open({ dataDir: dir, clock, logger: log });
    try {
      await body(x, clock, dir);
    } finally {
      await x.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const env = ['SHOAL_SIM_LOG_LINES=2', 'SHOAL_SIM_LOG_EVERY_MS=1000', 'SHOAL_SIM_STDERR=careful', 'SHOAL_SIM_START_MS=0'];
  const web1 = { ...task('t1', 'running', { Env: env }), Name: 'web.1' };
  const all: LogOptions = { follow: false };

  it('writes its start lines and a tick per period; tail, since and until select from them', async () => {
    await withSim(async (x, clock) => {
      assert.deepEqual(await collect(x.logs('t1', all, new AbortController().signal)), [], 'a task it never ran: nothing');
      await x.start(web1);
      clock.advance(2500);
      const lines = await collect(x.logs('t1', all, new AbortController().signal));
      assert.deepEqual(text(lines), ['stdout:line 1 of web.1.t1', 'stdout:line 2 of web.1.t1', 'stderr:careful', 'stdout:tick 1 of web.1.t1', 'stdout:tick 2 of web.1.t1']);
      assert.equal(lines[3]!.time, new Date(T0 + 1000).toISOString().replace('Z', '000000Z'));
      assert.deepEqual(text(await collect(x.logs('t1', { follow: false, tail: 1 }, new AbortController().signal))), ['stdout:tick 2 of web.1.t1']);
      assert.deepEqual(text(await collect(x.logs('t1', { follow: false, sinceMs: T0 + 1500 }, new AbortController().signal))), ['stdout:tick 2 of web.1.t1']);
      assert.deepEqual(text(await collect(x.logs('t1', { follow: false, untilMs: T0 + 1 }, new AbortController().signal))).length, 3);
      assert.deepEqual(await x.describe('t1'), { containerId: 'sim-t1' });
      assert.equal(await x.describe('nope'), undefined);
    });
  });

  it('following: new ticks as time passes, and the end when the task stops', async () => {
    await withSim(async (x, clock) => {
      await x.start(web1);
      const seen: string[] = [];
      const done = (async () => {
        for await (const e of x.logs('t1', { follow: true, tail: 0 }, new AbortController().signal)) seen.push(e.line.toString().trimEnd());
      })();
      await settle();
      assert.deepEqual(seen, [], 'tail 0: nothing from before');
      clock.advance(1000);
      await settle();
      assert.deepEqual(seen, ['tick 1 of web.1.t1']);
      clock.advance(1000);
      await settle();
      assert.deepEqual(seen, ['tick 1 of web.1.t1', 'tick 2 of web.1.t1']);
      await x.stop(web1, { signal: 'SIGTERM', graceMs: 1000 });
      await done;
      clock.advance(5000);
      await settle();
      assert.equal(seen.length, 2, 'nothing after the exit');
    });
  });

  it('following a created container waits for its start; an abort ends the stream', async () => {
    await withSim(async (x, clock) => {
      await x.prepare(web1);
      const ac = new AbortController();
      const seen: string[] = [];
      const done = (async () => {
        for await (const e of x.logs('t1', { follow: true }, ac.signal)) seen.push(e.line.toString().trimEnd());
      })();
      await settle();
      assert.deepEqual(seen, []);
      await x.start(web1);
      await settle();
      assert.deepEqual(seen, ['line 1 of web.1.t1', 'line 2 of web.1.t1', 'careful']);
      ac.abort();
      await done;
      clock.advance(1000);
      await settle();
      assert.equal(seen.length, 3);
    });
  });

  it('the same lines after a restart of the executor, and the exit bounds the ticks', async () => {
    await withSim(async (x, clock, dir) => {
      const t = { ...web1, Spec: { ContainerSpec: { Image: 'sim/app:1', Env: [...env, 'SHOAL_SIM_RUN_MS=3500'] } } };
      await x.start(t);
      clock.advance(1500);
      const before = text(await collect(x.logs('t1', all, new AbortController().signal)));
      await x.close();
      clock.advance(10_000);
      const again = await SimExecutor.open({ dataDir: dir, clock, logger: log });
      try {
        const after = text(await collect(again.logs('t1', all, new AbortController().signal)));
        assert.deepEqual(after.slice(0, before.length), before);
        assert.deepEqual(after.slice(before.length), ['stdout:tick 2 of web.1.t1', 'stdout:tick 3 of web.1.t1'], 'ticks up to the exit at 3.5 s, none after');
        // Following an exited task: its lines, then the end.
        assert.equal((await collect(again.logs('t1', { follow: true }, new AbortController().signal))).length, after.length);
      } finally {
        await again.close();
      }
    });
  });
});
