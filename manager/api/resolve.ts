// How dockerd finds the object a user named (getService, getTask in
// daemon/cluster/helpers.go): the full ID first, then the exact name, then a
// unique ID prefix. Pure; the backends pass what they hold.
import { InvalidArgumentError, NotFoundError } from '../../shared/errors.js';

export interface RefKeys<T> {
  id(item: T): string;
  names(item: T): readonly string[];
}

/**
 * The one item `ref` names. 404 `<noun> X not found` when nothing matches;
 * 400 `<noun> X is ambiguous (N matches found)` when a name or prefix picks
 * several, as dockerd answers.
 */
export function resolveRef<T>(items: readonly T[], ref: string, noun: string, keys: RefKeys<NoInfer<T>>): T {
  const exact = items.find((i) => keys.id(i) === ref);
  if (exact !== undefined) return exact;
  const named = items.filter((i) => keys.names(i).includes(ref));
  // A name that matches never falls through to an ID prefix, which could pick another object.
  const matches = named.length > 0 ? named : ref === '' ? [] : items.filter((i) => keys.id(i).startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new InvalidArgumentError(`${noun} ${ref} is ambiguous (${matches.length} matches found); use the full ${noun} ID`);
  }
  throw new NotFoundError(`${noun} ${ref} not found`);
}

/** Services by ID, name, ID prefix. */
export const SERVICE_KEYS: RefKeys<{ ID: string; Spec: { Name?: string } }> = {
  id: (s) => s.ID,
  names: (s) => (s.Spec.Name ? [s.Spec.Name] : []),
};
