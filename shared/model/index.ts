export type * from './common.js';
export type * from './node.js';
export type * from './service.js';
export type * from './swarm.js';
export type * from './task.js';
export { TASK_STATES } from './task.js';
