// Flags into ServiceSpecs the way the docker CLI builds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCreateSpec,
  buildUpdateSpec,
  defaultUpdateConfig,
  FlagError,
  keyValues,
  parseCpus,
  parseEnv,
  parseMemory,
  parsePlacementPref,
  parsePositiveDuration,
  serviceMode,
  shellWords,
} from '../../../cli/format/service-spec.js';
import type { ServiceSpec } from '../../../shared/model/index.js';

test('create: the bare minimum sends only what was given (the daemon fills defaults)', () => {
  assert.deepEqual(buildCreateSpec('nginx', [], {}), {
    TaskTemplate: { ContainerSpec: { Image: 'nginx' } },
    Mode: { Replicated: {} },
  });
});

test('create: IMAGE COMMAND ARGS become Args; names, labels, env, placement and resources', () => {
  const spec = buildCreateSpec('busybox:1', ['sh', '-c', 'sleep 1d'], {
    name: 'web',
    replicas: 3,
    env: ['A=1', 'B=2', 'A=3'],
    label: ['tier=front', 'solo'],
    containerLabel: ['c=d'],
    constraint: ['node.role==worker'],
    placementPref: [parsePlacementPref('spread=node.labels.zone')],
    replicasMaxPerNode: 2,
    reserveCpu: parseCpus('0.5'),
    reserveMemory: parseMemory('64m'),
    limitMemory: parseMemory('1g'),
    stopSignal: 'SIGINT',
    stopGracePeriod: 3e9,
  });
  assert.deepEqual(spec, {
    Name: 'web',
    Labels: { tier: 'front', solo: '' },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'busybox:1',
        Args: ['sh', '-c', 'sleep 1d'],
        Env: ['A=3', 'B=2'],
        Labels: { c: 'd' },
        StopSignal: 'SIGINT',
        StopGracePeriod: 3e9,
      },
      Placement: { Constraints: ['node.role==worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 },
      Resources: { Limits: { NanoCPUs: 0, MemoryBytes: 1024 ** 3 }, Reservations: { NanoCPUs: 5e8, MemoryBytes: 64 * 1024 ** 2 } },
    },
    Mode: { Replicated: { Replicas: 3 } },
  });
});

test('create: a touched restart policy or update config starts from swarmkit defaults', () => {
  const spec = buildCreateSpec('nginx', [], { restartCondition: 'on-failure', updateDelay: 10e9, rollbackFailureAction: 'continue' });
  assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: 'on-failure', Delay: 5e9, MaxAttempts: 0 });
  assert.deepEqual(spec.UpdateConfig, { ...defaultUpdateConfig(), Delay: 10e9 });
  assert.deepEqual(spec.RollbackConfig, { ...defaultUpdateConfig(), FailureAction: 'continue' });
});

test('create: health flags, --no-healthcheck, and their conflict', () => {
  const h = buildCreateSpec('nginx', [], { healthCmd: 'curl -f localhost', healthInterval: 2e9, healthRetries: 3 }).TaskTemplate.ContainerSpec?.HealthCheck;
  assert.deepEqual(h, { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 2e9, Timeout: 0, Retries: 3, StartPeriod: 0 });
  assert.deepEqual(buildCreateSpec('nginx', [], { noHealthcheck: true }).TaskTemplate.ContainerSpec?.HealthCheck, { Test: ['NONE'] });
  assert.throws(() => buildCreateSpec('nginx', [], { noHealthcheck: true, healthCmd: 'x' }), new FlagError('--no-healthcheck conflicts with --health-* options'));
});

test('modes: docker\'s rules for replicas, max-concurrent and max per node', () => {
  assert.deepEqual(serviceMode({ mode: 'global' }), { Global: {} });
  assert.deepEqual(serviceMode({ mode: 'replicated-job', replicas: 10 }), { ReplicatedJob: { MaxConcurrent: 10, TotalCompletions: 10 } });
  assert.deepEqual(serviceMode({ mode: 'replicated-job', replicas: 10, maxConcurrent: 2 }), { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 10 } });
  assert.deepEqual(serviceMode({ mode: 'global-job' }), { GlobalJob: {} });
  assert.throws(() => serviceMode({ mode: 'global', replicas: 2 }), /^FlagError: replicas can only be used with replicated or replicated-job mode$/);
  assert.throws(() => serviceMode({ mode: 'global-job', replicasMaxPerNode: 1 }), /replicas-max-per-node can only be used/);
  assert.throws(() => serviceMode({ mode: 'replicated', maxConcurrent: 1 }), /max-concurrent can only be used with replicated-job mode/);
  assert.throws(() => serviceMode({ mode: 'batch' }), /invalid mode "batch"/);
});

const current: ServiceSpec = {
  Name: 'web',
  Labels: { a: '1', b: '2' },
  TaskTemplate: {
    ContainerSpec: { Image: 'nginx:1', Env: ['A=1', 'B=2'], Labels: { x: 'y' }, HealthCheck: { Test: ['NONE'] } },
    Placement: { Constraints: ['node.role==worker'] },
    ForceUpdate: 2,
  },
  Mode: { Replicated: { Replicas: 3 } },
  UpdateConfig: { Parallelism: 2, FailureAction: 'pause', Order: 'stop-first' },
};

test('update: nothing given changes nothing', () => {
  assert.deepEqual(buildUpdateSpec(current, {}), current);
});

test('update: add/rm flags edit lists and maps in place', () => {
  const next = buildUpdateSpec(current, {
    image: 'nginx:2',
    args: shellWords('nginx -g "daemon off;"'),
    envAdd: ['B=3', 'C=4'],
    envRm: ['A'],
    labelAdd: ['c=3'],
    labelRm: ['a'],
    containerLabelRm: ['x'],
    constraintAdd: ['node.labels.zone==eu'],
    constraintRm: ['node.role==worker'],
    placementPrefAdd: [parsePlacementPref('spread=node.labels.rack')],
    replicas: 5,
    updateParallelism: 5,
    force: true,
  });
  assert.equal(next.TaskTemplate.ContainerSpec?.Image, 'nginx:2');
  assert.deepEqual(next.TaskTemplate.ContainerSpec?.Args, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(next.TaskTemplate.ContainerSpec?.Env, ['B=3', 'C=4']);
  assert.deepEqual(next.Labels, { b: '2', c: '3' });
  assert.deepEqual(next.TaskTemplate.ContainerSpec?.Labels, {});
  assert.deepEqual(next.TaskTemplate.Placement, { Constraints: ['node.labels.zone==eu'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }] });
  assert.deepEqual(next.Mode, { Replicated: { Replicas: 5 } });
  // The service's own config is kept, only parallelism changes.
  assert.deepEqual(next.UpdateConfig, { Parallelism: 5, FailureAction: 'pause', Order: 'stop-first' });
  assert.equal(next.TaskTemplate.ForceUpdate, 3);
  assert.equal(current.TaskTemplate.ForceUpdate, 2, 'the input is not modified');
});

test('update: health flags replace NONE; --replicas on a global service is refused; jobs scale TotalCompletions', () => {
  const h = buildUpdateSpec(current, { healthInterval: 1e9 }).TaskTemplate.ContainerSpec?.HealthCheck;
  assert.deepEqual(h, { Interval: 1e9 });
  const global: ServiceSpec = { ...current, Mode: { Global: {} } };
  assert.throws(() => buildUpdateSpec(global, { replicas: 2 }), /replicas can only be used with replicated or replicated-job mode/);
  const job: ServiceSpec = { ...current, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } } };
  assert.deepEqual(buildUpdateSpec(job, { replicas: 8 }).Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 8 } });
});

test('flag value parsers: CPUs, memory, durations, env, placement preferences, shell words', () => {
  assert.equal(parseCpus('1.5'), 1_500_000_000);
  assert.equal(parseCpus('.25'), 250_000_000);
  assert.throws(() => parseCpus('0.0000000001'), /value is too precise/);
  assert.throws(() => parseCpus('two'), /invalid CPU count "two"/);
  assert.equal(parseMemory('512m'), 512 * 1024 ** 2);
  assert.equal(parseMemory('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseMemory('100'), 100);
  assert.throws(() => parseMemory('lots'), /invalid size: 'lots'/);
  assert.equal(parsePositiveDuration('1m30s'), 90e9);
  assert.throws(() => parsePositiveDuration('-1s'), /duration cannot be negative/);
  assert.equal(parseEnv('A=1'), 'A=1');
  assert.equal(parseEnv('HOME', { HOME: '/root' }), 'HOME=/root');
  assert.equal(parseEnv('UNSET', {}), 'UNSET');
  assert.throws(() => parseEnv('=x'), /invalid environment variable: =x/);
  assert.throws(() => parsePlacementPref('pack=node.labels.x'), /unsupported placement preference pack \(only spread is supported\)/);
  assert.throws(() => parsePlacementPref('spread'), /must be of the format "<strategy>=<arg>"/);
  assert.deepEqual(shellWords(`a 'b c' "d \\"e\\"" f\\ g`), ['a', 'b c', 'd "e"', 'f g']);
  assert.throws(() => shellWords('"open'), /unterminated double quote/);
  assert.deepEqual(keyValues(['a=b=c', 'd']), { a: 'b=c', d: '' });
});
