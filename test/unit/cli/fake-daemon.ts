// A stand-in for the shoal daemon: a node:http server on a unix socket in a temp dir that
// answers canned Docker-API replies and records every request, so command tests can check
// exactly what the CLI sent and what it printed. Also runs the CLI in-process.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../cli/main.js';
import type { Node } from '../../../shared/model/index.js';

export interface RecordedRequest {
  method: string;
  /** Path without the /v1.xx prefix and without the query. */
  path: string;
  /** The version prefix the client used, e.g. "1.56"; undefined when it sent none. */
  apiVersion: string | undefined;
  query: Record<string, string>;
  /** Parsed JSON body; undefined when empty. */
  body: unknown;
  headers: IncomingMessage['headers'];
}

export interface Reply {
  status?: number;
  body?: unknown;
  /** Never answer (for timeout tests). */
  hang?: boolean;
}

export type Route = Reply | ((req: RecordedRequest) => Reply);

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

export class FakeDaemon {
  readonly requests: RecordedRequest[] = [];
  readonly #routes: Map<string, Route>;
  readonly #server: Server;
  readonly #dir: string;
  readonly socketPath: string;

  private constructor(routes: Record<string, Route>, dir: string) {
    this.#routes = new Map(Object.entries(routes));
    this.#dir = dir;
    this.socketPath = join(dir, 'shoal.sock');
    this.#server = createServer((req, res) => {
      // A bug in a test's route should fail that test's request, not crash the runner.
      this.#handle(req, res).catch((err: unknown) => res.writeHead(500).end(JSON.stringify({ message: String(err) })));
    });
  }

  /** Routes are keyed "METHOD /path", e.g. "GET /nodes/abc". Anything else answers 404. */
  static async start(routes: Record<string, Route>): Promise<FakeDaemon> {
    const daemon = new FakeDaemon(routes, await mkdtemp(join(tmpdir(), 'shoal-cli-')));
    await new Promise<void>((resolve, reject) => {
      daemon.#server.once('error', reject);
      daemon.#server.listen(daemon.socketPath, resolve);
    });
    return daemon;
  }

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  /** Requests as "METHOD /path", in order, for compact assertions. */
  get calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  setRoute(key: string, route: Route): void {
    this.#routes.set(key, route);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/v([0-9.]+)(\/.*)$/.exec(url.pathname);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: decodeURIComponent(m ? m[2]! : url.pathname),
      apiVersion: m ? m[1] : undefined,
      query: Object.fromEntries(url.searchParams),
      body: await readBody(req),
      headers: req.headers,
    };
    this.requests.push(recorded);
    const route = this.#routes.get(`${recorded.method} ${recorded.path}`);
    const reply: Reply = route === undefined ? { status: 404, body: { message: 'page not found' } } : typeof route === 'function' ? route(recorded) : route;
    if (reply.hang) return;
    const status = reply.status ?? 200;
    if (reply.body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `shoal -H <host> args...` in-process, with its output captured. */
export async function shoal(host: string, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(['-H', host, ...args], {
    io: { out: (s) => void (stdout += s), err: (s) => void (stderr += s) },
    client: { timeoutMs: 5_000, connectTimeoutMs: 1_000 },
  });
  return { code, stdout, stderr };
}

export function makeNode(id: string, hostname: string, over: Partial<Node> = {}): Node {
  return {
    ID: id,
    Version: { Index: 7 },
    CreatedAt: '2026-11-22T10:00:00.123456789Z',
    UpdatedAt: '2026-11-22T10:00:01Z',
    Spec: { Role: 'worker', Availability: 'active', Labels: {} },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 },
      Engine: { EngineVersion: '0.1.0' },
    },
    Status: { State: 'ready', Addr: '10.0.0.1' },
    ...over,
  };
}
