import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, SystemClock } from '../../shared/clock.js';

test('ManualClock: time moves only on advance', () => {
  const clock = new ManualClock(1000);
  assert.equal(clock.now(), 1000);
  clock.advance(250);
  assert.equal(clock.now(), 1250);
  clock.advance(0);
  assert.equal(clock.now(), 1250);
});

test('ManualClock: timers fire when due, not before', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 100);
  clock.advance(99);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [100]);
  clock.advance(1000);
  assert.deepEqual(fired, [100], 'a timeout fires once');
  assert.equal(clock.pending(), 0);
});

test('ManualClock: one advance fires timers in due-time order and now() reads each due time', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.advance(100);
  assert.deepEqual(fired, ['a@10', 'b@20', 'c@30']);
  assert.equal(clock.now(), 100);
});

test('ManualClock: ties break by insertion order', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  for (const name of ['first', 'second', 'third']) clock.setTimeout(() => fired.push(name), 50);
  clock.advance(50);
  assert.deepEqual(fired, ['first', 'second', 'third']);
});

test('ManualClock: cancel prevents firing and is idempotent', () => {
  const clock = new ManualClock();
  let fired = 0;
  const cancel = clock.setTimeout(() => fired++, 10);
  cancel();
  cancel();
  clock.advance(100);
  assert.equal(fired, 0);
  assert.equal(clock.pending(), 0);
});

test('ManualClock: intervals repeat until cancelled, including from inside their callback', () => {
  const clock = new ManualClock();
  const at: number[] = [];
  const cancel = clock.setInterval(() => {
    at.push(clock.now());
    if (at.length === 3) cancel();
  }, 25);
  clock.advance(1000);
  assert.deepEqual(at, [25, 50, 75]);
  assert.equal(clock.pending(), 0);
});

test('ManualClock: timers scheduled by callbacks inside the window fire in the same advance', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimeout(() => {
    fired.push(`outer@${clock.now()}`);
    clock.setTimeout(() => fired.push(`inner@${clock.now()}`), 5);
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 500);
  }, 10);
  clock.advance(20);
  assert.deepEqual(fired, ['outer@10', 'inner@15']);
  clock.advance(500);
  assert.deepEqual(fired, ['outer@10', 'inner@15', 'late@510']);
});

test('ManualClock: a re-armed interval queues behind timers already due at the same instant', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setInterval(() => fired.push(`tick@${clock.now()}`), 10);
  clock.setTimeout(() => fired.push(`timeout@${clock.now()}`), 20);
  clock.advance(20);
  // At t=20 the timeout was inserted before the interval re-armed at t=10.
  assert.deepEqual(fired, ['tick@10', 'timeout@20', 'tick@20']);
});

test('ManualClock: zero delay fires on the next advance, at the current time', () => {
  const clock = new ManualClock(7);
  let at = -1;
  clock.setTimeout(() => (at = clock.now()), 0);
  assert.equal(at, -1, 'nothing fires synchronously');
  clock.advance(0);
  assert.equal(at, 7);
});

test('ManualClock: nextDue and advanceToNext step from timer to timer', () => {
  const clock = new ManualClock();
  assert.equal(clock.nextDue(), undefined);
  assert.equal(clock.advanceToNext(), false);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 40);
  clock.setTimeout(() => fired.push(clock.now()), 15);
  assert.equal(clock.nextDue(), 15);
  assert.equal(clock.advanceToNext(), true);
  assert.deepEqual(fired, [15]);
  assert.equal(clock.now(), 15);
  assert.equal(clock.advanceToNext(), true);
  assert.deepEqual(fired, [15, 40]);
});

test('ManualClock: advance rejects negative or non-finite steps', () => {
  const clock = new ManualClock();
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(Number.NaN), RangeError);
  assert.throws(() => clock.advance(Number.POSITIVE_INFINITY), RangeError);
});

test('ManualClock: the same schedule gives the same firing order every run', () => {
  const run = (): string[] => {
    const clock = new ManualClock();
    const log: string[] = [];
    for (let i = 0; i < 20; i++) clock.setTimeout(() => log.push(`t${i}@${clock.now()}`), (i * 7) % 5);
    clock.setInterval(() => log.push(`iv@${clock.now()}`), 2);
    clock.advance(6);
    return log;
  };
  assert.deepEqual(run(), run());
});

test('SystemClock: real timers fire and cancel', async () => {
  const clock = new SystemClock();
  const start = clock.now();
  assert.ok(Math.abs(start - Date.now()) < 1000);
  let cancelledFired = false;
  clock.setTimeout(() => (cancelledFired = true), 1)();
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
  let ticks = 0;
  await new Promise<void>((resolve) => {
    const cancel = clock.setInterval(() => {
      if (++ticks === 2) {
        cancel();
        resolve();
      }
    }, 1);
  });
  assert.equal(cancelledFired, false);
  assert.equal(ticks, 2);
});
