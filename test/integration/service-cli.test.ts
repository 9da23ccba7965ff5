// The `shoal` CLI driving services on a swarm of real daemon processes (one
// manager, two workers, sim executor), run as a user would run it: the
// compiled main.js in a child process, against the manager's socket. The steps
// build on each other: create with convergence progress, ls, ps, inspect, a
// failing update that pauses (non-zero exit), rollback, node ps and rm.
// Waiting and state checks go to the API directly: each CLI run costs about
// a second of Node start-up, and what is under test here is the CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Service, Task } from '../../shared/model/index.js';
import { parseTable, type TableRow } from '../compat/docker-cli.js';
import { DaemonCluster, eventually, MAIN, type DaemonProcess } from './daemon-harness.js';

const ID = /^[a-z0-9]{25}$/;
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const lines = (out: string): string[] => out.split('\n').filter((l) => l.trim() !== '');
const lastLine = (out: string): string => lines(out).at(-1) ?? '';
const BAD_ENV = ['SHOAL_SIM_RUN_MS=100', 'SHOAL_SIM_EXIT_CODE=1'];

interface ShoalResult {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

function explain(r: ShoalResult, what: string): string {
  return `${r.command}: ${what}, got exit code ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

/** Our environment without SHOAL_HOST (-H says where), logs kept quiet. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_')) env[k] = v;
  env['SHOAL_LOG_LEVEL'] = 'warn';
  return env;
}

/** `shoal -H <daemon> <args...>` with the Node that runs the tests; never throws for a non-zero exit. */
function shoal(d: DaemonProcess, args: readonly string[], timeoutMs = 30_000): Promise<ShoalResult> {
  const argv = [MAIN, '-H', d.hostArg, ...args];
  const command = `shoal -H ${d.hostArg} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { env: cliEnv(), timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${command}: ${err.message}${err.killed ? ` (killed after ${timeoutMs} ms)` : ''}\n${stderr}`));
        return;
      }
      resolve({ command, code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

describe('the shoal CLI drives services on a swarm (1 manager, 2 workers, sim executor)', { timeout: 120_000 }, () => {
  let c: DaemonCluster;
  let m1: DaemonProcess;
  const nodeIds: string[] = [];
  let webId = '';

  const raw = (...args: string[]): Promise<ShoalResult> => shoal(m1, args);
  const ok = async (...args: string[]): Promise<ShoalResult> => {
    const r = await raw(...args);
    if (r.code !== 0) throw new Error(explain(r, 'expected exit code 0'));
    return r;
  };
  const run = async (...args: string[]): Promise<string> => (await ok(...args)).stdout;
  const table = async (...args: string[]): Promise<TableRow[]> => parseTable(await run(...args));
  const header = (out: string): string[] => (lines(out)[0] ?? '').trim().split(/ {2,}/);
  const inspect = async (ref: string): Promise<Service> => {
    const parsed: unknown = JSON.parse(await run('service', 'inspect', ref));
    assert.ok(Array.isArray(parsed) && parsed.length === 1, `shoal service inspect ${ref} prints a one-element array`);
    return parsed[0] as Service;
  };
  /** The daemon's view, for waiting: GET /services/{ref} and GET /tasks. */
  const apiService = (ref: string): Promise<Service> => m1.ok<Service>('GET', `/services/${ref}`);
  const apiTasks = (filters: Record<string, string[]>): Promise<Task[]> =>
    m1.ok<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify(filters))}`);
  const running = (ts: Task[]): Task[] => ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');

  before(async () => {
    c = await DaemonCluster.create('shoal-svc-cli-', { extraArgs: ['--executor', 'sim'] });
    m1 = await c.add('m1');
    const workers = [await c.add('w1'), await c.add('w2')];
    await run('swarm', 'init', '--advertise-addr', m1.addr, '--listen-addr', m1.addr, '--dispatcher-heartbeat', '500ms');
    const token = (await run('swarm', 'join-token', '-q', 'worker')).trim();
    for (const w of workers) {
      const r = await shoal(w, ['swarm', 'join', '--token', token, '--advertise-addr', w.addr, '--listen-addr', w.addr, m1.addr]);
      if (r.code !== 0) throw new Error(explain(r, 'expected exit code 0'));
    }
    // Node IDs straight from the API: they only name the nodes in the assertions below.
    for (const d of [m1, ...workers]) {
      const info = await d.ok<{ Swarm: { NodeID: string } }>('GET', '/info');
      assert.match(info.Swarm.NodeID, ID);
      nodeIds.push(info.Swarm.NodeID);
    }
    await eventually(async () => {
      const rows = await table('node', 'ls');
      return rows.length === 3 && rows.every((r) => r['STATUS'] === 'Ready') ? true : undefined;
    }, 'shoal node ls shows three Ready nodes');
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs()}\n`);
    await c?.destroy();
  });

  it('shoal service create without --detach shows progress, verifies, and exits 0', async () => {
    // sim/app:1 is in no registry: --no-resolve-image, or the CLI warns that it could not pin it.
    const r = await ok('service', 'create', '--name', 'web', '--replicas', '4', '--no-resolve-image', 'sim/app:1');
    const out = lines(r.stdout);
    assert.match(out[0] ?? '', ID, explain(r, 'the first line is the service ID'));
    webId = out[0]!;
    assert.equal(out[1], 'overall progress: 0 out of 4 tasks', explain(r, 'progress starts at 0 out of 4'));
    assert.match(r.stdout, /^overall progress: 4 out of 4 tasks$/m, explain(r, 'overall progress reaches 4 out of 4'));
    assert.match(r.stdout, /^verify: Waiting \d+ seconds? to verify that tasks are stable\.\.\.$/m, explain(r, 'the monitor period is waited'));
    // Like docker, create watches (and names) the service by the ID the daemon returned.
    assert.equal(lastLine(r.stdout), `verify: Service ${webId} converged`, explain(r, 'the last line says it converged'));
    // Off a terminal: no cursor movement, no progress bars.
    assert.doesNotMatch(r.stdout, /\x1b\[|\[=+>/, explain(r, 'plain lines'));
    assert.equal(r.stderr, '', explain(r, 'nothing on stderr'));
  });

  it('an image no registry can be asked about is created unpinned, with docker\'s warning', async () => {
    const r = await ok('service', 'create', '--detach', '--name', 'unpinned', 'sim/nowhere:1');
    assert.match(r.stderr, /^image sim\/nowhere:1 could not be accessed on a registry to record\nits digest\. Each node will access sim\/nowhere:1 independently,/, explain(r, 'the warning'));
    assert.equal((await apiService('unpinned')).Spec.TaskTemplate.ContainerSpec?.Image, 'sim/nowhere:1');
    assert.equal((await run('service', 'rm', 'unpinned')).trim(), 'unpinned');
  });

  it('shoal service ls: docker\'s columns, web replicated 4/4', async () => {
    const out = await run('service', 'ls');
    assert.deepEqual(header(out), ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS']);
    const rows = parseTable(out);
    assert.equal(rows.length, 1, out);
    assert.deepEqual(
      { id: rows[0]!['ID'], name: rows[0]!['NAME'], mode: rows[0]!['MODE'], replicas: rows[0]!['REPLICAS'], image: rows[0]!['IMAGE'] },
      { id: webId.slice(0, 12), name: 'web', mode: 'replicated', replicas: '4/4', image: 'sim/app:1' },
    );
  });

  it("shoal service ps: docker's columns, four running tasks", async () => {
    const out = await run('service', 'ps', 'web');
    assert.deepEqual(header(out), ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS']);
    const rows = parseTable(out);
    assert.deepEqual(rows.map((r) => r['NAME']).sort(), ['web.1', 'web.2', 'web.3', 'web.4']);
    for (const r of rows) {
      assert.match(r['ID'] ?? '', /^[a-z0-9]{12}$/);
      assert.equal(r['IMAGE'], 'sim/app:1');
      assert.equal(r['DESIRED STATE'], 'Running');
      assert.match(r['CURRENT STATE'] ?? '', /^Running (less than a second|\d+ seconds?) ago$/);
      assert.equal(r['ERROR'], '');
    }
    // --no-resolve shows node IDs: the four tasks are spread over all three nodes.
    const byNode = await table('service', 'ps', '--no-resolve', '--no-trunc', 'web');
    assert.deepEqual(new Set(byNode.map((r) => r['NODE'])), new Set(nodeIds));
    assert.ok(byNode.every((r) => ID.test(r['ID'] ?? '')), 'full task IDs with --no-trunc');
  });

  it('shoal service inspect prints the service, --pretty a summary', async () => {
    const s = await inspect('web');
    assert.equal(s.ID, webId);
    assert.equal(s.Spec.Name, 'web');
    assert.equal(s.Spec.Mode?.Replicated?.Replicas, 4);
    assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'sim/app:1');
    assert.equal(s.Spec.UpdateConfig?.FailureAction, 'pause');
    const pretty = await run('service', 'inspect', '--pretty', 'web');
    assert.match(pretty, new RegExp(`^ID:\\s+${webId}$`, 'm'), pretty);
    assert.match(pretty, /^Name:\s+web$/m, pretty);
    assert.match(pretty, /^Service Mode:\s+Replicated$/m, pretty);
    assert.match(pretty, /^ Replicas:\s+4$/m, pretty);
    assert.match(pretty, /^ Image:\s+sim\/app:1$/m, pretty);
  });

  it('shoal service update to a failing version with --update-failure-action pause exits non-zero: update paused', async () => {
    const r = await raw(
      'service', 'update', '--image', 'sim/app:bad',
      '--env-add', BAD_ENV[0]!, '--env-add', BAD_ENV[1]!,
      '--update-failure-action', 'pause', 'web',
    );
    assert.equal(r.code, 1, explain(r, 'expected exit code 1'));
    assert.match(r.stderr, /^service update paused: update paused due to failure or early termination of task [a-z0-9]{25}$/m, explain(r, 'update paused, on stderr'));
    assert.equal(lines(r.stdout)[0], 'web', explain(r, 'the service named first'));
    assert.match(r.stdout, /^overall progress: \d out of 4 tasks$/m, explain(r, 'progress shown'));
    assert.doesNotMatch(r.stdout, /^verify: Service/m, explain(r, 'no convergence claimed'));

    const s = await apiService('web');
    assert.equal(s.UpdateStatus?.State, 'paused');
    assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'sim/app:bad');
    assert.deepEqual(s.Spec.TaskTemplate.ContainerSpec?.Env, BAD_ENV);
    const failedId = /early termination of task ([a-z0-9]{25})$/m.exec(r.stderr)?.[1] ?? '';
    const failed = (await table('service', 'ps', '--no-trunc', 'web')).find((row) => row['ID'] === failedId);
    assert.ok(failed, `the task named in the message is listed by shoal service ps`);
    assert.equal(failed['IMAGE'], 'sim/app:bad');
    assert.match(failed['CURRENT STATE'] ?? '', /^Failed /);
    assert.equal(failed['ERROR'], '"task: non-zero exit (1)"');
  });

  it('shoal service rollback exits 0 once web is back on its previous spec', async () => {
    const r = await ok('service', 'rollback', 'web');
    assert.equal(lines(r.stdout)[0], 'web', explain(r, 'the service named first'));
    assert.match(r.stdout, /^rollback: manually requested rollback$/m, explain(r, 'the rollback announced'));
    assert.match(r.stdout, /^overall progress: rolling back update: 4 out of 4 tasks$/m, explain(r, 'rollback progress reaches 4 out of 4'));
    assert.match(lastLine(r.stdout), new RegExp(`^verify: Service (web|${escapeRe(webId)}) converged$`), explain(r, 'the rollback converged'));

    const s = await inspect('web');
    assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'sim/app:1');
    assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Env, undefined, 'the failing env is gone');
    assert.equal(s.PreviousSpec?.TaskTemplate.ContainerSpec?.Image, 'sim/app:bad');
    assert.match(s.UpdateStatus?.State ?? '', /^rollback_(started|completed)$/);
    // The rollback completes once its monitor period (RollbackConfig, default 5 s) has passed.
    await eventually(async () => (await apiService('web')).UpdateStatus?.State === 'rollback_completed', 'UpdateStatus rollback_completed');
    const rows = parseTable(await run('service', 'ps', '--filter', 'desired-state=running', 'web'));
    assert.equal(rows.length, 4, 'four tasks meant to run');
    assert.ok(rows.every((row) => row['IMAGE'] === 'sim/app:1' && (row['CURRENT STATE'] ?? '').startsWith('Running ')), 'all running on sim/app:1');
    assert.equal((await table('service', 'ls')).find((row) => row['NAME'] === 'web')?.['REPLICAS'], '4/4');
  });

  it("shoal node ps <node> lists that node's tasks", async () => {
    const worker = nodeIds[1]!;
    const out = await run('node', 'ps', worker);
    assert.deepEqual(header(out), ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS']);
    const resolved = parseTable(out);
    assert.ok(resolved.length > 0 && resolved.every((r) => /^(\\_ )?web\.[1-4]$/.test(r['NAME'] ?? '')), out);
    const onNode = await eventually(async () => {
      // The task history is trimmed in the background: retry until the CLI and the API agree.
      const [fromNode, fromApi] = await Promise.all([table('node', 'ps', '--no-resolve', '--no-trunc', worker), apiTasks({ node: [worker] })]);
      const listed = fromNode.map((r) => r['ID']).sort();
      const expected = fromApi.map((t) => t.ID).sort();
      return expected.length > 0 && JSON.stringify(listed) === JSON.stringify(expected) ? fromNode : undefined;
    }, `shoal node ps ${worker} lists exactly the tasks the daemon has on it`);
    assert.ok(onNode.every((r) => r['NODE'] === worker));
    assert.ok(onNode.some((r) => r['DESIRED STATE'] === 'Running' && (r['CURRENT STATE'] ?? '').startsWith('Running ')), 'a running task among them');
    assert.equal(running(await apiTasks({ node: [worker] })).length, onNode.filter((r) => r['DESIRED STATE'] === 'Running' && (r['CURRENT STATE'] ?? '').startsWith('Running ')).length);
  });

  it('shoal service rm removes web, then its tasks', async () => {
    assert.equal((await run('service', 'rm', 'web')).trim(), 'web');
    assert.deepEqual(await table('service', 'ls'), []);
    const ps = await raw('service', 'ps', 'web');
    assert.notEqual(ps.code, 0, explain(ps, 'ps of a removed service fails'));
    assert.match(ps.stderr, /no such service: web/, explain(ps, 'says so'));
    await eventually(async () => (await apiTasks({})).length === 0, 'no tasks left');
    assert.equal(await run('node', 'ps', '-q', ...nodeIds), '', 'shoal node ps lists none on any node');
  });
});
