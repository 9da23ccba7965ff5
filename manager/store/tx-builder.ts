// The typed way to build a transaction:
//
//   const t = tx();
//   t.nodes.create(node);
//   t.nodes.update(readNode);                       // checked against readNode.Version.Index
//   t.cluster.update(draft, { expectedVersion: 12 });
//   t.nodes.delete(id, { expectedVersion: 40 });
//   t.update('nodes', draft, 12);                   // a number is { expectedVersion }
//
// One object may appear in one op per transaction (the store refuses more):
// whole objects, one write each, keeps "what did this transaction do" obvious.
import { InvalidArgumentError } from '../../shared/errors.js';
import { type Draft, type Op, toWire } from './transaction.js';
import { type ObjectOf, type StoredObject, TABLE_NAMES, tableDef, type TableName } from './tables.js';

export interface UpdateOptions {
  /** The Version.Index the change was based on; defaults to the object's own Version.Index. */
  expectedVersion?: number;
  /** Write whatever the stored version is. Last writer wins: only for fields nobody else writes. */
  unconditional?: boolean;
}

export interface DeleteOptions {
  /** Fail with a ConflictError if the object changed since this version; absent: delete whatever is there. */
  expectedVersion?: number;
}

export interface TableWriter<T extends StoredObject> {
  /** A new object; ConflictError at apply if the ID or a unique key is taken. */
  create(object: Draft<T>): TableWriter<T>;
  /**
   * Replace an existing object with this one. Optimistic by default: the
   * version to check comes from opts.expectedVersion or object.Version.Index;
   * with neither (and no unconditional: true) the builder refuses the op.
   */
  update(object: Draft<T>, opts?: UpdateOptions | number): TableWriter<T>;
  delete(id: string, opts?: DeleteOptions | number): TableWriter<T>;
}

export type TableWriters = { readonly [N in TableName]: TableWriter<ObjectOf<N>> };

export class TxBuilder {
  private readonly list: Op[] = [];

  /** The ops so far, in order. */
  get ops(): readonly Op[] {
    return this.list;
  }

  create<N extends TableName>(table: N, object: Draft<ObjectOf<N>>): this {
    this.list.push({ op: 'create', table, object: toWire(object) });
    return this;
  }

  update<N extends TableName>(table: N, object: Draft<ObjectOf<N>>, options: UpdateOptions | number = {}): this {
    const opts = typeof options === 'number' ? { expectedVersion: options } : options;
    let expectedVersion: number | undefined;
    if (!opts.unconditional) {
      expectedVersion = opts.expectedVersion ?? object.Version?.Index;
      if (expectedVersion === undefined) {
        throw new InvalidArgumentError(
          `update of ${tableDef(table).noun} ${object.ID} says neither which version it is based on nor that it is unconditional: ` +
            'pass the object as read from the store, { expectedVersion }, or { unconditional: true }',
        );
      }
    }
    this.list.push({ op: 'update', table, object: toWire(object), ...(expectedVersion !== undefined ? { expectedVersion } : {}) });
    return this;
  }

  delete<N extends TableName>(table: N, id: string, options: DeleteOptions | number = {}): this {
    const opts = typeof options === 'number' ? { expectedVersion: options } : options;
    this.list.push({ op: 'delete', table, id, ...(opts.expectedVersion !== undefined ? { expectedVersion: opts.expectedVersion } : {}) });
    return this;
  }

  /** The typed writer for one table; tx().nodes is tx().table('nodes'). */
  table<N extends TableName>(name: N): TableWriter<ObjectOf<N>> {
    const writer: TableWriter<ObjectOf<N>> = {
      create: (object) => (this.create(name, object), writer),
      update: (object, opts) => (this.update(name, object, opts), writer),
      delete: (id, opts) => (this.delete(name, id, opts), writer),
    };
    return writer;
  }
}

/** A builder plus one writer property per table (so no table may be named like a builder method). */
export type Tx = TxBuilder & TableWriters;

export function tx(): Tx {
  const b = new TxBuilder();
  const writers = Object.fromEntries(TABLE_NAMES.map((name) => [name, b.table(name)])) as unknown as TableWriters;
  return Object.assign(b, writers);
}
