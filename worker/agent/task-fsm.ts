// The agent's decision for one task, as a pure function of what it observed
// (the task's state on this node) and what the managers want (DesiredState,
// and whether the task is still assigned here). The runner (task-runner.ts)
// carries the step out, records the new state and asks again, until the
// answer is to wait for something to change. Docker's rules
// (docs/task-lifecycle.md):
//
//   assigned                      -> accepted
//   accepted/preparing, desired >= ready        -> prepare -> ready  (error: rejected)
//   ready/starting, desired running or complete -> start -> running  (error: failed)
//   running                       -> watch the process: complete (exit 0) or failed
//   desired >= shutdown           -> stop (signal, grace period) -> shutdown
//   desired remove, or no longer assigned -> stop if needed, then remove
//
// Observed state only moves forward, so a desired state below the observed
// one (ready while running) changes nothing.
import type { TaskState } from '../../shared/model/index.js';
import { isTerminal, stateIndex } from '../../shared/model/task-states.js';

export type Step =
  /** Report accepted. */
  | 'accept'
  /** Report preparing, then prepare (pull, create). */
  | 'prepare'
  /** Report starting, then start. */
  | 'start'
  /** Wait for the running process to exit (in the background). */
  | 'watch'
  /** Stop the process (StopSignal, then kill after StopGracePeriod), report shutdown. */
  | 'stop'
  /** Nothing runs: report shutdown. */
  | 'shutdown'
  /** Remove what prepare made. */
  | 'remove'
  /** Removed and no longer assigned: forget the task. */
  | 'forget'
  /** Nothing to do until the assignment changes or the process exits. */
  | 'idle';

export interface TaskFacts {
  observed: TaskState;
  desired: TaskState;
  /** Still in this node's assignments. */
  assigned: boolean;
  /** executor.remove() already ran. */
  removed: boolean;
  /** A background wait on the process is in progress. */
  watching: boolean;
}

const at = (s: TaskState): number => stateIndex(s);

/** The process may be alive: it was started (or being started) and has not been seen to end. */
export function mayRun(observed: TaskState): boolean {
  return observed === 'starting' || observed === 'running';
}

export function nextStep(f: TaskFacts): Step {
  const goAway = !f.assigned || f.desired === 'remove';
  const stopWanted = goAway || at(f.desired) >= at('shutdown');
  if (stopWanted && !isTerminal(f.observed)) return mayRun(f.observed) ? 'stop' : 'shutdown';
  if (goAway) return f.removed ? (f.assigned ? 'idle' : 'forget') : 'remove';
  if (isTerminal(f.observed)) return 'idle';
  if (at(f.observed) <= at('assigned')) return 'accept';
  if (f.observed === 'accepted' || f.observed === 'preparing') return at(f.desired) >= at('ready') ? 'prepare' : 'idle';
  if (f.observed === 'ready' || f.observed === 'starting') return f.desired === 'running' || f.desired === 'complete' ? 'start' : 'idle';
  // running
  return f.watching ? 'idle' : 'watch';
}
