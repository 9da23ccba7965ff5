// The small value formats the docker CLI uses (github.com/docker/go-units, Go's time
// package), reimplemented so shoal prints and accepts the same strings.

const NS_PER_SECOND = 1e9;

/** docker's formatter.PrettyPrint for strings: "ready" -> "Ready". */
export function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

/** go-units HumanDuration: "5 seconds", "About a minute", "3 hours"... from nanoseconds. */
export function humanDuration(ns: number): string {
  const seconds = Math.trunc(ns / NS_PER_SECOND);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ns / (3600 * NS_PER_SECOND) + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ns / (3600 * NS_PER_SECOND)) / 24 / 365)} years`;
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

/** go-units BytesSize: 4 significant digits, binary units, e.g. "7.776GiB". */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  // Go's %.4g drops trailing zeros; parseFloat does the same to toPrecision's output.
  return `${String(parseFloat(size.toPrecision(4)))}${BINARY_UNITS[i]}`;
}

// Go's time.ParseDuration units, in nanoseconds.
const DURATION_UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * Go's time.ParseDuration ("5s", "1m30s", "1.5h", "300ms") into nanoseconds, with Go's
 * error texts. Exact integer arithmetic; refuses what a JS number cannot hold exactly.
 */
export function parseDuration(input: string): number {
  const invalid = (): Error => new Error(`time: invalid duration "${input}"`);
  let s = input;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/;
  while (s !== '') {
    const m = part.exec(s);
    const [whole = '', int = '', frac, unitText = ''] = m ?? [];
    if (int === '' && (frac === undefined || frac === '')) throw invalid();
    if (unitText === '') throw new Error(`time: missing unit in duration "${input}"`);
    const unit = DURATION_UNITS[unitText];
    if (unit === undefined) throw new Error(`time: unknown unit "${unitText}" in duration "${input}"`);
    total += BigInt(int === '' ? '0' : int) * unit;
    if (frac !== undefined && frac !== '') total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    s = s.slice(whole.length);
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid();
  return Number(negative ? -total : total);
}

/** docker's formatter.Ellipsis: cut to maxWidth characters, the last one an ellipsis. */
export function ellipsis(s: string, maxWidth: number): string {
  const chars = [...s];
  if (chars.length <= maxWidth) return s;
  if (maxWidth <= 0) return '';
  return chars.slice(0, maxWidth - 1).join('') + '…';
}

/** Go's time.Time.String() for an RFC 3339 UTC timestamp, as `docker node inspect --pretty` prints it. */
export function goTimeString(rfc3339: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(rfc3339);
  if (!m) return rfc3339;
  const frac = (m[3] ?? '').slice(0, 9).replace(/0+$/, '');
  return `${m[1]} ${m[2]}${frac === '' ? '' : `.${frac}`} +0000 UTC`;
}
