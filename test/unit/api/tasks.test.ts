import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { FakeBackend, makeNode, makeService, makeTask } from './fake-backend.js';
import { harness, messageOf, type Harness } from './helpers.js';

async function cluster(): Promise<Harness> {
  const backend = new FakeBackend();
  await backend.init({});
  backend.nodes.push(makeNode({ id: 'node2', hostname: 'wrk-1' }));
  backend.services = [
    makeService('aaa111', { Name: 'web', Labels: { tier: 'front' }, TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } } }),
    makeService('bbb222', { Name: 'db', TaskTemplate: { ContainerSpec: { Image: 'postgres:16' } }, Mode: { Global: {} } }),
  ];
  backend.tasks = [
    makeTask({ id: 'task1', serviceId: 'aaa111', slot: 1, nodeId: 'node-self' }),
    makeTask({ id: 'task2', serviceId: 'aaa111', slot: 1, nodeId: 'node-self', state: 'shutdown', desired: 'shutdown' }),
    makeTask({ id: 'task3', serviceId: 'aaa111', slot: 2, nodeId: 'node2' }),
    makeTask({ id: 'xtask4', serviceId: 'bbb222', nodeId: 'node2' }),
  ];
  backend.staleTasks.add('task3');
  return harness({ backend });
}

function ids(res: LightMyRequestResponse): string[] {
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as Array<{ ID: string }>).map((t) => t.ID);
}

function list(h: Harness, filters: unknown): Promise<LightMyRequestResponse> {
  return h.server.inject({ method: 'GET', url: `/v1.47/tasks?filters=${encodeURIComponent(JSON.stringify(filters))}` });
}

test('GET /tasks: every task, in Docker shape', async () => {
  const h = await cluster();
  const res = await h.server.inject({ method: 'GET', url: '/tasks' });
  assert.deepEqual(ids(res), ['task1', 'task2', 'task3', 'xtask4']);
  const t = res.json()[0];
  assert.equal(t.Status.State, 'running');
  assert.equal(t.DesiredState, 'running');
  assert.equal(t.Internal, undefined);
});

test('GET /tasks: service and node filters take IDs, names and prefixes', async () => {
  const h = await cluster();
  assert.deepEqual(ids(await list(h, { service: ['web'] })), ['task1', 'task2', 'task3']);
  assert.deepEqual(ids(await list(h, { service: ['bbb222'] })), ['xtask4']);
  assert.deepEqual(ids(await list(h, { service: { bb: true } })), ['xtask4']);
  assert.deepEqual(ids(await list(h, { node: ['wrk-1'] })), ['task3', 'xtask4']);
  assert.deepEqual(ids(await list(h, { node: ['node-self'], service: ['web'] })), ['task1', 'task2']);
  assert.deepEqual(ids(await list(h, { service: ['web', 'db'], node: ['node2'] })), ['task3', 'xtask4']);
});

test('GET /tasks: desired-state, id, name, label and _up-to-date', async () => {
  const h = await cluster();
  assert.deepEqual(ids(await list(h, { 'desired-state': ['running'] })), ['task1', 'task3', 'xtask4']);
  assert.deepEqual(ids(await list(h, { 'desired-state': ['Shutdown', 'accepted'] })), ['task2']);
  assert.deepEqual(ids(await list(h, { id: ['task'] })), ['task1', 'task2', 'task3']);
  assert.deepEqual(ids(await list(h, { name: ['web.1'] })), ['task1', 'task2']);
  assert.deepEqual(ids(await list(h, { name: ['web.1.task2'] })), ['task2']);
  assert.deepEqual(ids(await list(h, { name: ['db.node2'] })), ['xtask4']);
  // swarmkit matches the service's labels.
  assert.deepEqual(ids(await list(h, { label: ['tier=front'] })), ['task1', 'task2', 'task3']);
  assert.deepEqual(ids(await list(h, { service: ['web'], '_up-to-date': ['true'] })), ['task1', 'task2']);
});

test('GET /tasks: unknown filters and states are 400s before the backend; unknown services and nodes 404', async () => {
  const h = await cluster();
  h.backend.calls.length = 0;
  const unknown = await list(h, { colour: ['red'] });
  assert.equal(unknown.statusCode, 400);
  assert.equal(messageOf(unknown), "invalid filter 'colour'");
  const state = await list(h, { 'desired-state': ['sleeping'] });
  assert.equal(state.statusCode, 400);
  assert.equal(messageOf(state), "Invalid desired-state filter: 'sleeping'");
  assert.equal(h.backend.callsTo('listTasks').length, 0);
  const noService = await list(h, { service: ['nope'] });
  assert.equal(noService.statusCode, 404);
  assert.equal(messageOf(noService), 'service nope not found');
  const noNode = await list(h, { node: ['nope'] });
  assert.equal(noNode.statusCode, 404);
  assert.equal(messageOf(noNode), 'node nope not found');
});

test('GET /tasks/{id}: by ID, name or prefix; 404 and ambiguity as dockerd', async () => {
  const h = await cluster();
  for (const [ref, id] of [
    ['task3', 'task3'],
    ['web.2.task3', 'task3'],
    ['xt', 'xtask4'],
  ] as const) {
    const res = await h.server.inject({ method: 'GET', url: `/tasks/${ref}` });
    assert.equal(res.statusCode, 200, ref);
    assert.equal(res.json().ID, id, ref);
  }
  const ambiguous = await h.server.inject({ method: 'GET', url: '/tasks/task' });
  assert.equal(ambiguous.statusCode, 400);
  assert.match(messageOf(ambiguous), /^task task is ambiguous \(3 matches found\)/);
  const missing = await h.server.inject({ method: 'GET', url: '/v1.47/tasks/zzz' });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { message: 'task zzz not found' });
});
