// The dispatcher protocol's validators: each message kind accepted when well
// formed; wrong types, unknown kinds, states an agent may not report and
// oversized lists rejected with an InvalidArgumentError naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../shared/errors.js';
import {
  MAX_REMOVED_PER_MESSAGE,
  MAX_REPORTS_PER_MESSAGE,
  MAX_TASKS_PER_MESSAGE,
  parseAgentMessage,
  parseManagerMessage,
  parseTask,
  parseTaskStatus,
} from '../../../shared/protocol/dispatch.js';

type Obj = Record<string, unknown>;

function rejects(fn: () => unknown, field: string, why: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `${why}: got ${String(err)}`);
    assert.ok(err.message.includes(field), `${why}: message "${err.message}" should name ${field}`);
    return true;
  });
}

const peer = (n: number): Obj => ({ nodeId: `node${n}`, peerId: `peer${n}`, addr: `/ip4/10.0.0.${n}/tcp/2377`, raftId: n });
const status = (over: Obj = {}): Obj => ({ Timestamp: '2024-05-01T12:00:00Z', State: 'running', Message: 'started', ...over });

function task(over: Obj = {}): Obj {
  return {
    ID: 't1',
    Version: { Index: 7 },
    CreatedAt: '2024-05-01T12:00:00Z',
    UpdatedAt: '2024-05-01T12:00:00Z',
    ServiceID: 's1',
    NodeID: 'n1',
    Slot: 1,
    Spec: {
      ContainerSpec: {
        Image: 'sim/app:1',
        Env: ['SHOAL_SIM_RUN_MS=100'],
        Labels: { a: 'b' },
        StopSignal: 'SIGINT',
        StopGracePeriod: 1e9,
        HealthCheck: { Test: ['CMD', 'true'], Interval: 1e9 },
      },
      RestartPolicy: { Condition: 'any' },
    },
    Status: status({ State: 'assigned', Message: 'scheduled' }),
    DesiredState: 'running',
    ...over,
  };
}

test('agent messages: register, heartbeat and status, validated', () => {
  assert.deepEqual(parseAgentMessage({ type: 'register', nodeId: 'n1', extra: true }), { type: 'register', nodeId: 'n1' });
  assert.deepEqual(parseAgentMessage({ type: 'heartbeat' }), { type: 'heartbeat' });
  const report = { taskId: 't1', status: status({ ContainerStatus: { ExitCode: 0, PID: 12 } }), health: 'healthy' };
  assert.deepEqual(parseAgentMessage({ type: 'status', reports: [report] }), { type: 'status', reports: [report] });

  rejects(() => parseAgentMessage({ type: 'hello' }), 'type', 'unknown type');
  rejects(() => parseAgentMessage('heartbeat'), 'dispatch message', 'not an object');
  rejects(() => parseAgentMessage({ type: 'register', nodeId: 'n'.repeat(65) }), 'nodeId', 'long node id');
  rejects(() => parseAgentMessage({ type: 'status' }), 'reports', 'no reports');
  rejects(
    () => parseAgentMessage({ type: 'status', reports: Array.from({ length: MAX_REPORTS_PER_MESSAGE + 1 }, () => report) }),
    'reports',
    'too many reports',
  );
  rejects(() => parseAgentMessage({ type: 'status', reports: [{ ...report, health: 'fine' }] }), 'health', 'unknown health');
  rejects(() => parseAgentMessage({ type: 'status', reports: [{ ...report, status: status({ ContainerStatus: { ExitCode: 1.5 } }) }] }), 'ExitCode', 'fractional exit code');
});

test('an agent may only report the states it owns: accepted to rejected, never remove or orphaned', () => {
  for (const state of ['accepted', 'preparing', 'ready', 'starting', 'running', 'complete', 'shutdown', 'failed', 'rejected']) {
    assert.equal(parseAgentMessage({ type: 'status', reports: [{ taskId: 't', status: status({ State: state }) }] }).type, 'status');
  }
  for (const state of ['new', 'pending', 'assigned', 'remove', 'orphaned', 'exploded']) {
    rejects(() => parseAgentMessage({ type: 'status', reports: [{ taskId: 't', status: status({ State: state }) }] }), 'State', `state ${state}`);
  }
});

test('parseTaskStatus keeps the known fields only', () => {
  assert.deepEqual(parseTaskStatus(status({ Err: 'boom', PortStatus: {}, junk: 1 }), 's'), status({ Err: 'boom' }));
  rejects(() => parseTaskStatus(status({ Timestamp: 5 }), 's'), 'Timestamp', 'number timestamp');
  rejects(() => parseTaskStatus(status({ Message: undefined }), 's'), 'Message', 'no message');
});

test('manager messages: session, redirect, removed, error and assignments', () => {
  const session = { type: 'session', role: 'manager', raftId: 9, managers: [peer(1)], heartbeatPeriodMs: 5000 };
  assert.deepEqual(parseManagerMessage(session), session);
  assert.deepEqual(parseManagerMessage({ type: 'redirect', leader: null, managers: [] }), { type: 'redirect', leader: null, managers: [] });
  assert.deepEqual(parseManagerMessage({ type: 'redirect', leader: peer(2), managers: [peer(1), peer(2)] }), {
    type: 'redirect',
    leader: peer(2),
    managers: [peer(1), peer(2)],
  });
  assert.deepEqual(parseManagerMessage({ type: 'removed', extra: 1 }), { type: 'removed' });
  assert.deepEqual(parseManagerMessage({ type: 'error', message: 'no' }), { type: 'error', message: 'no' });
  const a = { type: 'assignments', full: true, last: false, tasks: [task()], removed: ['t0'] };
  assert.deepEqual(parseManagerMessage(a), a);

  rejects(() => parseManagerMessage({ ...session, role: 'admin' }), 'role', 'bad role');
  rejects(() => parseManagerMessage({ ...session, heartbeatPeriodMs: 0 }), 'heartbeatPeriodMs', 'zero period');
  rejects(() => parseManagerMessage({ ...session, heartbeatPeriodMs: '5000' }), 'heartbeatPeriodMs', 'string period');
  rejects(() => parseManagerMessage({ ...session, raftId: undefined }), 'raftId', 'no raft id');
  rejects(() => parseManagerMessage({ type: 'redirect', managers: [] }), 'manager', 'leader missing (not null)');
  rejects(() => parseManagerMessage({ type: 'redirect', leader: { ...peer(1), raftId: 'x' }, managers: [] }), 'raftId', 'bad leader');
  rejects(() => parseManagerMessage({ type: 'redirect', leader: null }), 'managers', 'no managers');
  rejects(() => parseManagerMessage({ ...a, full: 'yes' }), 'full', 'full not a boolean');
  rejects(() => parseManagerMessage({ ...a, last: undefined }), 'last', 'no last');
  rejects(() => parseManagerMessage({ ...a, tasks: Array.from({ length: MAX_TASKS_PER_MESSAGE + 1 }, () => task()) }), 'tasks', 'too many tasks');
  rejects(() => parseManagerMessage({ ...a, removed: Array.from({ length: MAX_REMOVED_PER_MESSAGE + 1 }, () => 'x') }), 'removed', 'too many removals');
  rejects(() => parseManagerMessage({ ...a, removed: [7] }), 'removed', 'a number as task id');
  rejects(() => parseManagerMessage({ type: 'hello' }), 'type', 'unknown type');
});

test('parseTask checks what the agent and executors rely on, and passes the rest through', () => {
  const t = task({ Labels: { x: 'y' }, NetworksAttachments: [] });
  assert.deepEqual(parseTask(t), t);
  rejects(() => parseTask(task({ ID: 3 })), 'ID', 'numeric id');
  rejects(() => parseTask(task({ DesiredState: 'dancing' })), 'DesiredState', 'unknown desired state');
  rejects(() => parseTask(task({ Status: status({ State: 'nope' }) })), 'State', 'unknown state');
  rejects(() => parseTask(task({ Spec: null })), 'Spec', 'no spec');
  rejects(() => parseTask(task({ Spec: { ContainerSpec: { Env: ['A=1'] } } })), 'Image', 'no image');
  rejects(() => parseTask(task({ Spec: { ContainerSpec: { Image: 'x', Env: 'A=1' } } })), 'Env', 'env not a list');
  rejects(() => parseTask(task({ Spec: { ContainerSpec: { Image: 'x', StopGracePeriod: -1 } } })), 'StopGracePeriod', 'negative grace');
  rejects(() => parseTask(task({ Spec: { ContainerSpec: { Image: 'x', HealthCheck: { Test: 'CMD true' } } } })), 'Test', 'healthcheck test not a list');
  rejects(() => parseTask(task({ Spec: { ContainerSpec: { Image: 'x', Labels: { a: 1 } } } })), 'Labels', 'label value not a string');
});
