// The stock docker CLI against real shoal daemons: three daemon processes on
// loopback, driven only through `docker -H unix://...` (no API calls of our
// own), asserting on exit codes and on what the CLI prints. The steps build on
// each other: init, tokens, joins, node listing and inspection, updates,
// promotion and demotion, leaving and removal, and finally the managers leave.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node } from '../../shared/model/index.js';
import { API_VERSION, VERSION } from '../../shared/version.js';
import { DaemonCluster, eventually, type DaemonProcess } from '../integration/daemon-harness.js';
import { DockerCli, field, parseNodeLs, type NodeRow } from './docker-cli.js';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NODE_ID = /^[a-z0-9]{25}$/;
const WORKER_MESSAGE =
  "Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
const NOT_IN_SWARM_MESSAGE =
  'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

describe('the stock docker CLI against shoal daemons', { timeout: 300_000 }, () => {
  let c: DaemonCluster;
  let docker: DockerCli | undefined;
  /** Why there is no docker CLI: every test fails with this, not only the hook. */
  let missing: Error | undefined;
  let m1: DaemonProcess;
  let m2: DaemonProcess;
  let w1: DaemonProcess;
  const ids = { m1: '', m2: '', w1: '' };
  const tokens = { worker: '', manager: '', rotatedAway: '' };

  const cli = (): DockerCli => {
    if (docker) return docker;
    throw missing ?? new Error('the docker CLI was not set up');
  };
  const run = (d: DaemonProcess, ...args: string[]): Promise<string> => cli().ok(d.hostArg, args);
  const fails = (d: DaemonProcess, ...args: string[]): Promise<string> => cli().fails(d.hostArg, args);
  const nodeLs = async (d: DaemonProcess, ...args: string[]): Promise<NodeRow[]> => parseNodeLs(await run(d, 'node', 'ls', ...args));
  const info = (d: DaemonProcess): Promise<string> => run(d, 'info');
  const inspect = async (d: DaemonProcess, ref: string): Promise<Node> => {
    const parsed: unknown = JSON.parse(await run(d, 'node', 'inspect', ref));
    assert.ok(Array.isArray(parsed) && parsed.length === 1, `docker node inspect ${ref} prints a one-element array`);
    return parsed[0] as Node;
  };
  const row = (rows: NodeRow[], id: string): NodeRow | undefined => rows.find((r) => r.id === id);
  const joinArgs = (d: DaemonProcess, token: string): string[] => [
    'swarm', 'join', '--token', token, '--advertise-addr', d.addr, '--listen-addr', d.addr, m1.addr,
  ];

  before(async () => {
    // A machine without the client fails every test with the reason (never a skip).
    try {
      docker = await DockerCli.create();
    } catch (err) {
      missing = err instanceof Error ? err : new Error(String(err));
    }
    c = await DaemonCluster.create();
    m1 = await c.add('m1');
    m2 = await c.add('m2');
    w1 = await c.add('w1');
  });

  after(async () => {
    if (process.exitCode) process.stderr.write(`${await c?.dumpLogs()}\n`);
    await c?.destroy();
    await docker?.destroy();
  });

  it('docker version and docker info talk to a daemon that is in no swarm', async () => {
    const version = await run(m1, 'version');
    assert.match(version, /^Server: shoal$/m, version);
    const server = version.slice(version.indexOf('Server:'));
    assert.equal(field(server, 'Version'), VERSION, version);
    assert.match(field(server, 'API version') ?? '', new RegExp(`^${escapeRe(API_VERSION)}\\b`), version);

    const out = await info(m1);
    assert.equal(field(out, 'Swarm'), 'inactive', out);
    assert.equal(field(out, 'Server Version'), VERSION, out);

    assert.equal((await fails(m1, 'node', 'ls')).trim(), NOT_IN_SWARM_MESSAGE);
  });

  it('docker swarm init makes a manager and prints the worker join command', async () => {
    const out = await run(m1, 'swarm', 'init', '--advertise-addr', m1.addr, '--listen-addr', m1.addr, '--dispatcher-heartbeat', '500ms');
    const id = /^Swarm initialized: current node \(([a-z0-9]{25})\) is now a manager\.$/m.exec(out);
    assert.ok(id, out);
    ids.m1 = id[1]!;
    const join = new RegExp(`^ +docker swarm join --token (SWMTKN-1-[a-z0-9]+-[a-z0-9]+) ${escapeRe(m1.addr)}$`, 'm').exec(out);
    assert.ok(join, out);
    tokens.worker = join[1]!;
    assert.match(out, /To add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions\./);

    const i = await info(m1);
    assert.equal(field(i, 'Swarm'), 'active', i);
    assert.equal(field(i, 'NodeID'), ids.m1, i);
    assert.equal(field(i, 'Is Manager'), 'true', i);
  });

  it('docker swarm join-token prints the join command, -q only the token, and --rotate replaces it', async () => {
    const worker = await run(m1, 'swarm', 'join-token', 'worker');
    assert.match(worker, /To add a worker to this swarm, run the following command:/);
    assert.match(worker, new RegExp(`^ +docker swarm join --token ${escapeRe(tokens.worker)} ${escapeRe(m1.addr)}$`, 'm'));
    assert.equal((await run(m1, 'swarm', 'join-token', '-q', 'worker')).trim(), tokens.worker);

    const manager = await run(m1, 'swarm', 'join-token', 'manager');
    assert.match(manager, /To add a manager to this swarm, run the following command:/);
    tokens.manager = (await run(m1, 'swarm', 'join-token', '-q', 'manager')).trim();
    assert.match(tokens.manager, /^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$/);
    assert.notEqual(tokens.manager, tokens.worker);
    // Both name the same cluster (the fingerprint part), with different secrets.
    assert.equal(tokens.manager.split('-')[2], tokens.worker.split('-')[2]);
    assert.match(manager, new RegExp(`docker swarm join --token ${escapeRe(tokens.manager)} ${escapeRe(m1.addr)}`));

    const rotated = await run(m1, 'swarm', 'join-token', '--rotate', 'worker');
    assert.match(rotated, /^Successfully rotated worker join token\.$/m, rotated);
    const fresh = /docker swarm join --token (SWMTKN-1-[a-z0-9]+-[a-z0-9]+) /.exec(rotated);
    assert.ok(fresh, rotated);
    assert.notEqual(fresh[1], tokens.worker, 'the rotated token is a new one');
    assert.equal((await run(m1, 'swarm', 'join-token', '-q', 'worker')).trim(), fresh[1]);
    assert.equal((await run(m1, 'swarm', 'join-token', '-q', 'manager')).trim(), tokens.manager, 'rotating the worker token leaves the manager token alone');
    tokens.rotatedAway = tokens.worker;
    tokens.worker = fresh[1]!;
  });

  it('docker swarm join refuses a malformed or rotated-away token with a clear message', async () => {
    const malformed = await fails(w1, ...joinArgs(w1, 'SWMTKN-1-garbage'));
    assert.match(malformed, /^Error response from daemon: invalid join token/m, malformed);
    const rotatedAway = await fails(w1, ...joinArgs(w1, tokens.rotatedAway));
    assert.match(rotatedAway, /^Error response from daemon: invalid join token/m, rotatedAway);
    assert.match(rotatedAway, /rotated/, rotatedAway);
    // A refused join leaves the daemon where it was.
    assert.equal(field(await info(w1), 'Swarm'), 'inactive');
  });

  it('docker swarm join adds a manager and a worker', async () => {
    assert.equal((await run(m2, ...joinArgs(m2, tokens.manager))).trim(), 'This node joined a swarm as a manager.');
    assert.equal((await run(w1, ...joinArgs(w1, tokens.worker))).trim(), 'This node joined a swarm as a worker.');
    for (const [name, d] of [['m2', m2], ['w1', w1]] as const) {
      const i = await info(d);
      assert.equal(field(i, 'Swarm'), 'active', i);
      ids[name] = field(i, 'NodeID') ?? '';
      assert.match(ids[name], NODE_ID, i);
    }
  });

  it('docker node ls shows three nodes, a * on self, Leader and Reachable; -q and --filter work', async () => {
    const settled = (self: string) => async (): Promise<NodeRow[] | undefined> => {
      const rows = await nodeLs(self === ids.m1 ? m1 : m2);
      const ok =
        rows.length === 3 &&
        rows.every((r) => r.status === 'Ready' && r.availability === 'Active' && r.engineVersion === VERSION) &&
        row(rows, ids.m1)?.managerStatus === 'Leader' &&
        row(rows, ids.m2)?.managerStatus === 'Reachable' &&
        row(rows, ids.w1)?.managerStatus === '';
      return ok ? rows : undefined;
    };
    for (const self of [ids.m1, ids.m2]) {
      const rows = await eventually(settled(self), `docker node ls on ${self} shows 3 ready nodes, a Leader and a Reachable manager`);
      assert.deepEqual(rows.filter((r) => r.self).map((r) => r.id), [self], 'exactly one row, the daemon asked, carries the *');
    }

    const quiet = (await run(m1, 'node', 'ls', '-q')).trim().split('\n');
    assert.deepEqual([...quiet].sort(), [ids.m1, ids.m2, ids.w1].sort());
    const managers = await nodeLs(m1, '--filter', 'role=manager');
    assert.deepEqual(managers.map((r) => r.id).sort(), [ids.m1, ids.m2].sort());
    const workers = await nodeLs(m1, '--filter', 'role=worker');
    assert.deepEqual(workers.map((r) => r.id), [ids.w1]);
  });

  it("docker node ls on a worker fails with Docker's message", async () => {
    assert.equal((await fails(w1, 'node', 'ls')).trim(), WORKER_MESSAGE);
  });

  it('docker info shows the swarm from a manager and from a worker', async () => {
    const out = await eventually(async () => {
      const i = await info(m1);
      return field(i, 'Managers') === '2' && field(i, 'Nodes') === '3' ? i : undefined;
    }, 'docker info on m1 counts 2 managers and 3 nodes');
    assert.equal(field(out, 'Swarm'), 'active', out);
    assert.equal(field(out, 'NodeID'), ids.m1, out);
    assert.equal(field(out, 'Is Manager'), 'true', out);
    assert.match(field(out, 'ClusterID') ?? '', NODE_ID, out);
    assert.equal(field(out, 'Node Address'), '127.0.0.1', out);
    // The CLI sends zeros for settings not given; the daemon applies Docker's defaults.
    assert.equal(field(out, 'Task History Retention Limit'), '5', out);
    assert.equal(field(out, 'Election Tick'), '10', out);
    assert.equal(field(out, 'Heartbeat Tick'), '1', out);
    assert.equal(field(out, 'Data Path Port'), '4789', out);
    assert.equal(field(out, 'Expiry Duration'), '3 months', out);
    assert.match(out, new RegExp(`^ +${escapeRe(m1.addr)}$`, 'm'), `${m1.addr} among the Manager Addresses\n${out}`);
    assert.match(out, new RegExp(`^ +${escapeRe(m2.addr)}$`, 'm'), `${m2.addr} among the Manager Addresses\n${out}`);

    const w = await info(w1);
    assert.equal(field(w, 'Swarm'), 'active', w);
    assert.equal(field(w, 'NodeID'), ids.w1, w);
    assert.equal(field(w, 'Is Manager'), 'false', w);
    assert.equal(field(w, 'ClusterID'), undefined, 'the CLI prints no cluster details for a worker');
  });

  it('docker node inspect self, and --pretty', async () => {
    const self = await inspect(m1, 'self');
    assert.equal(self.ID, ids.m1);
    assert.equal(self.Spec.Role, 'manager');
    assert.equal(self.Status.State, 'ready');
    assert.equal(self.ManagerStatus?.Leader, true);
    assert.equal(self.ManagerStatus?.Addr, m1.addr);
    assert.equal(self.Description.Engine?.EngineVersion, VERSION);

    const pretty = await run(m1, 'node', 'inspect', '--pretty', ids.m2);
    assert.equal(field(pretty, 'ID'), ids.m2, pretty);
    assert.equal(field(pretty, 'State'), 'Ready', pretty);
    assert.equal(field(pretty, 'Availability'), 'Active', pretty);
    const managerStatus = pretty.slice(pretty.indexOf('Manager Status:'));
    assert.ok(pretty.includes('Manager Status:'), pretty);
    assert.equal(field(managerStatus, 'Address'), m2.addr, pretty);
    assert.equal(field(managerStatus, 'Raft Status'), 'Reachable', pretty);
    assert.equal(field(managerStatus, 'Leader'), 'No', pretty);
    assert.equal(field(pretty, 'Engine Version'), VERSION, pretty);
    assert.equal(field(await run(m1, 'node', 'inspect', '--pretty', 'self'), 'Leader'), 'Yes');

    const worker = await run(m1, 'node', 'inspect', '--pretty', ids.w1);
    assert.ok(!worker.includes('Manager Status:'), `a worker has no Manager Status section\n${worker}`);
  });

  it('docker node update --label-add --availability drain, and inspect shows both', async () => {
    assert.equal((await run(m1, 'node', 'update', '--label-add', 'a=b', '--availability', 'drain', ids.w1)).trim(), ids.w1);
    const n = await inspect(m1, ids.w1);
    assert.deepEqual(n.Spec.Labels, { a: 'b' });
    assert.equal(n.Spec.Availability, 'drain');
    assert.equal(n.Spec.Role, 'worker');

    const pretty = await run(m1, 'node', 'inspect', '--pretty', ids.w1);
    assert.match(pretty, /^Labels:\n - a=b$/m, pretty);
    assert.equal(field(pretty, 'Availability'), 'Drain', pretty);
    // The other manager serves the same (replicated) answer.
    await eventually(async () => row(await nodeLs(m2), ids.w1)?.availability === 'Drain', 'm2 lists w1 as Drain');
  });

  it('docker node promote makes the worker a manager, docker node demote a worker again', async () => {
    assert.equal((await run(m1, 'node', 'promote', ids.w1)).trim(), `Node ${ids.w1} promoted to a manager in the swarm.`);
    await eventually(async () => row(await nodeLs(m1), ids.w1)?.managerStatus === 'Reachable', 'm1 lists w1 as a Reachable manager');
    // The promoted daemon itself takes up the role: it answers manager commands.
    const rows = await eventually(async () => {
      const i = await info(w1);
      if (field(i, 'Is Manager') !== 'true') return undefined;
      return nodeLs(w1);
    }, 'w1 reports Is Manager: true and answers docker node ls');
    assert.deepEqual(rows.filter((r) => r.self).map((r) => r.id), [ids.w1]);
    await eventually(async () => field(await info(m1), 'Managers') === '3', 'docker info on m1 counts 3 managers');

    assert.equal((await run(m1, 'node', 'demote', ids.w1)).trim(), `Manager ${ids.w1} demoted in the swarm.`);
    await eventually(async () => {
      const r = row(await nodeLs(m1), ids.w1);
      return r?.managerStatus === '' && r.status === 'Ready';
    }, 'm1 lists w1 as a ready worker again');
    await eventually(async () => field(await info(w1), 'Is Manager') === 'false', 'w1 reports Is Manager: false');
    // The demotion is complete (w1 has left the Raft membership) once the manager count drops;
    // until then shoal refuses `docker node rm` with "is a cluster manager" (see the report).
    await eventually(async () => field(await info(m1), 'Managers') === '2', 'docker info on m1 counts 2 managers again');
    assert.equal((await fails(w1, 'node', 'ls')).trim(), WORKER_MESSAGE);
    assert.equal((await inspect(m1, ids.w1)).Spec.Role, 'worker');
  });

  it('docker swarm leave on the worker, then docker node rm once it is Down', async () => {
    const refused = await fails(m1, 'node', 'rm', ids.w1);
    assert.match(refused, new RegExp(`^Error response from daemon: node ${ids.w1} is not down and can't be removed`, 'm'), refused);

    assert.equal((await run(w1, 'swarm', 'leave')).trim(), 'Node left the swarm.');
    assert.equal(field(await info(w1), 'Swarm'), 'inactive');
    assert.equal((await fails(w1, 'node', 'ls')).trim(), NOT_IN_SWARM_MESSAGE);

    await eventually(async () => row(await nodeLs(m1), ids.w1)?.status === 'Down', 'm1 lists w1 as Down', 30_000);
    assert.equal((await run(m1, 'node', 'rm', ids.w1)).trim(), ids.w1);
    const rows = await nodeLs(m1);
    assert.deepEqual(rows.map((r) => r.id).sort(), [ids.m1, ids.m2].sort());
    // The removed daemon hears it at its next heartbeat and leaves the swarm by itself.
    await eventually(async () => field(await info(w1), 'Swarm') === 'inactive', 'the removed worker reports Swarm: inactive');
  });

  it('docker node rm --force removes a node that is still Ready', async () => {
    // The daemon that left joins again: a new node with a new ID, as in Docker.
    assert.equal((await run(w1, ...joinArgs(w1, tokens.worker))).trim(), 'This node joined a swarm as a worker.');
    const again = field(await info(w1), 'NodeID') ?? '';
    assert.match(again, NODE_ID);
    assert.notEqual(again, ids.w1);
    await eventually(async () => row(await nodeLs(m1), again)?.status === 'Ready', 'm1 lists the rejoined w1 as Ready');

    assert.equal((await run(m1, 'node', 'rm', '--force', again)).trim(), again);
    const rows = await nodeLs(m1);
    assert.deepEqual(rows.map((r) => r.id).sort(), [ids.m1, ids.m2].sort());
  });

  it('docker swarm leave on a manager needs --force, and --force leaves', async () => {
    const refused = await fails(m2, 'swarm', 'leave');
    assert.match(refused, /^Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager\./m, refused);
    assert.match(refused, /Use `--force` to (suppress|ignore) this message\./, refused);

    assert.equal((await run(m2, 'swarm', 'leave', '--force')).trim(), 'Node left the swarm.');
    assert.equal(field(await info(m2), 'Swarm'), 'inactive');
    assert.equal((await fails(m2, 'node', 'ls')).trim(), NOT_IN_SWARM_MESSAGE);
    // shoal's leaving manager hands its Raft seat back first, so the one left keeps a quorum.
    await eventually(async () => field(await info(m1), 'Managers') === '1', 'docker info on m1 counts 1 manager');
    assert.equal(row(await nodeLs(m1), ids.m1)?.managerStatus, 'Leader');

    const last = await fails(m1, 'swarm', 'leave');
    assert.match(last, /Removing the last manager erases all current state of the swarm\. Use `--force` to ignore this message\./, last);
    assert.equal((await run(m1, 'swarm', 'leave', '--force')).trim(), 'Node left the swarm.');
    assert.equal(field(await info(m1), 'Swarm'), 'inactive');
  });
});
