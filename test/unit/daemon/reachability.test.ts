import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../shared/clock.js';
import { ReachabilityProber, type ProbeTarget } from '../../../manager/reachability.js';

/** Let settled probe promises run their continuations (no time passes on the clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A target whose probes the test answers one by one. */
class Target implements ProbeTarget {
  calls = 0;
  mode: 'answer' | 'fail' | 'hang' = 'answer';
  private readonly hanging: Array<() => void> = [];
  constructor(readonly raftId: number) {}
  probe(): Promise<void> {
    this.calls++;
    if (this.mode === 'answer') return Promise.resolve();
    if (this.mode === 'fail') return Promise.reject(new Error('unreachable'));
    return new Promise<void>((resolve) => this.hanging.push(resolve));
  }
  answerHanging(): void {
    for (const r of this.hanging.splice(0)) r();
  }
}

const PERIOD = 1000;

test('a manager that answers is reachable; one that stops answering is unreachable after 3 periods', async () => {
  const clock = new ManualClock(0);
  const a = new Target(2);
  const prober = new ReachabilityProber(clock, () => [a], PERIOD);
  assert.equal(prober.reachable(2), false, 'unknown before the first answer');
  prober.start();
  await settle();
  assert.equal(a.calls, 1, 'start probes at once');
  assert.equal(prober.reachable(2), true);
  a.mode = 'fail';
  for (let i = 0; i < 3; i++) {
    clock.advance(PERIOD);
    await settle();
  }
  assert.equal(a.calls, 4, 'one probe per period');
  assert.equal(prober.reachable(2), true, 'exactly 3 periods since the last answer');
  clock.advance(1);
  assert.equal(prober.reachable(2), false);
  a.mode = 'answer';
  clock.advance(PERIOD - 1);
  await settle();
  assert.equal(prober.reachable(2), true, 'back as soon as it answers again');
  assert.equal(prober.reachable(99), false, 'never probed');
  prober.stop();
});

test('stop ends the probing', async () => {
  const clock = new ManualClock(0);
  const a = new Target(2);
  const prober = new ReachabilityProber(clock, () => [a], PERIOD);
  prober.start();
  await settle();
  prober.stop();
  assert.equal(clock.pending(), 0, 'no timer left behind');
  clock.advance(10 * PERIOD);
  await settle();
  assert.equal(a.calls, 1);
  assert.equal(prober.reachable(2), false, 'the last answer has aged out');
});

test('one probe at a time per manager, and a silent manager does not hold up the others', async () => {
  const clock = new ManualClock(0);
  const hung = new Target(2);
  hung.mode = 'hang';
  const healthy = new Target(3);
  const prober = new ReachabilityProber(clock, () => [hung, healthy], PERIOD);
  prober.start();
  await settle();
  for (let i = 0; i < 10; i++) {
    clock.advance(PERIOD);
    await settle();
  }
  assert.equal(hung.calls, 1, 'no second probe while the first is outstanding');
  assert.equal(healthy.calls, 11);
  assert.equal(prober.reachable(3), true, 'the healthy manager is still reachable');
  assert.equal(prober.reachable(2), false);
  hung.answerHanging();
  await settle();
  assert.equal(prober.reachable(2), true);
  clock.advance(PERIOD);
  await settle();
  assert.equal(hung.calls, 2, 'probed again once it answered');
  prober.stop();
});

test('the target list is read every round: new managers are probed, removed ones are not', async () => {
  const clock = new ManualClock(0);
  const a = new Target(2);
  const b = new Target(3);
  let targets: ProbeTarget[] = [a];
  const prober = new ReachabilityProber(clock, () => targets, PERIOD);
  prober.start();
  await settle();
  targets = [b];
  clock.advance(PERIOD);
  await settle();
  assert.equal(a.calls, 1);
  assert.equal(b.calls, 1);
  assert.equal(prober.reachable(3), true);
  prober.stop();
});
