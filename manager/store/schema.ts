// Runtime checks for what comes out of a Raft entry or a snapshot. Those bytes
// were written by some leader's code (possibly another version, possibly a
// bug), so the store checks every object before it can reach an index or a
// reader. A check returns a problem description, never throws: the caller
// decides which error to raise, and every replica reaches the same verdict.

/** A check of one value at `path`; undefined means fine. */
export type Check = (value: unknown, path: string) => string | undefined;

/** How deep plain data may nest; deeper is refused rather than risking the stack. */
export const MAX_DEPTH = 48;

export function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A short rendering of a bad value for messages (values can be large or secret-like). */
export function show(value: unknown): string {
  let s: string;
  if (value === undefined) s = 'undefined';
  else if (typeof value === 'number') s = String(value); // JSON would print NaN and Infinity as null
  else if (typeof value === 'bigint') s = `${value}n`;
  else if (typeof value === 'object' && value !== null && !Array.isArray(value) && !isRecord(value)) {
    s = `a ${value.constructor?.name ?? 'non-plain'} object`;
  } else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Only what JSON (plus undefined and byte arrays) can express: the model is
 * Docker's JSON, and anything else (Dates, BigInts, Maps, NaN) would encode
 * or compare differently from one place to the next. Bytes are allowed for
 * keys and such (msgpack carries them natively, always as Uint8Array/Buffer).
 */
export function plainDataProblem(value: unknown, path: string, depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return `${path || 'value'} nests deeper than ${MAX_DEPTH} levels`;
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path || 'value'} must be a finite number (got ${show(value)})`;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const p = plainDataProblem(value[i], `${path}[${i}]`, depth + 1);
          if (p) return p;
        }
        return undefined;
      }
      if (value instanceof Uint8Array) return undefined;
      if (!isRecord(value)) return `${path || 'value'} must be plain JSON data (got ${show(value)})`;
      for (const [k, v] of Object.entries(value)) {
        const p = plainDataProblem(v, at(path, k), depth + 1);
        if (p) return p;
      }
      return undefined;
    }
    default:
      return `${path || 'value'} must be plain JSON data (got ${show(value)})`;
  }
}

export function str(opts: { nonEmpty?: boolean; max?: number; pattern?: RegExp; hint?: string } = {}): Check {
  return (v, path) => {
    if (typeof v !== 'string') return `${path} must be a string (got ${show(v)})`;
    if (opts.nonEmpty && v.length === 0) return `${path} must not be empty`;
    if (opts.max !== undefined && v.length > opts.max) return `${path} must be at most ${opts.max} characters (got ${v.length})`;
    if (opts.pattern && !opts.pattern.test(v)) return `${path} ${opts.hint ?? `must match ${opts.pattern}`} (got ${show(v)})`;
    return undefined;
  };
}

export function int(min = Number.MIN_SAFE_INTEGER): Check {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `${path} must be an integer (got ${show(v)})`;
    if (v < min) return `${path} must be >= ${min} (got ${v})`;
    return undefined;
  };
}

export const bool: Check = (v, path) => (typeof v === 'boolean' ? undefined : `${path} must be true or false (got ${show(v)})`);

export function oneOf(values: readonly string[]): Check {
  return (v, path) =>
    typeof v === 'string' && values.includes(v) ? undefined : `${path} must be one of ${values.join(', ')} (got ${show(v)})`;
}

export function optional(check: Check): Check {
  return (v, path) => (v === undefined ? undefined : check(v, path));
}

export function arrayOf(check: Check): Check {
  return (v, path) => {
    if (!Array.isArray(v)) return `${path} must be an array (got ${show(v)})`;
    for (let i = 0; i < v.length; i++) {
      const p = check(v[i], `${path}[${i}]`);
      if (p) return p;
    }
    return undefined;
  };
}

export function recordOf(check: Check): Check {
  return (v, path) => {
    if (!isRecord(v)) return `${path} must be an object (got ${show(v)})`;
    for (const [k, x] of Object.entries(v)) {
      const p = check(x, at(path, k));
      if (p) return p;
    }
    return undefined;
  };
}

/** The listed fields must pass; other fields are allowed (Docker's shapes have many optional ones). */
export function obj(fields: Record<string, Check>): Check {
  return (v, path) => {
    if (!isRecord(v)) return `${path || 'object'} must be an object (got ${show(v)})`;
    for (const [k, check] of Object.entries(fields)) {
      const p = check(v[k], at(path, k));
      if (p) return p;
    }
    return undefined;
  };
}

export const labels: Check = optional(recordOf(str()));

export const bytes: Check = (v, path) => (v instanceof Uint8Array ? undefined : `${path} must be bytes (got ${show(v)})`);

/**
 * Freeze a value and everything inside it. Stored objects are shared with
 * every reader, watcher and apply result instead of being cloned per read; the
 * freeze is what makes that sharing safe. Byte arrays are the exception:
 * JavaScript cannot freeze them, so their contents stay writable (never
 * write to them). Returns its argument.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
