// Query-string values read the way dockerd reads them, so scripts written against Docker
// behave the same here. The JSON schemas only make sure each value is a single string;
// the meaning (and dockerd's error wording) lives in these functions.

import { InvalidArgumentError } from '../../shared/errors.js';

/**
 * dockerd's `httputils.BoolValue`: anything but "", "0", "no", "false" or "none"
 * (trimmed, any case) is true. Used for `force`.
 */
export function lenientBool(value: string | undefined): boolean {
  const s = (value ?? '').trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/**
 * Go's `strconv.ParseBool`, which dockerd uses for the rotate flags of /swarm/update.
 * Absent or empty means false; anything unrecognised is a 400 naming the parameter.
 */
export function strictBool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  throw new InvalidArgumentError(`invalid value for ${name}: ${value}`);
}

const UINT64_MAX = 18446744073709551615n;

/**
 * The `version` query parameter of update endpoints, parsed like Go's
 * `strconv.ParseUint(raw, 10, 64)` with dockerd's message, e.g.
 * `invalid node version 'abc': strconv.ParseUint: parsing "abc": invalid syntax`.
 * Versions are Raft indexes, so a value past 2^53 cannot name a real write.
 */
export function objectVersion(kind: string, raw: string | undefined): number {
  const value = raw ?? '';
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`invalid ${kind} version '${value}': strconv.ParseUint: parsing ${JSON.stringify(value)}: ${why}`);
  };
  if (!/^[0-9]+$/.test(value)) return fail('invalid syntax');
  const big = BigInt(value);
  if (big > UINT64_MAX || big > BigInt(Number.MAX_SAFE_INTEGER)) return fail('value out of range');
  return Number(big);
}
