export type * from './common.js';
export type * from './node.js';
export type * from './swarm.js';
