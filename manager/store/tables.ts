// The store's tables: what each holds, how its objects are checked, and which
// secondary indexes it keeps. Adding a table is one entry in TABLES (plus its
// object type); transactions, snapshots, watches and the typed getters pick it
// up from here.
//
// Renaming or removing a table or an index changes what replicas agree on:
// every manager must run the same TABLES before such an entry is proposed.
import type { ClusterRecord, NetworkRecord, NodeRecord, ObjectMeta, ServiceRecord, TaskRecord } from '../../shared/model/index.js';
import { TASK_STATES } from '../../shared/model/task.js';
import { arrayOf, bool, bytes, type Check, int, labels, obj, oneOf, optional, recordOf, str } from './schema.js';

/** What every stored object has: Docker's ID, Version, CreatedAt, UpdatedAt. */
export type StoredObject = ObjectMeta;

/** Index keys: strings, or numbers (compared by their decimal form). */
export type IndexKey = string | number;

export interface IndexDef<T> {
  /** The field as users know it, for conflict messages: "Internal.PeerID". */
  readonly field: string;
  /** The object's keys in this index; none leaves it out of the index. */
  keys(object: T): readonly IndexKey[];
}

export interface TableDef<T extends StoredObject, U extends string, M extends string> {
  /** What one object is called in messages: "node". */
  readonly noun: string;
  /** Each key maps to at most one object; a clash fails the transaction with a ConflictError. */
  readonly unique: { readonly [K in U]: IndexDef<T> };
  /** Each key maps to any number of objects. */
  readonly multi: { readonly [K in M]: IndexDef<T> };
  /**
   * Checks the object's own fields (ID and the meta fields are checked by the
   * store). Must be deterministic and accept whatever the index key functions
   * rely on.
   */
  readonly check: Check;
}

/** Pins T while inferring the index names. */
function table<T extends StoredObject>() {
  return <U extends string = never, M extends string = never>(def: TableDef<T, U, M>): TableDef<T, U, M> => def;
}

/** An index over a single field; `undefined` keeps the object out. */
function field<T>(name: string, key: (object: T) => IndexKey | undefined): IndexDef<T> {
  return {
    field: name,
    keys(object) {
      const k = key(object);
      return k === undefined ? [] : [k];
    },
  };
}

const nodeCheck: Check = obj({
  Spec: obj({
    Name: optional(str()),
    Labels: labels,
    Role: oneOf(['worker', 'manager']),
    Availability: oneOf(['active', 'pause', 'drain']),
  }),
  Description: obj({
    Hostname: str(),
    Platform: obj({ Architecture: str(), OS: str() }),
    Resources: obj({ NanoCPUs: int(0), MemoryBytes: int(0) }),
    Engine: obj({ EngineVersion: str(), Labels: labels }),
  }),
  Status: obj({ State: oneOf(['unknown', 'down', 'ready', 'disconnected']), Message: optional(str()), Addr: str() }),
  ManagerStatus: optional(obj({ Leader: optional(bool), Reachability: oneOf(['unknown', 'unreachable', 'reachable']), Addr: str() })),
  Internal: obj({ PeerID: str({ nonEmpty: true }), Multiaddr: str(), RaftID: int(0) }),
});

const clusterCheck: Check = obj({
  Spec: obj({ Name: str(), Labels: labels }),
  JoinTokens: obj({ Worker: str(), Manager: str() }),
  TLSInfo: obj({}),
  RootRotationInProgress: bool,
  DataPathPort: int(0),
  DefaultAddrPool: arrayOf(str()),
  SubnetSize: int(0),
  Internal: obj({
    Fingerprint: str(),
    WorkerSecret: str(),
    ManagerSecret: str(),
    ClusterKey: optional(bytes),
    ClusterPublicKey: optional(bytes),
  }),
});

// The API validates specs in depth; the store checks what its indexes and the
// control loops rely on.
const serviceCheck: Check = obj({
  Spec: obj({ Name: str({ nonEmpty: true, max: 63 }), Labels: labels, TaskTemplate: obj({}) }),
  Internal: obj({ SpecVersion: int(0) }),
});

const taskCheck: Check = obj({
  ServiceID: str({ nonEmpty: true }),
  Slot: optional(int(0)),
  NodeID: optional(str()),
  Spec: obj({}),
  Status: obj({ State: oneOf(TASK_STATES), Message: str(), Timestamp: str() }),
  DesiredState: oneOf(TASK_STATES),
  Internal: obj({ SpecVersion: int(0) }),
});

// The allocator and the dispatcher read Allocation's fields as numbers and
// strings without further checks.
const networkCheck: Check = obj({
  Spec: obj({
    Name: str({ nonEmpty: true }),
    Labels: labels,
    Driver: oneOf(['overlay']),
    Options: labels,
    Internal: bool,
    Attachable: bool,
    Ingress: bool,
    IPAM: obj({ Driver: str(), Config: arrayOf(obj({ Subnet: optional(str()), Gateway: optional(str()) })), Options: labels }),
  }),
  Internal: obj({
    Allocation: optional(
      obj({ VNI: int(1), Subnet: str({ nonEmpty: true }), Gateway: str({ nonEmpty: true }), MTU: int(0), NodeAddresses: recordOf(str()) }),
    ),
  }),
});

export const TABLES = {
  /** The swarm itself: one object. */
  cluster: table<ClusterRecord>()({ noun: 'cluster', unique: {}, multi: {}, check: clusterCheck }),
  nodes: table<NodeRecord>()({
    noun: 'node',
    unique: {
      peerId: field<NodeRecord>('Internal.PeerID', (n) => n.Internal.PeerID),
      // 0 means "not a Raft member", which many nodes share.
      raftId: field<NodeRecord>('Internal.RaftID', (n) => (n.Internal.RaftID === 0 ? undefined : n.Internal.RaftID)),
    },
    multi: {
      role: field<NodeRecord>('Spec.Role', (n) => n.Spec.Role),
      hostname: field<NodeRecord>('Description.Hostname', (n) => n.Description.Hostname),
    },
    check: nodeCheck,
  }),
  services: table<ServiceRecord>()({
    noun: 'service',
    unique: { name: field<ServiceRecord>('Spec.Name', (s) => s.Spec.Name) },
    multi: {},
    check: serviceCheck,
  }),
  tasks: table<TaskRecord>()({
    noun: 'task',
    unique: {},
    multi: {
      service: field<TaskRecord>('ServiceID', (t) => t.ServiceID),
      node: field<TaskRecord>('NodeID', (t) => (t.NodeID === undefined || t.NodeID === '' ? undefined : t.NodeID)),
      desiredState: field<TaskRecord>('DesiredState', (t) => t.DesiredState),
      state: field<TaskRecord>('Status.State', (t) => t.Status.State),
    },
    check: taskCheck,
  }),
  networks: table<NetworkRecord>()({
    noun: 'network',
    unique: { name: field<NetworkRecord>('Spec.Name', (n) => n.Spec.Name) },
    multi: {},
    check: networkCheck,
  }),
};

export type Tables = typeof TABLES;
export type TableName = keyof Tables;
export type ObjectOf<N extends TableName> = Tables[N] extends TableDef<infer T, string, string> ? T : never;
export type UniqueIndexOf<N extends TableName> = keyof Tables[N]['unique'] & string;
export type MultiIndexOf<N extends TableName> = keyof Tables[N]['multi'] & string;

/** A table definition with its types forgotten, as the generic store code sees it. */
export type AnyTableDef = TableDef<StoredObject, string, string>;

/** In a fixed order, so snapshots list tables the same way everywhere. */
export const TABLE_NAMES: readonly TableName[] = (Object.keys(TABLES) as TableName[]).sort();

export function isTableName(value: unknown): value is TableName {
  return typeof value === 'string' && Object.hasOwn(TABLES, value);
}

export function tableDef(name: TableName): AnyTableDef {
  return TABLES[name] as unknown as AnyTableDef;
}

/** IDs: what Docker generates (base36) and what tests like to write, nothing that needs escaping. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
