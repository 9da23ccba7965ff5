// What every bench here shares: a data directory on a real disk,
// percentiles, the JSON-line reporter, and real daemon processes (the same
// fixture the integration tests use, rooted on a real disk).
import { mkdir, mkdtemp, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonCluster, type DaemonProcessOptions } from '../test/fixtures/daemons.js';

export { DaemonCluster, DaemonProcess, eventually, freePort, ms } from '../test/fixtures/daemons.js';

const TMPFS_MAGIC = 0x01021994;

// --- reporting -------------------------------------------------------------------

export type Report = (metric: string, value: number, unit: string, extra?: Record<string, unknown>) => void;

/** A printer of `{"bench", "metric", "value", "unit", ...extra}` lines for one bench. */
export function reporter(bench: string): Report {
  return (metric, value, unit, extra = {}) => {
    process.stdout.write(`${JSON.stringify({ bench, metric, value: round(value), unit, ...extra })}\n`);
  };
}

export function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** A fresh directory on a real disk: tmpfs would make every fsync free and every figure meaningless. */
export async function benchRoot(prefix: string): Promise<string> {
  const tmp = tmpdir();
  let base = tmp;
  if ((await statfs(tmp)).type === TMPFS_MAGIC) {
    base = fileURLToPath(new URL('../../.bench-tmp/', import.meta.url));
    await mkdir(base, { recursive: true });
    process.stderr.write(`bench: ${tmp} is tmpfs; using ${base} instead\n`);
  }
  return mkdtemp(join(base, prefix));
}

/** A daemon cluster on a real disk, logging at info (debug logging would skew the timings). */
export async function benchCluster(prefix: string, opts: DaemonProcessOptions = {}): Promise<DaemonCluster> {
  return DaemonCluster.at(await benchRoot(prefix), { logLevel: 'info', ...opts });
}
