// The container monitor: one long-lived process per data root (like
// containerd's shim or conmon, but one for all containers to keep it cheap)
// that outlives the agent. For each container it runs `runc run` in the
// foreground, so runc stays the container's parent-side supervisor and exits
// with its exit code (128+N when killed by signal N); it turns the output
// into a json-file log, notices the start when runc writes its pid file,
// records the exit in exit.json (OOM checked before `runc delete` removes the
// cgroup), and answers the executor's requests (monitor-server.ts).
//
// Restarted while containers run (it was killed), it adopts those runc lists
// as running and watches their pid; their exit code is then unknown (255),
// and their output is lost: runc's pipes led to the monitor that died.
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, NotFoundError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { LogRotation } from './json-log.js';
import { JsonLogWriter } from './log-writer.js';
import { CONTAINER_ID, parseExit, type ContainerExit, type ContainerState, type ContainerStatus, type MonitorRequest, type MonitorResults } from './monitor-protocol.js';
import { containerPaths, type ContainerPaths } from './rootfs.js';
import { runcDelete, runcKill, runcList, runcMessage, type Runtime } from './runc.js';

export const UNKNOWN_EXIT_CODE = 255;
export const UNKNOWN_EXIT_MESSAGE = 'container exited while its monitor was not running; exit code unknown';
export const OOM_MESSAGE = 'OOM killed';
const OOM_EXIT_CODE = 137;
const SIGKILL = 9;

export interface MonitorOptions {
  dataRoot: string;
  runtime: Runtime;
  logger: Logger;
  /** How often an adopted container's process is checked (no runc of ours waits on it). */
  adoptPollMs?: number;
}

interface Entry {
  id: string;
  paths: ContainerPaths;
  status: ContainerStatus;
  pid?: number;
  startedAt?: number;
  exit?: ContainerExit;
  starting?: Promise<ContainerState>;
  waiters: Set<() => void>;
  /** `runc delete` after the exit. */
  cleanup?: Promise<void>;
  /** Our `runc run` is its parent: the pid is the container's until runc exits (it reaps, then exits). */
  supervised?: boolean;
  stopPolling?: () => void;
}

/** `oom_kill N` in cgroup v1 memory.oom_control or v2 memory.events. */
export function oomKillCount(text: string): number {
  const m = /^oom_kill\s+(\d+)\s*$/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** Docker's exit codes for a process that never started (daemon/start.go). */
export function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 128;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks) and whether it is a zombie. */
export function parseProcStat(text: string): { state: string; startTime: string } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // After "pid (comm) ", field 3 (state) is f[0] and field 22 (starttime) is f[19].
  if (f.length < 20) return undefined;
  return { state: f[0]!, startTime: f[19]! };
}

async function procStat(pid: number): Promise<{ state: string; startTime: string } | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export class Monitor {
  private readonly entries = new Map<string, Entry>();
  private readonly containersDir: string;
  private readonly log: Logger;
  private closed = false;

  private constructor(private readonly o: MonitorOptions) {
    this.containersDir = join(o.dataRoot, 'containers');
    this.log = o.logger;
  }

  /** Picks up what a previous monitor left: exits on record, containers still running, runc records of removed ones. */
  static async open(o: MonitorOptions): Promise<Monitor> {
    const m = new Monitor(o);
    await mkdir(m.containersDir, { recursive: true, mode: 0o711 });
    await mkdir(o.runtime.root, { recursive: true, mode: 0o700 });
    await m.recover();
    return m;
  }

  async handle<R extends MonitorRequest>(req: R, cancel: AbortSignal): Promise<MonitorResults[R['op']]> {
    type Out = MonitorResults[R['op']];
    switch (req.op) {
      case 'ping':
        return { pid: process.pid } as Out;
      case 'start':
        return (await this.start(req.id, req.log)) as Out;
      case 'state':
        return (await this.state(req.id)) as Out;
      case 'wait':
        return (await this.wait(req.id, cancel)) as Out;
      case 'kill':
        await this.kill(req.id, req.signal);
        return {} as Out;
      case 'delete':
        await this.delete(req.id);
        return {} as Out;
      case 'list':
        return [...this.entries.values()].map(stateOf) as Out;
      case 'shutdown':
        return {} as Out;
    }
    throw new Error('unreachable');
  }

  /** Containers it knows of (running, or exited and not yet deleted). */
  get size(): number {
    return this.entries.size;
  }

  /** Stops watching; the containers keep running for the next monitor. */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) e.stopPolling?.();
  }

  // ---- requests ----------------------------------------------------------

  private async start(id: string, rotation: LogRotation): Promise<ContainerState> {
    const known = this.entries.get(id);
    if (known?.starting) return known.starting;
    if (known !== undefined && known.status !== 'created') return stateOf(known);
    const e = known ?? (await this.load(id));
    if (e.status !== 'created') return stateOf(e);
    this.entries.set(id, e);
    e.starting = this.launch(e, rotation).finally(() => {
      e.starting = undefined;
    });
    return e.starting;
  }

  private async state(id: string): Promise<ContainerState> {
    const e = this.entries.get(id);
    if (e !== undefined) return stateOf(e);
    return stateOf(await this.load(id));
  }

  private async wait(id: string, cancel: AbortSignal): Promise<ContainerState> {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = await this.load(id);
      if (e.status !== 'exited') return stateOf(e);
    }
    if (e.starting) await e.starting.catch(() => undefined);
    if (e.status !== 'running') return stateOf(e);
    const entry = e;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        cancel.removeEventListener('abort', done);
        entry.waiters.delete(done);
        resolve();
      };
      entry.waiters.add(done);
      cancel.addEventListener('abort', done, { once: true });
    });
    return stateOf(entry);
  }

  private async kill(id: string, signal: number): Promise<void> {
    const e = this.entries.get(id);
    if (e?.starting) await e.starting.catch(() => undefined);
    if (e === undefined || e.status !== 'running') throw new ConflictError(`container ${id} is not running`);
    if (e.supervised === true && e.pid !== undefined) {
      // Straight to the process: no runc process per signal (stopping 50 tasks would start 50 runcs).
      try {
        process.kill(e.pid, signal);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
        throw err;
      }
    }
    await runcKill(this.o.runtime, id, signal);
  }

  /** Kills the container if it runs, then forgets it (the executor removes its directory). */
  private async delete(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (e !== undefined) {
      if (e.starting) await e.starting.catch(() => undefined);
      if (e.status === 'running') {
        let done: () => void = () => undefined;
        const exited = new Promise<void>((resolve) => e.waiters.add((done = resolve)));
        try {
          // Not running any more means it is exiting: its exit is recorded in a moment either way.
          await this.kill(id, SIGKILL);
        } catch (err) {
          e.waiters.delete(done);
          throw err;
        }
        await exited;
      }
      e.stopPolling?.();
    }
    // After an exit, recordExit already runs `runc delete`; otherwise (never started, or unknown) it is done here.
    if (e?.cleanup !== undefined) await e.cleanup;
    else await runcDelete(this.o.runtime, id, true);
    this.entries.delete(id);
  }

  // ---- running a container -----------------------------------------------

  /** A container not in memory: what its directory says. */
  private async load(id: string): Promise<Entry> {
    if (!CONTAINER_ID.test(id)) throw new NotFoundError(`no such container: ${id}`);
    const paths = containerPaths(this.containersDir, id);
    const exit = await readExit(paths);
    if (exit !== undefined) return { id, paths, status: 'exited', exit, waiters: new Set() };
    try {
      await stat(paths.config);
    } catch {
      throw new NotFoundError(`no such container: ${id}; the executor must prepare it first`);
    }
    return { id, paths, status: 'created', waiters: new Set() };
  }

  private launch(e: Entry, rotation: LogRotation): Promise<ContainerState> {
    const p = e.paths;
    const rt = this.o.runtime;
    return new Promise<ContainerState>((resolve) => {
      let started = false;
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        resolve(stateOf(e));
      };
      const onStarted = (pid: number): void => {
        if (started) return;
        started = true;
        e.status = 'running';
        e.pid = pid;
        e.startedAt = Date.now();
        e.supervised = true;
        watcher?.close();
        this.log.debug({ container: e.id, pid }, 'container started');
        settle();
      };
      const checkPid = (): void => {
        readPid(p.pidFile).then(
          (pid) => {
            if (pid !== undefined) onStarted(pid);
          },
          () => undefined,
        );
      };

      let watcher: ReturnType<typeof watch> | undefined;
      let writer: JsonLogWriter;
      const begin = async (): Promise<void> => {
        await rm(p.pidFile, { force: true });
        await mkdir(p.logDir, { recursive: true });
        writer = new JsonLogWriter(p.logDir, rotation);
        // runc writes the pid file (rename into place) once the process runs: that is the start.
        watcher = watch(p.dir, (_event, name) => {
          if (name === 'pid') checkPid();
        });
        watcher.on('error', () => undefined);
        const child = spawn(
          rt.bin,
          ['--root', rt.root, '--log', p.runcLog, '--log-format', 'json', 'run', '--bundle', p.dir, '--pid-file', p.pidFile, '--keep', e.id],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout.on('data', (b: Buffer) => writer.write('stdout', b));
        child.stderr.on('data', (b: Buffer) => writer.write('stderr', b));
        child.once('error', (err) => {
          watcher?.close();
          writer.close();
          void this.recordExit(e, { exitCode: 128, finishedAt: Date.now(), oomKilled: false, startError: `could not run ${rt.bin}: ${err.message}` }).then(settle);
        });
        child.once('close', (code, signal) => {
          watcher?.close();
          writer.close();
          void this.runcEnded(e, code, signal, started).then(settle, (err: unknown) => {
            this.log.error({ err, container: e.id }, 'could not record the container exit');
            settle();
          });
        });
      };
      begin().catch((err: unknown) => {
        watcher?.close();
        void this.recordExit(e, { exitCode: 128, finishedAt: Date.now(), oomKilled: false, startError: (err as Error).message }).then(settle);
      });
    });
  }

  private async runcEnded(e: Entry, code: number | null, signal: NodeJS.Signals | null, startedSeen: boolean): Promise<void> {
    e.supervised = false;
    const started = startedSeen || (await readPid(e.paths.pidFile)) !== undefined;
    if (signal !== null) {
      // runc itself was killed, not the container: it may run on without a supervisor.
      const still = (await runcList(this.o.runtime).catch(() => [])).find((c) => c.id === e.id);
      if (still !== undefined && (still.status === 'running' || still.status === 'paused')) {
        this.log.warn({ container: e.id, signal }, 'runc was killed while its container runs; watching the container process instead');
        await this.adopt(e, still.pid);
        return;
      }
    }
    const exit: ContainerExit = { exitCode: code ?? UNKNOWN_EXIT_CODE, finishedAt: Date.now(), oomKilled: await this.oomKilled(e.id) };
    if (!started) {
      const msg = runcMessage(await readFile(e.paths.runcLog, 'utf8').catch(() => ''));
      exit.startError = msg;
      exit.exitCode = startFailureExitCode(msg);
    } else if (exit.oomKilled) {
      exit.message = OOM_MESSAGE;
    }
    await this.recordExit(e, exit);
  }

  private async recordExit(e: Entry, exit: ContainerExit): Promise<void> {
    if (e.status === 'exited') return;
    e.status = 'exited';
    e.exit = exit;
    e.stopPolling?.();
    try {
      await writeFile(e.paths.exitFile, JSON.stringify(exit));
    } catch (err) {
      // Its directory was removed: nobody will ask again.
      this.log.debug({ err, container: e.id }, 'could not write exit.json');
    }
    this.log.debug({ container: e.id, ...exit }, 'container exited');
    e.cleanup = runcDelete(this.o.runtime, e.id, true).catch((err: unknown) => this.log.warn({ err, container: e.id }, 'runc delete failed'));
    const waiters = [...e.waiters];
    e.waiters.clear();
    for (const w of waiters) w();
  }

  /** Any process of the container killed by the OOM killer; read before `runc delete` removes the cgroup. */
  private async oomKilled(id: string): Promise<boolean> {
    const files = [`/sys/fs/cgroup/memory/shoal/${id}/memory.oom_control`, `/sys/fs/cgroup/shoal/${id}/memory.events`];
    for (const f of files) {
      try {
        return oomKillCount(await readFile(f, 'utf8')) > 0;
      } catch {
        // not this cgroup version
      }
    }
    return false;
  }

  // ---- recovery ----------------------------------------------------------

  private async recover(): Promise<void> {
    const listed = new Map((await runcList(this.o.runtime)).map((c) => [c.id, c]));
    const names = await readdir(this.containersDir).catch(() => []);
    for (const id of names) {
      if (!CONTAINER_ID.test(id)) continue;
      const paths = containerPaths(this.containersDir, id);
      const rc = listed.get(id);
      listed.delete(id);
      const exit = await readExit(paths);
      if (exit !== undefined) {
        this.entries.set(id, { id, paths, status: 'exited', exit, waiters: new Set() });
        if (rc !== undefined) await runcDelete(this.o.runtime, id, true).catch(() => undefined);
        continue;
      }
      const e: Entry = { id, paths, status: 'created', waiters: new Set() };
      const pid = await readPid(paths.pidFile);
      if (rc !== undefined && (rc.status === 'running' || rc.status === 'paused')) {
        this.entries.set(id, e);
        await this.adopt(e, rc.pid);
      } else if (rc !== undefined || pid !== undefined) {
        // It ran and ended while no monitor watched it.
        this.entries.set(id, e);
        e.status = 'running';
        await this.unwatchedExit(e);
      } else {
        try {
          await stat(paths.config);
          this.entries.set(id, e);
        } catch {
          // still being prepared, or half removed: the executor decides
        }
      }
    }
    for (const id of listed.keys()) {
      this.log.warn({ container: id }, 'removing a runc container whose directory is gone');
      await runcDelete(this.o.runtime, id, true).catch(() => undefined);
    }
    const running = [...this.entries.values()].filter((e) => e.status === 'running').length;
    this.log.info({ containers: this.entries.size, adopted: running }, 'container monitor ready');
  }

  private async adopt(e: Entry, pid: number): Promise<void> {
    const first = await procStat(pid);
    e.status = 'running';
    e.pid = pid;
    e.startedAt = await stat(e.paths.pidFile).then(
      (s) => s.mtimeMs,
      () => Date.now(),
    );
    if (first === undefined || first.state === 'Z') {
      await this.unwatchedExit(e);
      return;
    }
    this.log.info({ container: e.id, pid }, 'adopted a running container (its output is no longer logged)');
    const every = this.o.adoptPollMs ?? 250;
    let timer: NodeJS.Timeout | undefined;
    const poll = async (): Promise<void> => {
      const now = await procStat(pid);
      if (this.closed || e.status !== 'running') return;
      if (now === undefined || now.state === 'Z' || now.startTime !== first.startTime) {
        await this.unwatchedExit(e);
        return;
      }
      timer = setTimeout(() => void poll(), every);
    };
    e.stopPolling = () => clearTimeout(timer);
    timer = setTimeout(() => void poll(), every);
  }

  private async unwatchedExit(e: Entry): Promise<void> {
    const oom = await this.oomKilled(e.id);
    await this.recordExit(e, {
      exitCode: oom ? OOM_EXIT_CODE : UNKNOWN_EXIT_CODE,
      finishedAt: Date.now(),
      oomKilled: oom,
      message: oom ? OOM_MESSAGE : UNKNOWN_EXIT_MESSAGE,
    });
  }
}

function stateOf(e: Entry): ContainerState {
  const s: ContainerState = { id: e.id, status: e.status };
  if (e.pid !== undefined) s.pid = e.pid;
  if (e.startedAt !== undefined) s.startedAt = e.startedAt;
  if (e.exit !== undefined) s.exit = e.exit;
  return s;
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function readExit(p: ContainerPaths): Promise<ContainerExit | undefined> {
  let text: string;
  try {
    text = await readFile(p.exitFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseExit(JSON.parse(text));
  } catch {
    return { exitCode: UNKNOWN_EXIT_CODE, finishedAt: Date.now(), oomKilled: false, message: 'exit.json is unreadable' };
  }
}
