// The leader's control loops besides the dispatcher (which every Manager runs
// on its own): orchestrators, allocator, scheduler, updater, task reaper. Each factory
// makes a fresh loop whenever this manager becomes the leader; the Manager
// starts them with a LeaderContext and stops them when leadership ends
// (ManagerOptions.loops). Register a new loop by adding its factory here.
import { createAllocator } from '../../manager/allocator/index.js';
import type { ControlLoopFactory } from '../../manager/control-loop.js';
import { createOrchestrator, createTaskReaper } from '../../manager/orchestrator/index.js';
import { createUpdater } from '../../manager/orchestrator/update/index.js';
import { createScheduler } from '../../manager/scheduler/index.js';

export const LEADER_LOOPS: readonly ControlLoopFactory[] = [
  () => createOrchestrator(),
  // Gives tasks their overlay addresses; the scheduler waits for them (docs/task-lifecycle.md).
  () => createAllocator(),
  () => createScheduler(),
  () => createUpdater(),
  () => createTaskReaper(),
];
