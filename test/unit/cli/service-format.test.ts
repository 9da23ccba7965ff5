// `service ls` and `service inspect --pretty` as docker prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatServiceIds, formatServicePretty, formatServiceTable, goDuration, portsColumn } from '../../../cli/format/service.js';
import type { EndpointPortConfig, Service, ServiceSpec } from '../../../shared/model/index.js';

function svc(id: string, spec: Partial<ServiceSpec>, over: Partial<Service> = {}): Service {
  return {
    ID: id,
    Version: { Index: 5 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    Spec: { TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } }, ...spec },
    ...over,
  };
}

const status = (running: number, desired: number, completed = 0): Service['ServiceStatus'] => ({ RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed });
const port = (published: number, target: number, protocol: 'tcp' | 'udp' = 'tcp', mode: 'ingress' | 'host' = 'ingress'): EndpointPortConfig => ({
  Protocol: protocol,
  TargetPort: target,
  PublishedPort: published,
  PublishMode: mode,
});

const services = [
  svc('zzzzzzzzzzzzzzzzzzzzzzzz1', { Name: 'web10', Mode: { Replicated: { Replicas: 3 } } }, { ServiceStatus: status(2, 3), Endpoint: { Ports: [port(8080, 80), port(8081, 81)] } }),
  svc(
    'yyyyyyyyyyyyyyyyyyyyyyyy2',
    { Name: 'web2', Mode: { Global: {} }, TaskTemplate: { ContainerSpec: { Image: `docker.io/library/redis:7@sha256:${'a'.repeat(64)}` } } },
    { ServiceStatus: status(4, 4) },
  ),
  svc('xxxxxxxxxxxxxxxxxxxxxxxx3', { Name: 'batch', Mode: { ReplicatedJob: { MaxConcurrent: 5, TotalCompletions: 10 } } }, { ServiceStatus: status(0, 5, 3) }),
  svc('wwwwwwwwwwwwwwwwwwwwwwww4', { Name: 'cron', Mode: { GlobalJob: {} } }, { ServiceStatus: status(1, 2, 3) }),
  svc(
    'vvvvvvvvvvvvvvvvvvvvvvvv5',
    { Name: 'api', Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { ContainerSpec: { Image: 'api:2' }, Placement: { MaxReplicas: 1 } } },
    { ServiceStatus: status(2, 2) },
  ),
];

test('service ls: natural name order, truncated IDs, docker\'s MODE and REPLICAS forms, digests hidden', () => {
  assert.equal(
    formatServiceTable(services),
    [
      'ID             NAME      MODE             REPLICAS               IMAGE     PORTS',
      'vvvvvvvvvvvv   api       replicated       2/2 (max 1 per node)   api:2     ',
      'xxxxxxxxxxxx   batch     replicated job   0/5 (3/10 completed)   nginx:1   ',
      'wwwwwwwwwwww   cron      global job       1/2 (3/5 completed)    nginx:1   ',
      'yyyyyyyyyyyy   web2      global           4/4                    redis:7   ',
      'zzzzzzzzzzzz   web10     replicated       2/3                    nginx:1   *:8080-8081->80-81/tcp',
      '',
    ].join('\n'),
  );
  assert.equal(formatServiceTable([]), 'ID        NAME      MODE      REPLICAS   IMAGE     PORTS\n');
  assert.equal(formatServiceIds(services.slice(0, 2)), 'yyyyyyyyyyyy\nzzzzzzzzzzzz\n');
});

test('service ls PORTS: ingress only, ranges grouped as docker groups them', () => {
  const s = svc('x', {}, { Endpoint: { Ports: [port(80, 80), port(81, 81), port(82, 80), port(53, 53, 'udp'), port(9000, 9, 'tcp', 'host')] } });
  assert.equal(portsColumn(s), '*:80-81->80-81/tcp, *:82->80/tcp, *:53->53/udp');
  assert.equal(portsColumn(svc('y', {})), '');
});

test('Go durations as docker prints them', () => {
  assert.deepEqual(
    [0, 500, 1500, 2_500_000, 1e9, 1.5e9, 90e9, 3600e9, 5400.25e9].map(goDuration),
    ['0s', '500ns', '1.5µs', '2.5ms', '1s', '1.5s', '1m30s', '1h0m0s', '1h30m0.25s'],
  );
});

test('service inspect --pretty: docker\'s template, with its blank first line and tabs', () => {
  const s = svc(
    'abc',
    {
      Name: 'web',
      Labels: { b: '2', a: '' },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first', Delay: 10e9 },
      TaskTemplate: {
        ContainerSpec: { Image: 'nginx:1', Args: ['a', 'b'], Env: ['A=1'], HealthCheck: { Test: ['CMD-SHELL', 'true'], Interval: 30e9 } },
        Resources: { Limits: { MemoryBytes: 512 * 1024 * 1024 }, Reservations: { NanoCPUs: 5e8 } },
        Placement: { Constraints: ['node.role==worker', 'x==y'] },
      },
      EndpointSpec: { Mode: 'vip' },
    },
    {
      UpdateStatus: { State: 'completed', StartedAt: '2026-01-01T00:00:00Z', CompletedAt: '2026-01-01T00:01:00Z', Message: 'update completed' },
      Endpoint: { Ports: [port(8080, 80)] },
    },
  );
  assert.equal(
    formatServicePretty(s, Date.parse('2026-01-01T00:05:00Z')),
    [
      '',
      'ID:\t\tabc',
      'Name:\t\tweb',
      'Labels:',
      ' a',
      ' b=2',
      'Service Mode:\tReplicated',
      ' Replicas:\t3',
      'UpdateStatus:',
      ' State:\t\tcompleted',
      ' Started:\t5 minutes ago',
      ' Completed:\t4 minutes ago',
      ' Message:\tupdate completed',
      'Placement:',
      ' Constraints:\t[node.role==worker x==y]',
      'UpdateConfig:',
      ' Parallelism:\t1',
      ' Delay:\t\t10s',
      ' On failure:\tpause',
      ' Monitoring Period: 5s',
      ' Max failure ratio: 0',
      ' Update order:      stop-first',
      'ContainerSpec:',
      ' Image:\t\tnginx:1',
      ' Args:\t\ta b ',
      ' Env:\t\tA=1 ',
      'Resources:',
      ' Reservations:',
      '  CPU:\t\t0.5',
      ' Limits:',
      '  Memory:\t512MiB',
      'Endpoint Mode:\tvip',
      'Ports:',
      ' PublishedPort = 8080',
      '  Protocol = tcp',
      '  TargetPort = 80',
      '  PublishMode = ingress ',
      ' Healthcheck:',
      '  Interval = 30s',
      '  Retries = 0',
      '  StartPeriod =\t0s',
      '  Timeout =\t0s',
      '  Tests:',
      '\t Test = CMD-SHELL',
      '\t Test = true ',
      '',
    ].join('\n'),
  );
});

test('service inspect --pretty: global services and jobs', () => {
  const global = formatServicePretty(svc('g', { Name: 'agent', Mode: { Global: {} } }), 0);
  assert.match(global, /^Service Mode:\tGlobal$/m);
  const job = formatServicePretty(svc('j', { Name: 'batch', Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 6 } } }), 0);
  assert.match(job, /^Service Mode:\tReplicated Job\n Max Concurrent:\t2\n Total Completions:\t6$/m);
});
