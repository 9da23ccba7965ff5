// A transaction is the unit of change: a list of whole-object writes that the
// proposer encodes into ONE Raft entry and every replica applies all-or-nothing.
// Proposers send whole objects (no patches): an object's new state never
// depends on how a replica merges, only on the entry's bytes.
import { InvalidArgumentError } from '../../shared/errors.js';
import { pack, unpack } from './codec.js';
import { int, isRecord, plainDataProblem, show, str } from './schema.js';
import { ID_PATTERN, isTableName, type StoredObject, tableDef, type TableName } from './tables.js';

/** Bumped when the entry layout changes; replicas refuse layouts they do not know. */
export const TX_FORMAT = 1;
/** Ops per transaction at most; bigger batches belong in several transactions. */
export const MAX_OPS = 10_000;

/** An object as proposers send it: the fields the store stamps (Version, CreatedAt, UpdatedAt) are optional and ignored. */
export type Draft<T extends StoredObject> = Omit<T, 'Version' | 'CreatedAt' | 'UpdatedAt'> &
  Partial<Pick<T, 'Version' | 'CreatedAt' | 'UpdatedAt'>>;

/** The object part as it travels: without the stamped fields. */
export type WireObject = { ID: string } & Record<string, unknown>;

export type Op =
  | { op: 'create'; table: TableName; object: WireObject }
  /** expectedVersion: fail with a ConflictError unless the stored Version.Index is this; absent: unconditional. */
  | { op: 'update'; table: TableName; object: WireObject; expectedVersion?: number }
  | { op: 'delete'; table: TableName; id: string; expectedVersion?: number };

export interface Transaction {
  /**
   * RFC 3339 with nanoseconds, chosen by the proposer: it becomes CreatedAt /
   * UpdatedAt, so every replica stamps the same time.
   */
  time: string;
  ops: readonly Op[];
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const timeCheck = str({ pattern: RFC3339, hint: 'must be an RFC 3339 time such as 2024-05-01T12:00:00.000000000Z' });
const idCheck = str({ pattern: ID_PATTERN, hint: 'must be 1-128 characters of A-Z a-z 0-9 _ . - starting with a letter or digit' });
const versionCheck = int(0);

/** Docker's time format (RFC 3339 with nanoseconds, UTC) for a clock reading in ms. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatTime needs a finite time in ms, got ${ms}`);
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // 2024-05-01T12:00:00.123Z
  const nanosBelowMs = Math.round((ms - whole) * 1e6);
  return `${iso.slice(0, -1)}${String(Math.min(nanosBelowMs, 999_999)).padStart(6, '0')}Z`;
}

/** The object without the fields the store stamps, so they cost no bytes in the log. */
export function toWire(object: Draft<StoredObject>): WireObject {
  const { Version: _v, CreatedAt: _c, UpdatedAt: _u, ...rest } = object as StoredObject;
  return rest;
}

function opProblem(raw: unknown, i: number): string | undefined {
  const where = `ops[${i}]`;
  if (!isRecord(raw)) return `${where} must be an object (got ${show(raw)})`;
  const { op, table } = raw;
  if (op !== 'create' && op !== 'update' && op !== 'delete') return `${where}.op must be create, update or delete (got ${show(op)})`;
  if (!isTableName(table)) return `${where}.table ${show(table)} is not a table this manager knows (is every manager running the same version?)`;
  if (op !== 'create' && raw['expectedVersion'] !== undefined) {
    const p = versionCheck(raw['expectedVersion'], `${where}.expectedVersion`);
    if (p) return p;
  }
  if (op === 'delete') return idCheck(raw['id'], `${where}.id`);
  const object = raw['object'];
  const def = tableDef(table);
  if (!isRecord(object)) return `${where} (${op} ${def.noun}) must carry an object (got ${show(object)})`;
  const problem = idCheck(object['ID'], 'ID') ?? plainDataProblem(object, '') ?? def.check(object, '');
  if (!problem) return undefined;
  const id = object['ID'];
  return `${where} (${op} ${def.noun} ${typeof id === 'string' && ID_PATTERN.test(id) ? id : show(id)}): ${problem}`;
}

/** What is wrong with a decoded transaction, or undefined when it is well formed. */
export function transactionProblem(raw: unknown): string | undefined {
  if (!isRecord(raw)) return `expected a transaction object (got ${show(raw)})`;
  if (raw['v'] !== TX_FORMAT) return `unknown transaction format ${show(raw['v'])} (this manager reads format ${TX_FORMAT})`;
  const p = timeCheck(raw['time'], 'time');
  if (p) return p;
  const ops = raw['ops'];
  if (!Array.isArray(ops)) return `ops must be an array (got ${show(ops)})`;
  if (ops.length > MAX_OPS) return `a transaction holds at most ${MAX_OPS} ops (got ${ops.length}); split it`;
  for (let i = 0; i < ops.length; i++) {
    const q = opProblem(ops[i], i);
    if (q) return q;
  }
  return undefined;
}

function wireOp(op: Op): Record<string, unknown> {
  switch (op.op) {
    case 'create':
      return { op: op.op, table: op.table, object: op.object };
    case 'update':
      return { op: op.op, table: op.table, object: op.object, ...(op.expectedVersion !== undefined ? { expectedVersion: op.expectedVersion } : {}) };
    case 'delete':
      return { op: op.op, table: op.table, id: op.id, ...(op.expectedVersion !== undefined ? { expectedVersion: op.expectedVersion } : {}) };
  }
}

/** The entry bytes. Checks the transaction first, so a proposer hears about a bad object before Raft does. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  const wire = { v: TX_FORMAT, time: tx.time, ops: tx.ops.map(wireOp) };
  const problem = transactionProblem(wire);
  if (problem) throw new InvalidArgumentError(`invalid store transaction: ${problem}`);
  return pack(wire);
}

/**
 * The transaction in an entry, or an InvalidArgumentError saying what is
 * wrong. Never throws anything else, whatever the bytes.
 */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  let raw: unknown;
  try {
    raw = unpack(bytes);
  } catch (err) {
    throw new InvalidArgumentError(`not a store transaction: the bytes are not valid msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const problem = transactionProblem(raw);
  if (problem) throw new InvalidArgumentError(`not a valid store transaction: ${problem}`);
  // transactionProblem checked every field read below.
  const r = raw as { time: string; ops: Op[] };
  return { time: r.time, ops: r.ops };
}
