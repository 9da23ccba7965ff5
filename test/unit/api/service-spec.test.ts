// The pure parts behind the service endpoints: normalization of what the docker
// CLI sends, image references, "does this need new tasks", ServiceStatus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageReferenceProblem } from '../../../manager/api/image-ref.js';
import { randomServiceName } from '../../../manager/api/names.js';
import { portConflict, rolledBackServiceRecord, updatedServiceRecord } from '../../../manager/api/service-records.js';
import { normalizeServiceSpec, taskDefinitionKey, validateServiceName, withServiceDefaults } from '../../../manager/api/service-spec.js';
import { serviceStatus } from '../../../manager/api/service-status.js';
import type { ServiceRecord, ServiceSpec, Task, TaskState } from '../../../shared/model/index.js';

const base: ServiceSpec = { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } } };

test('normalize: Go zero values become defaults; the docker CLI\'s Healthcheck becomes HealthCheck', () => {
  const spec = normalizeServiceSpec({
    Name: 'web',
    TaskTemplate: {
      ContainerSpec: { Image: 'nginx', Isolation: '', StopSignal: '', Mounts: [{ Target: '/d', Type: '' as 'bind' }] },
      RestartPolicy: { Condition: '' as 'any' },
      Runtime: '',
    },
    UpdateConfig: { FailureAction: '' as 'pause', Order: '' as 'stop-first', Monitor: 0, Delay: 0 },
    EndpointSpec: { Mode: '' as 'vip', Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
  });
  assert.deepEqual(spec.TaskTemplate, { ContainerSpec: { Image: 'nginx', Mounts: [{ Target: '/d' }] }, RestartPolicy: { Condition: 'any' } });
  assert.deepEqual(spec.Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(spec.UpdateConfig, { Parallelism: 0, FailureAction: 'pause', Order: 'stop-first', MaxFailureRatio: 0 });
  assert.deepEqual(spec.EndpointSpec, { Mode: 'vip', Ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' }] });
  const fromCli = { ...base, TaskTemplate: { ContainerSpec: { Image: 'nginx', Healthcheck: { Test: ['NONE'] } } } };
  assert.deepEqual(normalizeServiceSpec(fromCli as ServiceSpec).TaskTemplate.ContainerSpec, { Image: 'nginx', HealthCheck: { Test: ['NONE'] } });
  assert.deepEqual(normalizeServiceSpec({ ...base, Mode: { ReplicatedJob: {} } }).Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
  assert.throws(() => normalizeServiceSpec({ ...base, Mode: { Global: {}, GlobalJob: {} } }), /Mode names global and global-job/);
});

test('image references as Docker parses them', () => {
  for (const ok of ['nginx', 'nginx:1.27', 'library/nginx', '127.0.0.1:5000/web:2', 'registry.example.com/a/b-c_d.e:v1', `nginx@sha256:${'a'.repeat(64)}`, 'localhost/x']) {
    assert.equal(imageReferenceProblem(ok), undefined, ok);
  }
  assert.equal(imageReferenceProblem(''), 'image reference must be provided');
  assert.equal(imageReferenceProblem('Nginx'), 'repository name must be lowercase');
  assert.equal(imageReferenceProblem('nginx:'), 'invalid reference format');
  assert.equal(imageReferenceProblem('a'.repeat(64)), 'cannot specify 64-byte hexadecimal strings as an image name');
});

test('names: Docker\'s DNS-component rule; generated names follow it', () => {
  for (const ok of ['web', 'my_stack_web', 'a-b', 'A1']) validateServiceName(ok);
  for (const bad of ['', 'web.1', '-web', 'web-', 'we b', 'web_']) assert.throws(() => validateServiceName(bad), Error, bad);
  for (const r of [0, 0.3, 0.99]) validateServiceName(randomServiceName(() => r));
});

test('taskDefinitionKey: replicas, labels and update settings need no new tasks; the template does', () => {
  const spec = normalizeServiceSpec(base);
  const key = taskDefinitionKey(spec);
  assert.equal(taskDefinitionKey({ ...spec, Mode: { Replicated: { Replicas: 9 } }, Labels: { a: 'b' }, UpdateConfig: { Parallelism: 3 } }), key);
  assert.equal(taskDefinitionKey(withServiceDefaults(spec)), key, 'insertDefaults round trip');
  const zeroes = { ...spec, TaskTemplate: { ...spec.TaskTemplate, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 } };
  assert.equal(taskDefinitionKey(zeroes), key, 'Go zero values are no change');
  assert.notEqual(taskDefinitionKey({ ...spec, TaskTemplate: { ContainerSpec: { Image: 'nginx:2' } } }), key);
  assert.notEqual(taskDefinitionKey({ ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: 1 } }), key);
  assert.notEqual(taskDefinitionKey({ ...spec, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 80 }] } }), key);
});

function stored(spec: ServiceSpec, over: Partial<ServiceRecord> = {}): ServiceRecord {
  return { ID: 's1', Version: { Index: 4 }, CreatedAt: '', UpdatedAt: '', Spec: normalizeServiceSpec(spec), Internal: { SpecVersion: 3 }, ...over };
}

test('records: update and rollback drafts carry no store stamps', () => {
  const cur = stored(base, { UpdateStatus: { State: 'completed' } });
  const next = updatedServiceRecord(cur, normalizeServiceSpec({ ...base, Labels: { x: 'y' } }), 'T');
  assert.equal(next.Version, undefined);
  assert.equal(next.UpdateStatus, undefined, 'a finished update status is cleared, as swarmkit does');
  assert.equal(next.Internal.SpecVersion, 3);
  const back = rolledBackServiceRecord({ ...cur, PreviousSpec: cur.Spec, Spec: { ...cur.Spec, Labels: { x: 'y' } } }, 'T');
  assert.equal(back.Internal.SpecVersion, 3, 'a rollback of a label change needs no new tasks');
  assert.equal(back.UpdateStatus?.State, 'rollback_started');
});

test('port conflicts: ingress is exclusive, host mode shares', () => {
  const withPort = (id: string, mode: 'ingress' | 'host', protocol: 'tcp' | 'udp' = 'tcp'): ServiceRecord =>
    stored({ ...base, Name: id, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 80, PublishMode: mode, Protocol: protocol }] } }, { ID: id });
  const others = [withPort('a', 'ingress'), withPort('h', 'host', 'udp')];
  assert.match(portConflict(withPort('x', 'host').Spec, undefined, others) ?? '', /port '80' is already in use by service 'a' \(a\) as an ingress port/);
  assert.equal(portConflict(withPort('a', 'ingress').Spec, 'a', others), undefined, 'an update does not clash with itself');
  assert.equal(portConflict(withPort('y', 'host', 'udp').Spec, undefined, others), undefined);
  assert.match(portConflict(withPort('z', 'ingress', 'udp').Spec, undefined, others) ?? '', /as a host-published port/);
});

function t(state: TaskState, desired: TaskState, node = 'n1', iteration?: number): Task {
  return {
    ID: `${state}-${desired}-${node}`,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: 's1',
    NodeID: node,
    Spec: {},
    Status: { Timestamp: '', State: state, Message: '' },
    DesiredState: desired,
    ...(iteration !== undefined ? { JobIteration: { Index: iteration } } : {}),
  };
}

test('ServiceStatus: running tasks meant to run, on nodes that are up; jobs count completions of this run', () => {
  const down = (id: string): boolean => id === 'dead';
  const svc = (mode: ServiceSpec['Mode'], over: Partial<ServiceRecord> = {}): ServiceRecord => stored({ ...base, Mode: mode }, over);
  const tasks = [t('running', 'running'), t('running', 'shutdown'), t('running', 'running', 'dead'), t('preparing', 'running')];
  assert.deepEqual(serviceStatus(svc({ Replicated: { Replicas: 3 } }), tasks, down), { RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 0 });
  assert.deepEqual(serviceStatus(svc({ Global: {} }), tasks, down), { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 });
  const job = svc({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } }, { JobStatus: { JobIteration: { Index: 2 } } });
  const runs = [t('complete', 'complete', 'n1', 2), t('complete', 'complete', 'n2', 2), t('complete', 'complete', 'n3', 1), t('running', 'complete', 'n4', 2)];
  assert.deepEqual(serviceStatus(job, runs, down), { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 2 });
  const gjob = svc({ GlobalJob: {} }, { JobStatus: { JobIteration: { Index: 2 } } });
  assert.deepEqual(serviceStatus(gjob, runs, down), { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 2 });
});
