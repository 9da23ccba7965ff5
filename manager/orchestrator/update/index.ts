// Rolling updates and rollbacks of services: the leader-only control loop and
// the pure decisions it runs.
export { createUpdater, type Updater, type UpdaterOptions } from './updater.js';
export { planUpdate, type UpdateInput, type UpdateOutcome, type UpdatePlan, type UpdateStep } from './plan.js';
export { configFor, resolveConfig, DEFAULT_MONITOR_MS, type RolloutConfig } from './config.js';
export { isFailure, isHealthGated, isLive, isTaskDirty, isUp } from './tasks.js';
export {
  MANUAL_ROLLBACK,
  ROLLBACK_COMPLETED,
  UPDATE_COMPLETED,
  UPDATE_IN_PROGRESS,
  pausedMessage,
  rollbackPausedMessage,
  rolledBackMessage,
} from './status.js';
