export type * from './common.js';
export type * from './network.js';
export type * from './node.js';
export type * from './service.js';
export type * from './swarm.js';
export type * from './task.js';
export { TASK_STATES } from './task.js';
export { DEFAULT_ADDRESS_POOL, DEFAULT_DATA_PATH_PORT, DEFAULT_SUBNET_SIZE, FIRST_VNI, INGRESS_NETWORK_NAME, INGRESS_PORT_RANGE } from './network.js';
