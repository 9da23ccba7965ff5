// Real shoal daemon processes on loopback for integration tests: each gets a
// temp data root, an API unix socket and a free cluster port; its logs go to
// a file the test can search (and print when something fails).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

// dist/test/integration/daemon-harness.js -> dist/cli/main.js
export const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

/** Poll `cond` until it holds; fail with `what` after the deadline. Never a fixed sleep. */
export async function eventually<T>(cond: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 50));
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

export class DaemonProcess {
  child: ChildProcess | undefined;
  readonly socket: string;
  readonly logFile: string;
  private agent: Agent;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly dataRoot: string,
    readonly port: number,
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

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [MAIN, 'daemon', '--data-root', this.dataRoot, '-H', this.hostArg, '--log-level', 'debug'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(async () => (await this.api('GET', '/_ping')).status === 200, `${this.name} answers /_ping`, 20_000);
  }

  /** kill -9: no goodbye, nothing flushed beyond what was fsynced. */
  async kill9(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const res = await request(`http://localhost${path}`, {
      method: method as 'GET',
      dispatcher: this.agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
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

  /**
   * Announce a body of `declaredBytes` and send only its first bytes: a
   * server enforcing a body limit must answer from the Content-Length alone.
   * (Writing the whole body races with the server dropping the connection
   * after its answer.)
   */
  async statusForDeclaredBody(method: string, path: string, declaredBytes: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socket, path, method, headers: { 'content-type': 'application/json', 'content-length': declaredBytes } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', reject);
      req.write('{"Spec": {"Labels": {"big": "xxxxxxxx');
    });
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
}

export class DaemonCluster {
  readonly daemons = new Map<string, DaemonProcess>();

  private constructor(readonly root: string) {}

  static async create(): Promise<DaemonCluster> {
    return new DaemonCluster(await mkdtemp(join(tmpdir(), 'shoal-it-')));
  }

  async add(name: string): Promise<DaemonProcess> {
    const d = new DaemonProcess(name, join(this.root, name), await freePort());
    this.daemons.set(name, d);
    await d.start();
    return d;
  }

  get(name: string): DaemonProcess {
    const d = this.daemons.get(name);
    if (!d) throw new Error(`no daemon ${name}`);
    return d;
  }

  /** The last lines of every daemon's log, for a failing test's output. */
  async dumpLogs(lines = 40): Promise<string> {
    const parts: string[] = [];
    for (const d of this.daemons.values()) {
      const text = (await d.logs()).trim().split('\n').slice(-lines).join('\n');
      parts.push(`--- ${d.name} (${d.logFile}) ---\n${text}`);
    }
    return parts.join('\n');
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.daemons.values()].map((d) => d.kill9()));
    if (!process.env['SHOAL_KEEP_TEST_DIRS']) await rm(this.root, { recursive: true, force: true });
  }
}

/** Docker's HeartbeatPeriod is in nanoseconds. */
export const ms = (n: number): number => n * 1e6;
