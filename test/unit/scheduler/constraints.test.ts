import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constraintHolds,
  constraintProblem,
  nodeMatchesConstraints,
  parseConstraint,
  parseConstraints,
} from '../../../manager/scheduler/constraints.js';
import { InvalidArgumentError } from '../../../shared/errors.js';
import { node } from './helpers.js';

test('constraints parse in Docker syntax: key, operator and value, trimmed', () => {
  const c = parseConstraint(' node.labels.zone == eu-west ');
  assert.equal(c.key, 'node.labels.zone');
  assert.equal(c.operator, '==');
  assert.equal(c.value, 'eu-west');
  assert.deepEqual(c.field, { kind: 'nodeLabel', label: 'zone' });
  const d = parseConstraint('node.role!=manager');
  assert.equal(d.operator, '!=');
  assert.deepEqual(d.field, { kind: 'role' });
  assert.deepEqual(parseConstraint('engine.labels.os==ubuntu 22.04').field, { kind: 'engineLabel', label: 'os' });
  assert.deepEqual(parseConstraint('node.platform.os==linux').field, { kind: 'os' });
  assert.deepEqual(parseConstraint('node.platform.arch==x86_64').field, { kind: 'arch' });
  assert.deepEqual(parseConstraint('node.hostname==a').field, { kind: 'hostname' });
  assert.deepEqual(parseConstraint('node.id==abc').field, { kind: 'id' });
  // Docker accepts keys it does not know; they simply never match.
  assert.deepEqual(parseConstraint('node.colour==red').field, { kind: 'unknown' });
  assert.equal(parseConstraints(['node.role==worker', 'node.labels.a!=b']).length, 2);
});

test('malformed constraints fail with Docker\'s own messages', () => {
  const cases: Array<[string, string]> = [
    ['node.labels.zone', 'constraint expected one operator from ==, !='],
    ['node.labels.zone=eu', 'constraint expected one operator from ==, !='],
    ['node.labels.zone>eu', 'constraint expected one operator from ==, !='],
    ['==eu', "key '' is invalid"],
    ['x==eu', "key 'x' is invalid"],
    ['1abc==eu', "key '1abc' is invalid"],
    ['node labels==eu', "key 'node labels' is invalid"],
    ['node.labels.zone==', "value '' is invalid"],
    ['node.labels.zone==a=b', "value 'a=b' is invalid"],
    // "==" is looked for first, so the rest becomes the value.
    ['node.labels.zone==a!=b', "value 'a!=b' is invalid"],
    ['node.labels.zone!=<b>', "value '<b>' is invalid"],
  ];
  for (const [expr, message] of cases) {
    assert.throws(() => parseConstraint(expr), (err: unknown) => err instanceof InvalidArgumentError && err.message === message, expr);
    assert.equal(constraintProblem(expr), message, expr);
  }
  assert.equal(constraintProblem('node.labels.zone==eu'), undefined);
  // Values may hold what Docker allows: spaces, paths, globs, regex-looking characters.
  for (const v of ['ubuntu 22.04', 'a/b:c', 'x.*', '(a|b)+?', '[x]^$', 'a\\b']) assert.equal(constraintProblem(`engine.labels.k==${v}`), undefined, v);
  assert.throws(() => parseConstraints(['node.role==worker', 'bad']), /constraint expected one operator/);
});

test('each constraint key reads its node field, case-insensitively for keys and values', () => {
  const n = node('n1', {
    hostname: 'web-1',
    role: 'manager',
    os: 'linux',
    arch: 'x86_64',
    labels: { zone: 'EU', Tier: 'front' },
    engineLabels: { storage: 'ssd' },
  });
  const holds = (expr: string): boolean => constraintHolds(parseConstraint(expr), n);
  assert.ok(holds('node.id==n1'));
  assert.ok(holds('node.id!=n2'));
  assert.ok(holds('node.hostname==WEB-1'));
  assert.ok(!holds('node.hostname!=web-1'));
  assert.ok(holds('node.role==manager'));
  assert.ok(holds('Node.Role==Manager'));
  assert.ok(!holds('node.role==worker'));
  assert.ok(holds('node.platform.os==linux'));
  assert.ok(!holds('node.platform.os==windows'));
  assert.ok(holds('node.platform.arch==x86_64'));
  assert.ok(holds('node.labels.zone==eu'));
  assert.ok(holds('NODE.LABELS.zone==eu'));
  // Label names are case-sensitive.
  assert.ok(holds('node.labels.Tier==front'));
  assert.ok(!holds('node.labels.tier==front'));
  assert.ok(holds('engine.labels.storage==SSD'));
  assert.ok(!holds('engine.labels.storage==hdd'));
  // A missing label compares as "": != holds, == fails.
  assert.ok(holds('node.labels.rack!=r1'));
  assert.ok(!holds('node.labels.rack==r1'));
  assert.ok(holds('engine.labels.gpu!=yes'));
  // Unknown keys fail whatever the operator.
  assert.ok(!holds('node.colour==red'));
  assert.ok(!holds('node.colour!=red'));
  // All constraints must hold.
  assert.ok(nodeMatchesConstraints(parseConstraints(['node.role==manager', 'node.labels.zone==eu']), n));
  assert.ok(!nodeMatchesConstraints(parseConstraints(['node.role==manager', 'node.labels.zone==us']), n));
  assert.ok(nodeMatchesConstraints([], n));
});
