// Bench-side helpers: real `shoal daemon` processes on loopback (adapted from
// the integration tests' harness, which benches must not import), plus the
// small things every bench here shares: a data directory on a real disk,
// percentiles, and the JSON-line reporter.
//
// Each daemon gets a data root under one bench directory, an API unix socket
// and a free cluster port; its log goes to <root>/<name>.log so a bench can
// read timestamps out of it (pino's `time` is the daemon's Date.now()).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

// dist/bench/daemons.js -> dist/cli/main.js
export const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

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

/** Poll `cond` until it holds; fail with `what` after the deadline. */
export async function eventually<T>(cond: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// --- daemons ------------------------------------------------------------------------

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export interface DaemonProcessOptions {
  /** The daemon's --log-level (default info: enough for leader changes, cheap enough not to skew timings). */
  logLevel?: string;
}

export class DaemonProcess {
  child: ChildProcess | undefined;
  readonly socket: string;
  readonly logFile: string;
  private readonly agent: Agent;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly dataRoot: string,
    readonly port: number,
    private readonly opts: DaemonProcessOptions = {},
  ) {
    this.socket = join(dataRoot, 'api.sock');
    this.logFile = join(dataRoot, '..', `${name}.log`);
    this.agent = new Agent({ connect: { socketPath: this.socket } });
  }

  /** host:port of its cluster listener. */
  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get hostArg(): string {
    return `unix://${this.socket}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawn the daemon and wait until its API answers /_ping. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    await mkdir(this.dataRoot, { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      [MAIN, 'daemon', '--data-root', this.dataRoot, '-H', this.hostArg, '--log-level', this.opts.logLevel ?? 'info'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(async () => (await this.api('GET', '/_ping')).status === 200, `${this.name} answers /_ping`, 30_000, 20);
  }

  /** kill -9: no goodbye, nothing flushed beyond what was fsynced. Returns Date.now() just before the signal. */
  async kill9(): Promise<number> {
    const at = Date.now();
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
    return at;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  async api<T = unknown>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<ApiResponse<T>> {
    const res = await request(`http://localhost${path}`, {
      method: method as 'GET',
      dispatcher: this.agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (e.g. /_ping's "OK").
    }
    return { status: res.statusCode, body: parsed as T, text };
  }

  /** api() that insists on a 2xx answer. */
  async ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.api<T>(method, path, body);
    if (r.status < 200 || r.status >= 300) throw new Error(`${this.name}: ${method} ${path} -> ${r.status} ${r.text}`);
    return r.body;
  }

  async logs(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** The daemon's log as parsed pino lines (lines that are not JSON are skipped). */
  async logLines(): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (const line of (await this.logs()).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v === 'object' && v !== null) out.push(v as Record<string, unknown>);
      } catch {
        // A torn last line of a killed daemon.
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

export class DaemonCluster {
  readonly daemons = new Map<string, DaemonProcess>();

  private constructor(
    readonly root: string,
    private readonly opts: DaemonProcessOptions,
  ) {}

  static async create(prefix = 'shoal-bench-daemons-', opts: DaemonProcessOptions = {}): Promise<DaemonCluster> {
    return new DaemonCluster(await benchRoot(prefix), opts);
  }

  async add(name: string): Promise<DaemonProcess> {
    const d = new DaemonProcess(name, join(this.root, name), await freePort(), this.opts);
    this.daemons.set(name, d);
    await d.start();
    return d;
  }

  get(name: string): DaemonProcess {
    const d = this.daemons.get(name);
    if (!d) throw new Error(`no daemon ${name}`);
    return d;
  }

  /** The last lines of every daemon's log, for a bench that went wrong. */
  async dumpLogs(lines = 40): Promise<string> {
    const parts: string[] = [];
    for (const d of this.daemons.values()) {
      const text = (await d.logs()).trim().split('\n').slice(-lines).join('\n');
      parts.push(`--- ${d.name} (${d.logFile}) ---\n${text}`);
    }
    return parts.join('\n');
  }

  async destroy(keep = process.env['SHOAL_KEEP_BENCH_DIRS'] !== undefined): Promise<void> {
    await Promise.all([...this.daemons.values()].map((d) => d.kill9()));
    await Promise.all([...this.daemons.values()].map((d) => d.close()));
    if (!keep) await rm(this.root, { recursive: true, force: true });
  }
}

/** Docker's durations (HeartbeatPeriod) are in nanoseconds. */
export const ms = (n: number): number => n * 1e6;
