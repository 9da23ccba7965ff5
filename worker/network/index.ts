export type { AttachedNetwork, AttachRequest, NetworkDataPlane } from './types.js';
export type { DnsHost } from './dns-host.js';
export { OverlayDataPlane, DEFAULT_MESH_SUBNET, type OverlayDataPlaneOptions } from './overlay-data-plane.js';
export { spawnRunner, type CommandRunner, type CommandResult } from './shell.js';
export { nodeNames, type NodeNames } from './naming.js';
