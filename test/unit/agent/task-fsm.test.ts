// The agent's per-task decision (task-fsm.ts), as a table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskState } from '../../../shared/model/index.js';
import { nextStep, type Step, type TaskFacts } from '../../../worker/agent/task-fsm.js';

function f(observed: TaskState, desired: TaskState, over: Partial<TaskFacts> = {}): TaskFacts {
  return { observed, desired, assigned: true, removed: false, watching: false, ...over };
}

const cases: Array<[string, TaskFacts, Step]> = [
  ['a new assignment is accepted', f('assigned', 'running'), 'accept'],
  ['accepted with desired ready: prepare only', f('accepted', 'ready'), 'prepare'],
  ['accepted with desired running: prepare first', f('accepted', 'running'), 'prepare'],
  ['a job (desired complete) is prepared too', f('accepted', 'complete'), 'prepare'],
  ['preparing after a restart: prepare again (idempotent)', f('preparing', 'running'), 'prepare'],
  ['ready with desired ready: wait (restart delay)', f('ready', 'ready'), 'idle'],
  ['ready with desired running: start', f('ready', 'running'), 'start'],
  ['ready with desired complete (job): start', f('ready', 'complete'), 'start'],
  ['starting after a restart: start again (idempotent)', f('starting', 'running'), 'start'],
  ['running: watch the process', f('running', 'running'), 'watch'],
  ['running and watched: nothing to do', f('running', 'running', { watching: true }), 'idle'],
  ['desired ready while running: never backwards', f('running', 'ready', { watching: true }), 'idle'],
  ['desired shutdown while running: stop', f('running', 'shutdown', { watching: true }), 'stop'],
  ['desired shutdown while starting: stop (it may be up)', f('starting', 'shutdown'), 'stop'],
  ['desired shutdown before anything ran: just shutdown', f('accepted', 'shutdown'), 'shutdown'],
  ['desired shutdown of an assigned task', f('assigned', 'shutdown'), 'shutdown'],
  ['desired beyond shutdown counts as shutdown', f('running', 'failed'), 'stop'],
  ['terminal stays terminal', f('complete', 'running'), 'idle'],
  ['terminal with desired shutdown: nothing to stop', f('failed', 'shutdown'), 'idle'],
  ['desired remove while running: stop first', f('running', 'remove', { watching: true }), 'stop'],
  ['desired remove once stopped: remove', f('shutdown', 'remove'), 'remove'],
  ['desired remove, removed, still assigned: wait for the deletion', f('shutdown', 'remove', { removed: true }), 'idle'],
  ['no longer assigned while running: stop', f('running', 'running', { assigned: false, watching: true }), 'stop'],
  ['no longer assigned before running: shutdown', f('ready', 'running', { assigned: false }), 'shutdown'],
  ['no longer assigned and stopped: remove', f('complete', 'running', { assigned: false }), 'remove'],
  ['no longer assigned and removed: forget', f('shutdown', 'running', { assigned: false, removed: true }), 'forget'],
];

for (const [name, facts, step] of cases) {
  test(`nextStep: ${name}`, () => assert.equal(nextStep(facts), step));
}
