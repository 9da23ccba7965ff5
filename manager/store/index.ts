// The replicated cluster store: import from here.
export { type ApplyResult, type CommitEvent, type CommitListener, MemoryStore, type MemoryStoreOptions, type StoreView } from './memory-store.js';
export { type Proposer, ReplicatedStore } from './replicated-store.js';
export { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT, SnapshotError, type StoreSnapshot } from './snapshot.js';
export {
  type AnyTableDef,
  type IndexDef,
  type IndexKey,
  isTableName,
  type MultiIndexOf,
  type ObjectOf,
  type StoredObject,
  TABLE_NAMES,
  type TableDef,
  type TableName,
  TABLES,
  type UniqueIndexOf,
} from './tables.js';
export { decodeTransaction, type Draft, encodeTransaction, formatTime, MAX_OPS, type Op, type Transaction, TX_FORMAT } from './transaction.js';
export { type DeleteOptions, type TableWriter, type TableWriters, type Tx, TxBuilder, tx, type UpdateOptions } from './tx-builder.js';
export {
  DEFAULT_MAX_QUEUE,
  type ResetEvent,
  type StoreEvent,
  WatchClosedError,
  type WatchEvent,
  Watcher,
  type WatchOptions,
  WatchOverflowError,
} from './watch.js';
