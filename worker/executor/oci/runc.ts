// Running the OCI runtime's one-shot commands (list, kill, delete, state) and
// making sense of its errors. runc keeps its container state under
// <data-root>/runc (`--root`), so shoal's containers never mix with others.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ShoalError } from '../../../shared/errors.js';

export interface Runtime {
  /** Absolute path of runc (or a compatible runtime such as crun). */
  bin: string;
  /** runc's state directory. */
  root: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Root's usual sbin directories, which a daemon's PATH sometimes lacks. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** `runc` from PATH (or sbin), or the given path; a clear error when it is not there. */
export async function resolveRuntime(runtime: string): Promise<string> {
  const candidates = runtime.includes('/') ? [runtime] : [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS].map((d) => join(d, runtime));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new ShoalError(
    'runtime_missing',
    `container runtime "${runtime}" not found${runtime.includes('/') ? '' : ' in PATH'}; install runc (apt-get install runc) or name another runtime`,
    500,
  );
}

export function run(bin: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/**
 * The message in runc's error output, without its log decoration: runc logs
 * `time=... level=error msg="..."` (or JSON with --log-format json) and a
 * failed `run` adds `runc run failed: ` in front.
 */
export function runcMessage(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  let last: string | undefined;
  for (const line of lines) {
    const msg = logMessage(line);
    if (msg !== undefined) {
      if (msg.level === 'error' || msg.level === 'fatal') last = msg.msg;
    } else {
      last = line;
    }
  }
  return (last ?? 'failed without a message').replace(/^runc (run|create|exec|start) failed: /, '');
}

function logMessage(line: string): { level: string; msg: string } | undefined {
  if (line.startsWith('{')) {
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        if (typeof o['msg'] === 'string') return { level: typeof o['level'] === 'string' ? o['level'] : 'info', msg: o['msg'] };
      }
    } catch {
      return undefined;
    }
    return undefined;
  }
  const level = /\blevel=(\w+)/.exec(line);
  if (level === null) return undefined;
  const quoted = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line);
  if (quoted !== null) {
    try {
      return { level: level[1]!, msg: JSON.parse(`"${quoted[1]!}"`) as string };
    } catch {
      return { level: level[1]!, msg: quoted[1]! };
    }
  }
  const bare = /\bmsg=(\S+)/.exec(line);
  return bare !== null ? { level: level[1]!, msg: bare[1]! } : undefined;
}

export class RuncError extends ShoalError {
  constructor(message: string) {
    super('runc_error', `runc: ${message}`, 500);
  }
}

async function must(rt: Runtime, args: string[]): Promise<RunResult> {
  const r = await run(rt.bin, ['--root', rt.root, ...args]);
  if (r.code !== 0) throw new RuncError(runcMessage(r.stderr));
  return r;
}

export interface RuncContainer {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'pausing' | 'paused' | 'stopped';
}

export async function runcList(rt: Runtime): Promise<RuncContainer[]> {
  const r = await must(rt, ['list', '--format', 'json']);
  const v = JSON.parse(r.stdout.trim() === '' ? 'null' : r.stdout) as unknown;
  if (!Array.isArray(v)) return [];
  const out: RuncContainer[] = [];
  for (const c of v as unknown[]) {
    if (typeof c !== 'object' || c === null) continue;
    const o = c as Record<string, unknown>;
    if (typeof o['id'] !== 'string' || typeof o['status'] !== 'string') continue;
    out.push({ id: o['id'], pid: typeof o['pid'] === 'number' ? o['pid'] : 0, status: o['status'] as RuncContainer['status'] });
  }
  return out;
}

const GONE = /does not exist|not exist/;
const NOT_RUNNING = /not running|container not running|process already finished/;

/** Removes the runtime's record of a container; one that is already gone is fine. */
export async function runcDelete(rt: Runtime, id: string, force: boolean): Promise<void> {
  const r = await run(rt.bin, ['--root', rt.root, 'delete', ...(force ? ['--force'] : []), id]);
  if (r.code === 0) return;
  const msg = runcMessage(r.stderr);
  if (GONE.test(msg)) return;
  throw new RuncError(msg);
}

/** Signals the container's init; false when it is no longer running. */
export async function runcKill(rt: Runtime, id: string, signal: number): Promise<boolean> {
  const r = await run(rt.bin, ['--root', rt.root, 'kill', id, String(signal)]);
  if (r.code === 0) return true;
  const msg = runcMessage(r.stderr);
  if (NOT_RUNNING.test(msg) || GONE.test(msg)) return false;
  throw new RuncError(msg);
}
