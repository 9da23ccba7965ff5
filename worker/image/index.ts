// The node's image store: what the OCI executor asks for images.
export { ImageStore, type ImageStoreOptions, type LayerInfo, type PruneResult } from './store.js';
export type { DeleteItem } from './records.js';
export { ShellWhiteoutMaker, type WhiteoutMaker } from './whiteouts.js';
export { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack.js';
export type { ImageProvider, LocalImage, PullOptions, PullProgress } from './types.js';
