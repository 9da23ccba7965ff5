// The orchestrator and the task reaper (the rolling updater lives in ./update/).
export { compiledConstraints, type Constraint, nodeMatches, validConstraints } from './constraints.js';
export { reconcileGlobal, reconcileGlobalJob } from './global.js';
export { reconcileReplicatedJob } from './jobs.js';
export { chunkWork, createReconcileLoop, type LoopOptions, type Planner, type ReconcileLoop, type Round, type TaskOp, type Work } from './loop.js';
export { isJobMode, jobCountsOf, jobIterationOf, type ModeKind, modeOf, replicasOf } from './mode.js';
export { nodeAcceptsTasks, nodeLost, type NodeLookup, nodeMap, violatesConstraints } from './nodes.js';
export { createOrchestrator, type OrchestratorOptions, orchestratorPlanner } from './orchestrator.js';
export { newTask, type ServicePlan, type TaskDraft } from './plan.js';
export { DEFAULT_RETENTION_LIMIT, planReap, type ReapInput } from './reaper.js';
export { reconcileOrphans, reconcileService } from './reconcile.js';
export { keepOrder, planReplicated, reconcileReplicated, type ServiceInput } from './replicated.js';
export { DEFAULT_RESTART_DELAY_MS, endedOnItsOwn, restartPolicyOf, restartsBefore, shouldRestart } from './restart.js';
export { createTaskReaper, reaperPlanner, retentionLimitOf } from './task-reaper.js';
