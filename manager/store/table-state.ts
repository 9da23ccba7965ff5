// One table in memory: objects by ID plus its secondary indexes. It trusts
// its caller: uniqueness has been checked before insert() is called (the
// transaction planner does it for the whole transaction at once).
import type { AnyTableDef, IndexKey, StoredObject } from './tables.js';

/** Index keys are compared by their string form, so 7 and "7" are the same key. */
export function keyString(k: IndexKey): string {
  return typeof k === 'number' ? String(k) : k;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

export class TableState {
  private readonly objects = new Map<string, StoredObject>();
  private readonly unique = new Map<string, Map<string, string>>();
  private readonly multi = new Map<string, Map<string, Set<string>>>();
  /** IDs in sorted order, rebuilt lazily after a create or delete; updates keep it valid. */
  private sortedIds: string[] | undefined;

  constructor(readonly def: AnyTableDef) {
    for (const name of Object.keys(def.unique)) this.unique.set(name, new Map());
    for (const name of Object.keys(def.multi)) this.multi.set(name, new Map());
  }

  get size(): number {
    return this.objects.size;
  }

  get(id: string): StoredObject | undefined {
    return this.objects.get(id);
  }

  has(id: string): boolean {
    return this.objects.has(id);
  }

  /** Every object, by ID. */
  list(): StoredObject[] {
    this.sortedIds ??= [...this.objects.keys()].sort();
    return this.sortedIds.map((id) => this.objects.get(id)!);
  }

  /** The ID owning `key` in a unique index. */
  owner(index: string, key: IndexKey): string | undefined {
    return this.uniqueIndex(index).get(keyString(key));
  }

  /** IDs under `key` in a non-unique index, sorted. */
  findIds(index: string, key: IndexKey): string[] {
    const set = this.multiIndex(index).get(keyString(key));
    return set ? [...set].sort() : [];
  }

  /** Insert or replace (the old version's index entries are removed first). */
  put(object: StoredObject): void {
    const old = this.objects.get(object.ID);
    this.objects.set(object.ID, object);
    if (old) {
      this.reindex(old, object);
    } else {
      this.sortedIds = undefined;
      this.index(object);
    }
  }

  /**
   * Move an updated object's index entries, touching only the indexes whose
   * keys changed: most updates (a task's status, a node's heartbeat) keep
   * every key, and re-indexing them all was the store's largest apply cost.
   */
  private reindex(old: StoredObject, object: StoredObject): void {
    for (const [name, def] of Object.entries(this.def.unique)) {
      const before = def.keys(old).map(keyString);
      const after = def.keys(object).map(keyString);
      if (sameKeys(before, after)) continue;
      const idx = this.uniqueIndex(name);
      for (const ks of before) if (idx.get(ks) === old.ID) idx.delete(ks);
      for (const ks of after) idx.set(ks, object.ID);
    }
    for (const [name, def] of Object.entries(this.def.multi)) {
      const before = def.keys(old).map(keyString);
      const after = def.keys(object).map(keyString);
      if (sameKeys(before, after)) continue;
      const idx = this.multiIndex(name);
      for (const ks of before) {
        const set = idx.get(ks);
        if (!set) continue;
        set.delete(old.ID);
        if (set.size === 0) idx.delete(ks);
      }
      for (const ks of after) {
        let set = idx.get(ks);
        if (!set) idx.set(ks, (set = new Set()));
        set.add(object.ID);
      }
    }
  }

  delete(id: string): void {
    const old = this.objects.get(id);
    if (!old) return;
    this.unindex(old);
    this.objects.delete(id);
    this.sortedIds = undefined;
  }

  private index(o: StoredObject): void {
    for (const [name, def] of Object.entries(this.def.unique)) {
      const idx = this.uniqueIndex(name);
      for (const k of def.keys(o)) idx.set(keyString(k), o.ID);
    }
    for (const [name, def] of Object.entries(this.def.multi)) {
      const idx = this.multiIndex(name);
      for (const k of def.keys(o)) {
        const ks = keyString(k);
        let set = idx.get(ks);
        if (!set) idx.set(ks, (set = new Set()));
        set.add(o.ID);
      }
    }
  }

  private unindex(o: StoredObject): void {
    for (const [name, def] of Object.entries(this.def.unique)) {
      const idx = this.uniqueIndex(name);
      for (const k of def.keys(o)) {
        const ks = keyString(k);
        if (idx.get(ks) === o.ID) idx.delete(ks);
      }
    }
    for (const [name, def] of Object.entries(this.def.multi)) {
      const idx = this.multiIndex(name);
      for (const k of def.keys(o)) {
        const ks = keyString(k);
        const set = idx.get(ks);
        if (!set) continue;
        set.delete(o.ID);
        // Empty sets would pile up under keys nobody uses any more.
        if (set.size === 0) idx.delete(ks);
      }
    }
  }

  private uniqueIndex(name: string): Map<string, string> {
    const idx = this.unique.get(name);
    if (!idx) throw new RangeError(`table has no unique index "${name}" (unique indexes: ${[...this.unique.keys()].join(', ') || 'none'})`);
    return idx;
  }

  private multiIndex(name: string): Map<string, Set<string>> {
    const idx = this.multi.get(name);
    if (!idx) throw new RangeError(`table has no index "${name}" (indexes: ${[...this.multi.keys()].join(', ') || 'none'})`);
    return idx;
  }
}
