// Stop signals by name or number (signals.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalNumber } from '../../../worker/executor/oci/signals.js';

test('names with or without SIG, any case, and numbers', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('term'), 15);
  assert.equal(signalNumber(' sigquit '), 3);
  assert.equal(signalNumber('KILL'), 9);
  assert.equal(signalNumber('10'), 10);
  assert.equal(signalNumber('SIGRTMIN'), 34);
  assert.equal(signalNumber('SIGRTMIN+3'), 37);
  assert.equal(signalNumber('RTMAX-1'), 63);
});

test('anything else is an error naming the signal', () => {
  for (const bad of ['SIGFOO', '0', '65', '', 'SIGRTMIN+40']) assert.throws(() => signalNumber(bad), /invalid stop signal/, bad);
});
