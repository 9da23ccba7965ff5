// The container monitor as a real detached process, driven through its
// client, with a stand-in for runc (a shell script that runs the bundle's
// script.sh as the "container"), so no root is needed: start detection, the
// json-file log, exit codes, start failures, kill, delete, one monitor per
// data root, and a monitor killed and replaced while a container runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../shared/logger.js';
import { parseLine } from '../../../worker/executor/oci/json-log.js';
import { MonitorClient } from '../../../worker/executor/oci/monitor-client.js';
import { launchMonitor } from '../../../worker/executor/oci/monitor-launch.js';
import { monitorPaths } from '../../../worker/executor/oci/monitor-paths.js';
import { UNKNOWN_EXIT_CODE, UNKNOWN_EXIT_MESSAGE } from '../../../worker/executor/oci/monitor.js';

const log = createLogger({ level: 'silent' });
const ROTATION = { maxSize: 1 << 20, maxFiles: 2 };

// Speaks the part of runc's command line the monitor uses. State: <root>/<id>.pid.
const FAKE_RUNC = `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2;;
    --log) log=$2; shift 2;;
    --log-format) shift 2;;
    *) break;;
  esac
done
cmd=$1; shift
mkdir -p "$root"
case "$cmd" in
  list)
    printf '['; sep=
    for f in "$root"/*.pid; do
      [ -e "$f" ] || continue
      id=$(basename "$f" .pid); pid=$(cat "$f")
      if kill -0 "$pid" 2>/dev/null; then st=running; else st=stopped; fi
      printf '%s{"id":"%s","pid":%s,"status":"%s"}' "$sep" "$id" "$pid" "$st"; sep=,
    done
    printf ']\\n';;
  delete)
    while [ $# -gt 1 ]; do shift; done
    rm -f "$root/$1.pid";;
  kill)
    pid=$(cat "$root/$1.pid" 2>/dev/null) && kill -$2 "$pid" 2>/dev/null || { echo 'time="x" level=error msg="container not running"' >&2; exit 1; };;
  run)
    while [ $# -gt 1 ]; do
      case "$1" in
        --bundle) b=$2; shift 2;;
        --pid-file) p=$2; shift 2;;
        *) shift;;
      esac
    done
    id=$1
    if [ -e "$b/fail" ]; then
      echo "{\\"level\\":\\"error\\",\\"msg\\":\\"runc run failed: $(cat "$b/fail")\\"}" >> "$log"
      echo "runc run failed: $(cat "$b/fail")" >&2
      exit 1
    fi
    sh "$b/script.sh" &
    child=$!
    echo $child > "$root/$id.pid"
    echo $child > "$p.tmp" && mv "$p.tmp" "$p"
    wait $child
    exit $?;;
esac
`;

let n = 0;
const newId = (): string => (++n).toString(16).padStart(64, '0');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('container monitor (fake runc)', { timeout: 120_000 }, () => {
  let dir: string;
  let dataRoot: string;
  let runc: string;
  let client: MonitorClient;
  const pids = new Set<number>();

  const connect = (): MonitorClient => new MonitorClient({ socketPath: monitorPaths(dataRoot).socket, launch: () => launchMonitor({ dataRoot, runtimeBin: runc }), logger: log });

  /** A prepared container directory whose "process" is this shell script. */
  const container = async (script: string, opts: { fail?: string } = {}): Promise<string> => {
    const id = newId();
    const d = join(dataRoot, 'containers', id);
    await mkdir(join(d, 'log'), { recursive: true });
    await writeFile(join(d, 'config.json'), '{}');
    await writeFile(join(d, 'script.sh'), script);
    if (opts.fail !== undefined) await writeFile(join(d, 'fail'), opts.fail);
    return id;
  };

  const monitorPid = async (): Promise<number> => Number((await readFile(monitorPaths(dataRoot).pidFile, 'utf8')).trim());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-oci-monitor-'));
    dataRoot = join(dir, 'data');
    await mkdir(dataRoot);
    runc = join(dir, 'fake-runc');
    await writeFile(runc, FAKE_RUNC);
    await chmod(runc, 0o755);
    client = connect();
  });

  after(async () => {
    const pid = await monitorPid().catch(() => 0);
    await client?.shutdown().catch(() => undefined);
    client?.close();
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('one monitor per data root: a second launch finds the first', async () => {
    const first = await client.ping();
    assert.ok(alive(first.pid));
    assert.equal(await monitorPid(), first.pid);
    assert.equal(await launchMonitor({ dataRoot, runtimeBin: runc }), 'already-running');
    assert.equal((await client.ping()).pid, first.pid);
  });

  test('a container runs, its output becomes json-file lines, its exit code is kept', async () => {
    const id = await container('echo hello; echo oops >&2; exit 3\n');
    const started = await client.start(id, ROTATION);
    assert.ok(started.status === 'running' || started.status === 'exited', started.status);
    assert.ok(started.pid !== undefined && started.pid > 0);
    const done = await client.wait(id);
    assert.equal(done.status, 'exited');
    assert.equal(done.exit?.exitCode, 3);
    assert.equal(done.exit?.oomKilled, false);
    assert.equal(done.exit?.message, undefined);
    const lines = (await readFile(join(dataRoot, 'containers', id, 'log', 'container.log'), 'utf8')).trim().split('\n').map(parseLine);
    assert.deepEqual(lines.map((l) => `${l?.stream}:${l?.log}`).sort(), ['stderr:oops\n', 'stdout:hello\n']);
    const onDisk = JSON.parse(await readFile(join(dataRoot, 'containers', id, 'exit.json'), 'utf8')) as { exitCode: number };
    assert.equal(onDisk.exitCode, 3);
    assert.deepEqual(await client.start(id, ROTATION), done, 'start again only says it exited');
    await client.delete(id);
  });

  test("a process that cannot start: the runtime's message and Docker's exit code", async () => {
    const id = await container('exit 0\n', { fail: 'unable to start container process: exec: /nope: no such file or directory' });
    const st = await client.start(id, ROTATION);
    assert.equal(st.status, 'exited');
    assert.equal(st.exit?.startError, 'unable to start container process: exec: /nope: no such file or directory');
    assert.equal(st.exit?.exitCode, 127);
    await client.delete(id);
  });

  test('kill signals the process; exit 128+N; kill of a stopped one is a conflict', async () => {
    const id = await container('exec sleep 30\n');
    const st = await client.start(id, ROTATION);
    assert.equal(st.status, 'running');
    pids.add(st.pid!);
    const waiting = client.wait(id);
    await client.kill(id, 15);
    assert.equal((await waiting).exit?.exitCode, 143);
    await assert.rejects(client.kill(id, 15), (e: Error & { code?: string }) => e.code === 'conflict');
    await client.delete(id);
  });

  test('delete kills a running container and forgets it; unknown ones are not found', async () => {
    const id = await container('exec sleep 30\n');
    const st = await client.start(id, ROTATION);
    pids.add(st.pid!);
    assert.ok((await client.list()).some((c) => c.id === id && c.status === 'running'));
    await client.delete(id);
    assert.equal(alive(st.pid!), false);
    assert.ok(!(await client.list()).some((c) => c.id === id));
    await assert.rejects(client.state('f'.repeat(64)), (e: Error & { code?: string }) => e.code === 'not_found' && /prepare it first/.test(e.message));
    const created = await container('exit 0\n');
    assert.equal((await client.state(created)).status, 'created');
    assert.equal((await client.wait(created)).status, 'created', 'a wait on a container never started answers at once');
  });

  test('a killed monitor is replaced on the next call; the new one adopts the running container and a pending wait carries over', async () => {
    const id = await container('exec sleep 60\n');
    const st = await client.start(id, ROTATION);
    pids.add(st.pid!);
    const waiting = client.wait(id);
    const old = await monitorPid();
    process.kill(old, 'SIGKILL');
    await until('the old monitor to die', () => (alive(old) ? undefined : true));
    assert.ok(alive(st.pid!), 'the container outlives its monitor');
    const now = await until('a new monitor', async () => {
      const pid = await monitorPid().catch(() => 0);
      return pid !== old && pid > 0 && alive(pid) ? pid : undefined;
    });
    assert.notEqual(now, old);
    const adopted = await client.state(id);
    assert.equal(adopted.status, 'running');
    assert.equal(adopted.pid, st.pid);
    process.kill(st.pid!, 'SIGKILL');
    const exit = (await waiting).exit;
    assert.equal(exit?.exitCode, UNKNOWN_EXIT_CODE);
    assert.equal(exit?.message, UNKNOWN_EXIT_MESSAGE);
    await client.delete(id);
  });
});
