// The scheduler: assigns pending tasks to nodes (see docs/task-lifecycle.md).
// createScheduler() is the leader's control loop; the rest is its pure core,
// also used by the API to validate constraints.
export { createScheduler, type Scheduler, type SchedulerOptions, type SchedulerStats } from './scheduler.js';
export {
  type Constraint,
  type ConstraintField,
  type ConstraintOperator,
  constraintHolds,
  constraintProblem,
  nodeMatchesConstraints,
  parseConstraint,
  parseConstraints,
} from './constraints.js';
export { explainFailures, type FilterName, noSuitableNode, Pipeline, platformMatches, type Requirements, requirementsOf } from './filters.js';
export { ClusterState, NodeInfo } from './node-info.js';
export { DecisionTree, spreadLevels } from './decision-tree.js';
export { type Assignment, placeBatch, type RoundResult, scheduleRound, type Unplaced } from './placement.js';
export { ASSIGNED_MESSAGE, assignedTask, explainedTask, PREASSIGNED_MESSAGE } from './task-updates.js';
export { footprint, isSchedulable, type ServiceLookup, type TaskFootprint } from './task-facts.js';
