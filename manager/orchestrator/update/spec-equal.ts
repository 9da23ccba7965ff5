// Structural equality of stored plain data (specs). A field that is absent,
// undefined or null means "not set" in Docker's JSON, and the codec may turn
// one into another on the way through Raft, so all three compare equal.

function unset(v: unknown): boolean {
  return v === undefined || v === null;
}

export function dataEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (unset(a) || unset(b)) return unset(a) && unset(b);
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((x, i) => dataEqual(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of Object.keys(ra)) if (!dataEqual(ra[k], rb[k])) return false;
  // Keys only b has must be unset in it (a's were all compared above).
  for (const k of Object.keys(rb)) if (!(k in ra) && !unset(rb[k])) return false;
  return true;
}
