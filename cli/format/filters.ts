// `-f name=value` flags into the `filters` query parameter.
import { InvalidArgumentError } from '../../shared/errors.js';

/** Filter name -> values, the form the API reference documents (map[string][]string). */
export type Filters = Record<string, string[]>;

/** docker's filters.ParseFlag: split on the first "=", trim both sides, lower-case the name. */
export function parseFilters(flags: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  for (const flag of flags) {
    if (flag === '') continue;
    const at = flag.indexOf('=');
    if (at === -1) throw new InvalidArgumentError(`bad format of filter (expected name=value): "${flag}"`);
    const name = flag.slice(0, at).trim().toLowerCase();
    const value = flag.slice(at + 1).trim();
    const values = out.get(name) ?? [];
    if (!values.includes(value)) values.push(value);
    out.set(name, values);
  }
  return Object.fromEntries(out);
}

/** The `filters` query value, or undefined when there is nothing to filter on. */
export function encodeFilters(filters: Filters): string | undefined {
  return Object.keys(filters).length === 0 ? undefined : JSON.stringify(filters);
}
