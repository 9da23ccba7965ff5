// The stock docker CLI driving services on a shoal swarm: one manager and two
// workers (real daemon processes, sim executor), built and driven only through
// `docker -H unix://...`. The steps build on each other: create (detached and
// with convergence progress), ls, ps, inspect, scale, a rolling update, a
// failing update that pauses, rollback, node ps, rm, a global service and a
// task that cannot be placed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Service, ServiceSpec } from '../../shared/model/index.js';
import { DaemonCluster, eventually, type DaemonProcess } from '../integration/daemon-harness.js';
import { DockerCli, explain, field, parseTable, type DockerResult, type TableRow } from './docker-cli.js';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ID = /^[a-z0-9]{25}$/;
/** What docker prints when the daemon reports UpdateStatus.State "paused" (cli/command/service/progress). */
const PAUSED = /^service update paused: update paused due to failure or early termination of task [a-z0-9]{25}$/m;

/** The non-blank lines of an output. */
const lines = (out: string): string[] => out.split('\n').filter((l) => l.trim() !== '');
const lastLine = (out: string): string => lines(out).at(-1) ?? '';

describe('the stock docker CLI drives services on a shoal swarm (1 manager, 2 workers, sim executor)', { timeout: 120_000 }, () => {
  let c: DaemonCluster;
  let docker: DockerCli | undefined;
  /** Why there is no docker CLI: every test fails with this, not only the hook. */
  let missing: Error | undefined;
  let m1: DaemonProcess;
  const nodeIds: string[] = [];
  let worker = '';
  let webId = '';
  /** web's spec after the successful rolling update: what rollback must restore. */
  let specBeforeBadUpdate: ServiceSpec | undefined;

  const cli = (): DockerCli => {
    if (docker) return docker;
    throw missing ?? new Error('the docker CLI was not set up');
  };
  const raw = (...args: string[]): Promise<DockerResult> => cli().run(m1.hostArg, args);
  /** docker against the manager, insisting on exit code 0; returns the whole result for stderr checks. */
  const ok = async (...args: string[]): Promise<DockerResult> => {
    const r = await raw(...args);
    if (r.code !== 0) throw new Error(explain(r, 'expected exit code 0'));
    return r;
  };
  const run = async (...args: string[]): Promise<string> => (await ok(...args)).stdout;
  const table = async (...args: string[]): Promise<TableRow[]> => parseTable(await run(...args));
  const serviceLs = (): Promise<TableRow[]> => table('service', 'ls');
  const lsRow = async (name: string): Promise<TableRow | undefined> => (await serviceLs()).find((r) => r['NAME'] === name);
  const inspect = async (ref: string): Promise<Service> => {
    const parsed: unknown = JSON.parse(await run('service', 'inspect', ref));
    assert.ok(Array.isArray(parsed) && parsed.length === 1, `docker service inspect ${ref} prints a one-element array`);
    return parsed[0] as Service;
  };
  /** The tasks docker shows for a service that are meant to run (ps --filter desired-state=running). */
  const runningRows = async (ref: string, ...extra: string[]): Promise<TableRow[]> =>
    table('service', 'ps', '--filter', 'desired-state=running', ...extra, ref);
  const allRunning = (rows: TableRow[], n: number, image: string): boolean =>
    rows.length === n && rows.every((r) => r['IMAGE'] === image && (r['CURRENT STATE'] ?? '').startsWith('Running '));

  /** Convergence progress as docker prints it off a terminal: the last line says the service converged. */
  function assertConverged(r: DockerResult, ref: string): void {
    assert.match(lastLine(r.stdout), new RegExp(`^verify: Service ${escapeRe(ref)} converged$`), explain(r, 'progress ends with verify: converged'));
  }

  before(async () => {
    // A machine without the client fails every test with the reason (never a skip).
    try {
      docker = await DockerCli.create();
    } catch (err) {
      missing = err instanceof Error ? err : new Error(String(err));
    }
    c = await DaemonCluster.create('shoal-docker-svc-', { extraArgs: ['--executor', 'sim'] });
    m1 = await c.add('m1');
    const workers = [await c.add('w1'), await c.add('w2')];
    if (!docker) return;
    await run('swarm', 'init', '--advertise-addr', m1.addr, '--listen-addr', m1.addr, '--dispatcher-heartbeat', '500ms');
    const token = (await run('swarm', 'join-token', '-q', 'worker')).trim();
    for (const w of workers) {
      await cli().ok(w.hostArg, ['swarm', 'join', '--token', token, '--advertise-addr', w.addr, '--listen-addr', w.addr, m1.addr]);
    }
    const info = await run('info');
    nodeIds.push(field(info, 'NodeID') ?? '');
    for (const w of workers) nodeIds.push(field(await cli().ok(w.hostArg, ['info']), 'NodeID') ?? '');
    worker = nodeIds[1]!;
    await eventually(async () => {
      const rows = await table('node', 'ls');
      return rows.length === 3 && rows.every((r) => r['STATUS'] === 'Ready') ? true : undefined;
    }, 'docker node ls shows three Ready nodes');
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs()}\n`);
    await c?.destroy();
    await docker?.destroy();
  });

  it('docker service create --detach prints the new service ID', async () => {
    // Without --no-resolve-image: the CLI's registry lookup fails (shoal serves no /distribution),
    // which docker reports as a warning on stderr and goes on.
    const r = await ok('service', 'create', '--name', 'web', '--replicas', '3', '--detach', 'sim/app:1');
    assert.match(r.stdout, /^[a-z0-9]{25}\n$/, explain(r, 'stdout is the service ID alone'));
    webId = r.stdout.trim();
    await eventually(async () => (await lsRow('web'))?.['REPLICAS'] === '3/3', 'docker service ls shows web at 3/3');
  });

  it('docker service create without --detach shows progress until the service converged', async () => {
    const r = await ok('service', 'create', '--name', 'api', '--replicas', '2', '--update-monitor', '1s', '--no-resolve-image', 'sim/app:1');
    const [first] = lines(r.stdout);
    assert.match(first ?? '', ID, explain(r, 'the first line is the service ID'));
    assert.match(r.stdout, /^overall progress: 2 out of 2 tasks$/m, explain(r, 'overall progress reaches 2 out of 2'));
    assert.match(r.stdout, /^verify: Waiting \d+ seconds? to verify that tasks are stable\.\.\.$/m, explain(r, 'docker waits the monitor period'));
    // docker's create watches the service by the ID it got back.
    assertConverged(r, first!);
    assert.equal(r.stderr, '', explain(r, 'nothing on stderr'));
    assert.equal((await lsRow('api'))?.['REPLICAS'], '2/2');
    assert.equal((await run('service', 'rm', 'api')).trim(), 'api');
  });

  it('docker service ls shows web: replicated, 3/3, its image', async () => {
    const rows = await serviceLs();
    assert.deepEqual(rows.map((r) => r['NAME']), ['web']);
    const web = rows[0]!;
    assert.equal(web['ID'], webId.slice(0, 12));
    assert.equal(web['MODE'], 'replicated');
    assert.equal(web['REPLICAS'], '3/3');
    assert.equal(web['IMAGE'], 'sim/app:1');
    // docker service ls has no --no-trunc: -q prints the short IDs.
    assert.deepEqual(lines(await run('service', 'ls', '-q')), [webId.slice(0, 12)]);
    assert.deepEqual(lines(await run('service', 'ls', '--filter', 'name=nothing-like-it', '-q')), []);
  });

  it('docker service ps web lists three running tasks', async () => {
    const rows = await table('service', 'ps', 'web');
    assert.deepEqual(rows.map((r) => r['NAME']).sort(), ['web.1', 'web.2', 'web.3']);
    for (const r of rows) {
      assert.match(r['ID'] ?? '', /^[a-z0-9]{12}$/);
      assert.equal(r['IMAGE'], 'sim/app:1');
      assert.equal(r['DESIRED STATE'], 'Running');
      assert.match(r['CURRENT STATE'] ?? '', /^Running /);
      assert.equal(r['ERROR'], '');
    }
    // With --no-resolve the NODE column carries node IDs: the tasks are spread over all three nodes.
    const byId = await table('service', 'ps', '--no-resolve', '--no-trunc', 'web');
    assert.deepEqual(byId.map((r) => r['NODE']).sort(), [...nodeIds].sort());
    assert.ok(byId.every((r) => ID.test(r['ID'] ?? '')), 'full task IDs with --no-trunc');
    assert.equal(lines(await run('service', 'ps', '-q', 'web')).length, 3);
  });

  it('docker service inspect web, and --pretty', async () => {
    const s = await inspect('web');
    assert.equal(s.ID, webId);
    assert.equal(s.Spec.Name, 'web');
    assert.equal(s.Spec.Mode?.Replicated?.Replicas, 3);
    assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'sim/app:1');
    // docker inspects with insertDefaults: Docker's defaults for what the create left out.
    assert.equal(s.Spec.UpdateConfig?.Parallelism, 1);
    assert.equal(s.Spec.UpdateConfig?.FailureAction, 'pause');
    assert.equal(s.Spec.UpdateConfig?.Monitor, 5e9);
    assert.equal(s.Spec.UpdateConfig?.Order, 'stop-first');
    assert.equal(s.Spec.TaskTemplate.RestartPolicy?.Condition, 'any');
    assert.ok(s.Version.Index > 0, 'a version to update against');
    assert.equal(s.PreviousSpec, undefined, 'no previous spec before the first update');
    assert.deepEqual(await inspect(webId), s, 'by ID as by name');

    const pretty = await run('service', 'inspect', '--pretty', 'web');
    assert.equal(field(pretty, 'ID'), webId, pretty);
    assert.equal(field(pretty, 'Name'), 'web', pretty);
    assert.equal(field(pretty, 'Service Mode'), 'Replicated', pretty);
    assert.equal(field(pretty, 'Replicas'), '3', pretty);
    assert.equal(field(pretty, 'Image'), 'sim/app:1', pretty);
    assert.equal(field(pretty, 'On failure'), 'pause', pretty);
    assert.equal(field(pretty, 'Monitoring Period'), '5s', pretty);

    const missingService = await raw('service', 'inspect', 'nope');
    assert.notEqual(missingService.code, 0, explain(missingService, 'inspecting an unknown service fails'));
    assert.match(missingService.stderr, /no such service: nope/i, explain(missingService, 'says so'));
  });

  it('docker service scale web=5 converges at 5/5', async () => {
    const r = await ok('service', 'scale', 'web=5');
    assert.equal(lines(r.stdout)[0], 'web scaled to 5', explain(r, 'the first line says so'));
    assert.match(r.stdout, /^overall progress: 5 out of 5 tasks$/m, explain(r, 'overall progress reaches 5 out of 5'));
    // docker scale watches the service by the name given.
    assertConverged(r, 'web');
    assert.equal((await lsRow('web'))?.['REPLICAS'], '5/5');
    assert.ok(allRunning(await runningRows('web'), 5, 'sim/app:1'), 'five running tasks');
    assert.equal((await inspect('web')).Spec.Mode?.Replicated?.Replicas, 5);
  });

  it('docker service update --image sim/app:2 rolls every task to the new image', async () => {
    const r = await ok('service', 'update', '--image', 'sim/app:2', '--update-monitor', '1s', '--no-resolve-image', 'web');
    assert.equal(lines(r.stdout)[0], 'web', explain(r, 'the first line is the service named'));
    assert.match(r.stdout, /^overall progress: 5 out of 5 tasks$/m, explain(r, 'overall progress reaches 5 out of 5'));
    assert.match(lastLine(r.stdout), /^verify: Service (web|[a-z0-9]{25}) converged$/, explain(r, 'the update converged'));
    const rows = await eventually(async () => {
      const rs = await runningRows('web');
      return allRunning(rs, 5, 'sim/app:2') ? rs : undefined;
    }, 'five running tasks on sim/app:2');
    assert.deepEqual(rows.map((row) => row['NAME']).sort(), ['web.1', 'web.2', 'web.3', 'web.4', 'web.5']);
    // The replaced tasks stay in the history, shut down.
    const history = (await table('service', 'ps', '--filter', 'desired-state=shutdown', 'web')).filter((row) => row['IMAGE'] === 'sim/app:1');
    assert.equal(history.length, 5, 'five old tasks in the history');
    assert.ok(history.every((row) => row['DESIRED STATE'] === 'Shutdown' && /^(\\_ )?web\.[1-5]$/.test(row['NAME'] ?? '')), 'history rows named after their slot');

    const s = await eventually(async () => {
      const svc = await inspect('web');
      return svc.UpdateStatus?.State === 'completed' ? svc : undefined;
    }, 'UpdateStatus completed');
    assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'sim/app:2');
    assert.equal(s.PreviousSpec?.TaskTemplate.ContainerSpec?.Image, 'sim/app:1');
    assert.equal(s.Spec.UpdateConfig?.Monitor, 1e9);
    specBeforeBadUpdate = s.Spec;
  });

  it('docker service update with a failing version and --update-failure-action pause exits non-zero with the paused message', async () => {
    const r = await raw(
      'service', 'update', '--no-resolve-image',
      '--env-add', 'SHOAL_SIM_RUN_MS=100', '--env-add', 'SHOAL_SIM_EXIT_CODE=1',
      '--update-failure-action', 'pause', '--update-monitor', '2s', 'web',
    );
    assert.notEqual(r.code, 0, explain(r, 'expected a non-zero exit code'));
    assert.match(r.stderr, PAUSED, explain(r, "docker's paused message on stderr"));
    assert.equal(lines(r.stdout)[0], 'web', explain(r, 'the service named first'));
    assert.doesNotMatch(r.stdout, /^verify: Service/m, explain(r, 'no convergence claimed'));

    const s = await inspect('web');
    assert.equal(s.UpdateStatus?.State, 'paused');
    assert.match(s.UpdateStatus?.Message ?? '', /^update paused due to failure or early termination of task [a-z0-9]{25}$/);
    // docker applies --env-add through a Go map: the order it sends is not fixed.
    assert.deepEqual([...(s.Spec.TaskTemplate.ContainerSpec?.Env ?? [])].sort(), ['SHOAL_SIM_EXIT_CODE=1', 'SHOAL_SIM_RUN_MS=100']);
    const pretty = await run('service', 'inspect', '--pretty', 'web');
    assert.equal(field(pretty, 'State'), 'paused', pretty);
    // The task that failed is in the history with its error.
    const failed = await eventually(async () => {
      const rows = await table('service', 'ps', '--no-trunc', 'web');
      return rows.find((row) => (row['CURRENT STATE'] ?? '').startsWith('Failed ')) ?? undefined;
    }, 'a failed task in docker service ps');
    assert.equal(failed['ERROR'], '"task: non-zero exit (1)"');
  });

  it('docker service rollback returns web to its previous spec', async () => {
    const r = await ok('service', 'rollback', 'web');
    assert.equal(lines(r.stdout)[0], 'web', explain(r, 'the service named first'));
    assert.match(r.stdout, /^rollback: manually requested rollback$/m, explain(r, 'the rollback announced'));
    assert.match(r.stdout, /^overall progress: rolling back update: 5 out of 5 tasks$/m, explain(r, 'rollback progress reaches 5 out of 5'));
    assert.match(lastLine(r.stdout), /^verify: Service (web|[a-z0-9]{25}) converged$/, explain(r, 'the rollback converged'));

    const s = await eventually(async () => {
      const svc = await inspect('web');
      return svc.UpdateStatus?.State === 'rollback_completed' ? svc : undefined;
    }, 'UpdateStatus rollback_completed');
    assert.equal(s.UpdateStatus?.Message, 'rollback completed');
    assert.deepEqual(s.Spec, specBeforeBadUpdate, 'the spec from before the failing update');
    assert.deepEqual([...(s.PreviousSpec?.TaskTemplate.ContainerSpec?.Env ?? [])].sort(), ['SHOAL_SIM_EXIT_CODE=1', 'SHOAL_SIM_RUN_MS=100'], 'the failing spec is now the previous one');
    // Running again on the old spec, and staying so (a task of the failing spec would exit after 100 ms).
    await eventually(async () => allRunning(await runningRows('web'), 5, 'sim/app:2'), 'five running tasks on sim/app:2');
    assert.equal((await lsRow('web'))?.['REPLICAS'], '5/5');
  });

  it('docker node ps <worker> lists the tasks on that node', async () => {
    const onNode = await eventually(async () => {
      // Both listings at once; the history is trimmed in the background, so retry until they agree.
      const [fromNode, fromService] = await Promise.all([
        table('node', 'ps', '--no-resolve', '--no-trunc', worker),
        table('service', 'ps', '--no-resolve', '--no-trunc', 'web'),
      ]);
      const mine = fromService.filter((r) => r['NODE'] === worker).map((r) => r['ID']).sort();
      const listed = fromNode.map((r) => r['ID']).sort();
      return mine.length > 0 && JSON.stringify(mine) === JSON.stringify(listed) ? fromNode : undefined;
    }, `docker node ps ${worker} lists exactly the tasks docker service ps places on it`);
    assert.ok(onNode.every((r) => r['NODE'] === worker), 'every row on that node');
    assert.ok(onNode.some((r) => r['DESIRED STATE'] === 'Running' && (r['CURRENT STATE'] ?? '').startsWith('Running ')), 'at least one running task');

    const resolved = await table('node', 'ps', worker);
    assert.ok(resolved.length > 0);
    assert.ok(resolved.every((r) => /^(\\_ )?web\.[1-5]$/.test(r['NAME'] ?? '')), `task names resolved to web.<slot>\n${JSON.stringify(resolved)}`);
  });

  it('docker service rm web removes the service and, soon after, its tasks', async () => {
    assert.equal((await run('service', 'rm', 'web')).trim(), 'web');
    assert.deepEqual(await serviceLs(), [], 'docker service ls lists nothing');
    const ps = await raw('service', 'ps', 'web');
    assert.notEqual(ps.code, 0, explain(ps, 'ps of a removed service fails'));
    assert.match(ps.stderr, /no such service: web/, explain(ps, 'says so'));
    await eventually(async () => (await run('node', 'ps', '-q', ...nodeIds)) === '', 'no tasks left on any node');
  });

  it('docker service create --mode global runs one task per node', async () => {
    const r = await ok('service', 'create', '--name', 'agent', '--mode', 'global', '--detach', '--no-resolve-image', 'sim/agent:1');
    const id = r.stdout.trim();
    assert.match(id, ID);
    await eventually(async () => {
      const row = await lsRow('agent');
      return row?.['MODE'] === 'global' && row['REPLICAS'] === '3/3';
    }, 'docker service ls shows agent as global, 3/3');
    const rows = await eventually(async () => {
      const rs = await runningRows('agent', '--no-resolve', '--no-trunc');
      return allRunning(rs, 3, 'sim/agent:1') ? rs : undefined;
    }, 'three running agent tasks');
    assert.deepEqual(rows.map((row) => row['NODE']).sort(), [...nodeIds].sort(), 'one on each node');
    // A global task is named after its service and node.
    assert.deepEqual(rows.map((row) => row['NAME']).sort(), nodeIds.map((n) => `${id}.${n}`).sort());
    assert.deepEqual((await table('service', 'ps', 'agent')).map((row) => row['NAME']).sort(), nodeIds.map((n) => `agent.${n}`).sort());
    assert.equal((await run('service', 'rm', 'agent')).trim(), 'agent');
  });

  it('a task whose constraint no node satisfies stays Pending and docker service ps says why', async () => {
    const r = await ok('service', 'create', '--name', 'nowhere', '--constraint', 'node.labels.zone==nowhere', '--detach', '--no-resolve-image', 'sim/app:1');
    assert.match(r.stdout.trim(), ID);
    const row = await eventually(async () => {
      const rows = await table('service', 'ps', '--no-trunc', 'nowhere');
      return rows.length === 1 && (rows[0]!['ERROR'] ?? '') !== '' ? rows[0] : undefined;
    }, 'a pending task with an explanation');
    assert.equal(row['NAME'], 'nowhere.1');
    assert.equal(row['NODE'], '');
    assert.equal(row['DESIRED STATE'], 'Running');
    assert.match(row['CURRENT STATE'] ?? '', /^Pending /);
    assert.equal(row['ERROR'], '"no suitable node (scheduling constraints not satisfied on 3 nodes)"');
    assert.equal((await lsRow('nowhere'))?.['REPLICAS'], '0/1');
    assert.equal((await run('service', 'rm', 'nowhere')).trim(), 'nowhere');
    assert.deepEqual(await serviceLs(), []);
  });

  it('docker service logs prints every task\'s lines as name.slot.id@node    | line, stderr lines on stderr', async () => {
    const r = await ok('service', 'create', '--name', 'talker', '--replicas', '2', '--detach', '--no-resolve-image',
      '-e', 'SHOAL_SIM_LOG_LINES=2', '-e', 'SHOAL_SIM_STDERR=watch out', 'sim/talker:1');
    const id = r.stdout.trim();
    const tasks = await eventually(async () => {
      const rows = await runningRows('talker', '--no-trunc');
      return allRunning(rows, 2, 'sim/talker:1') ? rows : undefined;
    }, 'two running talker tasks');
    const host = field(await run('node', 'inspect', '--pretty', 'self'), 'Hostname') ?? '';
    const prefix = (row: TableRow): string => `${row['NAME']}.${(row['ID'] ?? '').slice(0, 12)}@${host}    | `;

    const logs = await ok('service', 'logs', 'talker');
    const expectOut = tasks.flatMap((row) => [1, 2].map((i) => `${prefix(row)}line ${i} of ${row['NAME']}.${row['ID']}`));
    assert.deepEqual(lines(logs.stdout).sort(), expectOut.sort(), explain(logs, 'every stdout line, prefixed'));
    assert.deepEqual(lines(logs.stderr).sort(), tasks.map((row) => `${prefix(row)}watch out`).sort(), explain(logs, 'the stderr lines on stderr'));

    // One task by its ID, with timestamps and the last line only.
    const task = tasks[0]!;
    const one = await ok('service', 'logs', '--timestamps', '--tail', '1', task['ID']!);
    assert.equal(one.stdout, '', explain(one, 'the last line was on stderr'));
    assert.match(one.stderr, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z ${escapeRe(prefix(task))}watch out\n$`), explain(one, 'timestamped'));
    const rawOut = await ok('service', 'logs', '--raw', '--tail', '1', 'talker');
    assert.deepEqual(lines(rawOut.stderr), ['watch out', 'watch out'], explain(rawOut, '--raw: the lines alone'));
    const missing = await raw('service', 'logs', 'nothing-like-it');
    assert.notEqual(missing.code, 0, explain(missing, 'an unknown target fails'));
    assert.match(missing.stderr, /no such task or service: nothing-like-it/, explain(missing, 'says so'));

    assert.equal((await run('service', 'rm', id)).trim(), id);
    assert.equal(await lsRow('talker'), undefined);
  });
});
