// Deciding what a transaction does, without doing it. The planner checks
// every op against the current tables and the transaction as a whole (unique
// keys in the final state), and either returns the complete list of changes
// or throws before anything was touched: that is what makes a transaction
// all-or-nothing, identically on every replica.
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../shared/errors.js';
import { deepFreeze, show } from './schema.js';
import { keyString, type TableState } from './table-state.js';
import type { Op, Transaction } from './transaction.js';
import { type StoredObject, tableDef, type TableName } from './tables.js';

export interface Change {
  table: TableName;
  kind: 'create' | 'update' | 'delete';
  /** The stored version before (update, delete). */
  before: StoredObject | undefined;
  /** The version to store (create, update), already stamped and frozen. */
  after: StoredObject | undefined;
}

export type TablesView = ReadonlyMap<TableName, TableState>;

function opId(op: Op): string {
  return op.op === 'delete' ? op.id : op.object.ID;
}

function checkVersion(op: Op, current: StoredObject): void {
  if (op.op === 'create' || op.expectedVersion === undefined || op.expectedVersion === current.Version.Index) return;
  const noun = tableDef(op.table).noun;
  throw new ConflictError(
    `${noun} ${current.ID} was updated since you read it (version ${op.expectedVersion}, now ${current.Version.Index}); read it again and retry`,
  );
}

/** The object as stored: the store's own meta fields first (as Docker prints them), then the proposer's fields. */
function stamp(object: Record<string, unknown> & { ID: string }, index: number, createdAt: string, time: string): StoredObject {
  const { ID, Version: _v, CreatedAt: _c, UpdatedAt: _u, ...rest } = object;
  return deepFreeze({ ID, Version: { Index: index }, CreatedAt: createdAt, UpdatedAt: time, ...rest });
}

function planOp(tables: TablesView, op: Op, index: number, time: string): Change {
  const t = tables.get(op.table)!;
  const noun = tableDef(op.table).noun;
  const id = opId(op);
  const current = t.get(id);
  if (op.op === 'create') {
    if (current) throw new ConflictError(`cannot create ${noun} ${id}: a ${noun} with that ID already exists`);
    return { table: op.table, kind: 'create', before: undefined, after: stamp(op.object, index, time, time) };
  }
  if (!current) throw new NotFoundError(`cannot ${op.op} ${noun} ${id}: no such ${noun} (it may have been removed)`);
  checkVersion(op, current);
  if (op.op === 'delete') return { table: op.table, kind: 'delete', before: current, after: undefined };
  return { table: op.table, kind: 'update', before: current, after: stamp(op.object, index, current.CreatedAt, time) };
}

/** Unique keys must hold in the state after the whole transaction (so two objects may swap a key in one go). */
function checkUnique(tables: TablesView, changes: readonly Change[]): void {
  const touched = new Set(changes.map((c) => `${c.table}\0${(c.after ?? c.before)!.ID}`));
  const claimed = new Map<string, string>();
  for (const c of changes) {
    if (!c.after) continue;
    const def = tableDef(c.table);
    const t = tables.get(c.table)!;
    const id = c.after.ID;
    for (const [name, idef] of Object.entries(def.unique)) {
      for (const k of idef.keys(c.after)) {
        const slot = `${c.table}\0${name}\0${keyString(k)}`;
        const inTx = claimed.get(slot);
        const stored = t.owner(name, k);
        let other: string | undefined;
        if (inTx !== undefined && inTx !== id) other = inTx;
        // A stored owner that this transaction rewrites gives the key up, unless its new version claims it again (caught above).
        else if (stored !== undefined && stored !== id && !touched.has(`${c.table}\0${stored}`)) other = stored;
        if (other !== undefined) {
          throw new ConflictError(`cannot ${c.kind} ${def.noun} ${id}: ${idef.field} ${show(keyString(k))} is already used by ${def.noun} ${other}`);
        }
        claimed.set(slot, id);
      }
    }
  }
}

/** Every change the transaction makes, or a ShoalError and no changes. */
export function planTransaction(tables: TablesView, tx: Transaction, index: number): Change[] {
  const seen = new Set<string>();
  const changes: Change[] = [];
  tx.ops.forEach((op, i) => {
    const key = `${op.table}\0${opId(op)}`;
    if (seen.has(key)) {
      throw new InvalidArgumentError(
        `ops[${i}] writes ${tableDef(op.table).noun} ${opId(op)} a second time; a transaction writes each object at most once (merge the changes into one op)`,
      );
    }
    seen.add(key);
    changes.push(planOp(tables, op, index, tx.time));
  });
  checkUnique(tables, changes);
  return changes;
}
