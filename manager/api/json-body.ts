// Request bodies, read the way dockerd's `httputils.ReadJSON` reads them, plus the guards a
// JavaScript server needs and Go does not.

import { InvalidArgumentError } from '../../shared/errors.js';

/**
 * Parses a JSON request body.
 *
 * - An empty body is no body (dockerd decodes nothing and uses zero values); the caller
 *   gets `undefined`.
 * - `null` anywhere inside an object is dropped: Go leaves the field at its zero value, and
 *   the docker CLI sends `"Labels": null` and `"DefaultAddrPool": null` routinely. Dropping
 *   them lets the schemas and the backend see "absent" instead of a second kind of empty.
 * - `__proto__` keys and `constructor.prototype` are refused, so nothing downstream that
 *   merges objects can be tricked into touching prototypes.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text, dropNullsAndPoison);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    // The reviver recurses once per nesting level; absurdly deep documents overflow the stack.
    if (err instanceof RangeError) throw new InvalidArgumentError('invalid JSON: nested too deeply');
    throw new InvalidArgumentError(`invalid JSON: ${(err as Error).message}`);
  }
}

function dropNullsAndPoison(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') throw new InvalidArgumentError('invalid JSON: the key "__proto__" is not allowed');
  if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) {
    throw new InvalidArgumentError('invalid JSON: the key "constructor.prototype" is not allowed');
  }
  // Returning undefined deletes the property; array elements keep their nulls (no holes).
  if (value === null && !Array.isArray(this)) return undefined;
  return value;
}

/** dockerd's wording for a body that is not JSON (`CheckForJSON`). */
export function unsupportedContentType(contentType: string): InvalidArgumentError {
  return new InvalidArgumentError(`unsupported Content-Type header (${contentType}): must be 'application/json'`);
}
