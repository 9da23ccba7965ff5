// Outer-form checks on the daemon's answers. The daemon serves Docker's
// shapes, so only the outer form (object, array) is checked: a daemon
// answering something else fails loudly here instead of printing "undefined"
// further down.
import { ShoalError } from '../../shared/errors.js';

export function unexpected(what: string): ShoalError {
  return new ShoalError('bad_response', `unexpected answer from the daemon for ${what}`, 502);
}

export function object<T>(value: unknown, what: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unexpected(what);
  return value as T;
}

export function array<T>(value: unknown, what: string): T[] {
  if (!Array.isArray(value)) throw unexpected(what);
  return value as T[];
}

/** One path segment, escaped. */
export const seg = encodeURIComponent;
