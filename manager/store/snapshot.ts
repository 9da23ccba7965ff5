// The whole store as bytes, for Raft snapshots. Objects are listed by table
// in TABLE_NAMES order and by ID within a table, so two replicas holding the
// same state produce the same bytes whatever order they wrote it in.
// Restoring rebuilds every index from the objects; indexes are never stored.
import { ShoalError } from '../../shared/errors.js';
import { pack, unpack } from './codec.js';
import { deepFreeze, int, isRecord, obj, plainDataProblem, show, str } from './schema.js';
import { keyString, TableState } from './table-state.js';
import { ID_PATTERN, isTableName, type StoredObject, TABLE_NAMES, tableDef, type TableName } from './tables.js';

/** Bumped when the layout changes; older managers refuse newer snapshots. */
export const SNAPSHOT_FORMAT = 1;

export interface StoreSnapshot {
  /** Index of the last entry the store applied. */
  appliedIndex: number;
  tables: Record<TableName, StoredObject[]>;
}

/** A snapshot that cannot be restored; the replica must not go on with a half state. */
export class SnapshotError extends ShoalError {
  constructor(message: string) {
    super('snapshot_invalid', `cannot restore the store snapshot: ${message}`, 500);
  }
}

const metaCheck = obj({
  ID: str({ pattern: ID_PATTERN, hint: 'is not a valid ID' }),
  Version: obj({ Index: int(1) }),
  CreatedAt: str({ nonEmpty: true }),
  UpdatedAt: str({ nonEmpty: true }),
});

export function encodeSnapshot(s: StoreSnapshot): Uint8Array {
  const tables: Record<string, StoredObject[]> = {};
  for (const name of TABLE_NAMES) tables[name] = s.tables[name];
  return pack({ format: SNAPSHOT_FORMAT, appliedIndex: s.appliedIndex, tables });
}

export function emptySnapshot(): StoreSnapshot {
  const tables = {} as Record<TableName, StoredObject[]>;
  for (const name of TABLE_NAMES) tables[name] = [];
  return { appliedIndex: 0, tables };
}

/** Decode and check every object; the result's objects are deep-frozen. Empty bytes are an empty store. */
export function decodeSnapshot(bytes: Uint8Array): StoreSnapshot {
  if (bytes.byteLength === 0) return emptySnapshot();
  let raw: unknown;
  try {
    raw = unpack(bytes);
  } catch (err) {
    throw new SnapshotError(`not valid msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(raw)) throw new SnapshotError(`expected an object (got ${show(raw)})`);
  if (raw['format'] !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`unknown format ${show(raw['format'])}; this manager reads format ${SNAPSHOT_FORMAT} (upgrade it to the version that wrote the snapshot)`);
  }
  const applied = int(0)(raw['appliedIndex'], 'appliedIndex');
  if (applied) throw new SnapshotError(applied);
  const appliedIndex = raw['appliedIndex'] as number;
  const rawTables = raw['tables'];
  if (!isRecord(rawTables)) throw new SnapshotError(`tables must be an object (got ${show(rawTables)})`);
  const out = emptySnapshot();
  out.appliedIndex = appliedIndex;
  for (const [name, list] of Object.entries(rawTables)) {
    // A table this manager does not know would be silently lost: refuse instead.
    if (!isTableName(name)) throw new SnapshotError(`unknown table ${show(name)} (was it written by a newer manager?)`);
    if (!Array.isArray(list)) throw new SnapshotError(`table ${name} must be a list (got ${show(list)})`);
    const def = tableDef(name);
    list.forEach((o: unknown, i) => {
      const path = `${name}[${i}]`;
      const p = plainDataProblem(o, path) ?? metaCheck(o, path) ?? def.check(o, path);
      if (p) throw new SnapshotError(p);
      const index = (o as StoredObject).Version.Index;
      if (index > appliedIndex) throw new SnapshotError(`${path} has Version.Index ${index}, past the snapshot's index ${appliedIndex}`);
    });
    out.tables[name] = deepFreeze(list as StoredObject[]);
  }
  return out;
}

/** Tables with their indexes rebuilt; refuses duplicate IDs and unique-key clashes rather than guessing. */
export function buildTables(s: StoreSnapshot): Map<TableName, TableState> {
  const result = new Map<TableName, TableState>();
  for (const name of TABLE_NAMES) {
    const def = tableDef(name);
    const t = new TableState(def);
    for (const o of s.tables[name]) {
      if (t.has(o.ID)) throw new SnapshotError(`${def.noun} ${o.ID} appears twice in table ${name}`);
      for (const [index, idef] of Object.entries(def.unique)) {
        for (const k of idef.keys(o)) {
          const owner = t.owner(index, k);
          if (owner !== undefined && owner !== o.ID) {
            throw new SnapshotError(`${def.noun}s ${owner} and ${o.ID} share ${idef.field} ${show(keyString(k))}, which must be unique`);
          }
        }
      }
      t.put(o);
    }
    result.set(name, t);
  }
  return result;
}
