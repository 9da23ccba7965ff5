// Store times are RFC 3339 strings with nanoseconds (formatTime in
// manager/store/transaction.ts); the updater compares them with the clock's
// milliseconds. Date.parse does not promise to read nine fraction digits, so
// the fraction is read here.

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch (fraction kept), or undefined when `value` is not an RFC 3339 time. */
export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  const fraction = m[2] === undefined ? 0 : Number(`0.${m[2]}`) * 1000;
  return whole + fraction;
}

/** Docker durations are nanoseconds; the clock counts milliseconds. */
export function nanosToMs(ns: number): number {
  return ns / 1e6;
}
