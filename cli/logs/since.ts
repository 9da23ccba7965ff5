// `--since` as the docker CLI reads it (api/types/time.GetTimestamp): a Go
// duration back from now ("10m", "1h30m"), an RFC 3339 time or a prefix of
// one ("2024-05-01", "2024-05-01T12:00", local time when it has no zone), or
// a unix timestamp ("1714564800.5"), into the API's "seconds.nanoseconds".
import { ShoalError } from '../../shared/errors.js';
import { parseDuration } from '../format/units.js';

const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?)?(Z|[+-]\d{2}:\d{2})?$/i;
const UNIX = /^[+-]?\d+(?:\.\d+)?$/;

export function logsTimestamp(value: string, now: Date, flag = 'since'): string {
  const invalid = (why: string): ShoalError => new ShoalError('invalid_argument', `invalid value for "${flag}": ${why}`, 400);
  if (value !== '0') {
    try {
      const ns = parseDuration(value);
      return String(Math.floor((now.getTime() - ns / 1e6) / 1000));
    } catch {
      // Not a duration: a time, or a unix timestamp.
    }
  }
  const m = TIME.exec(value);
  if (m) {
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const fraction = (frac ?? '.').slice(1).padEnd(9, '0');
    const local = zone === undefined;
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)] as const;
    let ms: number;
    if (local) ms = new Date(...parts).getTime();
    else {
      const utc = Date.UTC(...parts);
      const z = zone.toUpperCase();
      const offsetMin = z === 'Z' ? 0 : (z.startsWith('-') ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6)));
      ms = utc - offsetMin * 60_000;
    }
    if (Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59) {
      throw invalid(`parsing time ${JSON.stringify(value)}: out of range`);
    }
    return `${Math.floor(ms / 1000)}.${fraction}`;
  }
  // Shaped like a date but not one: say so rather than call it a timestamp.
  if (value.includes('-') && !UNIX.test(value)) throw invalid(`parsing time ${JSON.stringify(value)}: not an RFC 3339 time (e.g. 2013-01-02T13:23:37Z)`);
  if (UNIX.test(value)) return value;
  throw invalid(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
}
