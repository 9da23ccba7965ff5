// The small pure helpers: query values, JSON bodies, validation messages, host facts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeValidationFailure, fieldPath, toErrorReply } from '../../../manager/api/errors.js';
import { maskProxyCredentials, parseOsRelease } from '../../../manager/api/host-facts.js';
import { parseJsonBody } from '../../../manager/api/json-body.js';
import { lenientBool, objectVersion, strictBool } from '../../../manager/api/query.js';
import { goArch, normalizeSwarmInfo, swarmPingStatus } from '../../../manager/api/system-info.js';
import { NotFoundError } from '../../../shared/errors.js';
import type { SwarmInfo } from '../../../shared/model/index.js';

test('lenientBool reads force like dockerd BoolValue', () => {
  for (const v of [undefined, '', '0', 'no', 'false', 'FALSE', ' none ']) assert.equal(lenientBool(v), false, String(v));
  for (const v of ['1', 'true', 'yes', 'anything']) assert.equal(lenientBool(v), true, v);
});

test('strictBool reads like strconv.ParseBool and names the parameter', () => {
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(strictBool('p', v), true, v);
  for (const v of [undefined, '', '0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(strictBool('p', v), false, String(v));
  assert.throws(() => strictBool('rotateWorkerToken', 'yes'), { status: 400, message: 'invalid value for rotateWorkerToken: yes' });
});

test('objectVersion parses like strconv.ParseUint with dockerd messages', () => {
  assert.equal(objectVersion('node', '0'), 0);
  assert.equal(objectVersion('node', '373531'), 373531);
  assert.throws(() => objectVersion('node', undefined), { message: `invalid node version '': strconv.ParseUint: parsing "": invalid syntax` });
  for (const bad of ['+1', ' 1', '1.0', '0x10', '-0']) {
    assert.throws(() => objectVersion('swarm', bad), { status: 400, message: `invalid swarm version '${bad}': strconv.ParseUint: parsing ${JSON.stringify(bad)}: invalid syntax` });
  }
  assert.throws(() => objectVersion('node', '18446744073709551616'), /value out of range/);
});

test('parseJsonBody: empty is undefined, nulls inside objects are dropped', () => {
  assert.equal(parseJsonBody(''), undefined);
  assert.equal(parseJsonBody('  \n'), undefined);
  assert.equal(parseJsonBody('null'), undefined);
  assert.deepEqual(parseJsonBody('{"a":null,"b":{"c":null,"d":1},"e":[null,2]}'), { b: { d: 1 }, e: [null, 2] });
  assert.throws(() => parseJsonBody('{'), { status: 400, message: /^invalid JSON: / });
  assert.throws(() => parseJsonBody('{"__proto__":{}}'), { status: 400 });
  assert.throws(() => parseJsonBody('[' .repeat(300_000) + ']'.repeat(300_000)), { status: 400 });
});

test('fieldPath turns JSON pointers into readable paths', () => {
  assert.equal(fieldPath(''), '');
  assert.equal(fieldPath('/Spec/Role'), 'Spec.Role');
  assert.equal(fieldPath('/RemoteAddrs/0'), 'RemoteAddrs[0]');
  assert.equal(fieldPath('/Labels/com.example~1a'), 'Labels["com.example/a"]');
  assert.equal(fieldPath('/Spec', 'Name'), 'Spec.Name');
});

test('describeValidationFailure words ajv errors for people', () => {
  assert.equal(
    describeValidationFailure('body', [{ keyword: 'enum', instancePath: '/Spec/Role', params: { allowedValues: ['worker', 'manager'] } }]),
    'invalid JSON body: Spec.Role must be one of worker, manager',
  );
  assert.equal(
    describeValidationFailure('body', [{ keyword: 'required', instancePath: '/Spec', params: { missingProperty: 'Name' } }]),
    'invalid JSON body: Spec.Name is required',
  );
  assert.equal(describeValidationFailure('querystring', [{ keyword: 'type', instancePath: '/force', params: { type: 'string' } }]), 'invalid query parameter: force must be a string');
  assert.equal(describeValidationFailure('body', [{ keyword: 'type', instancePath: '', params: { type: 'object' } }]), 'invalid JSON body: the body must be an object');
  assert.equal(
    describeValidationFailure('body', [{ keyword: 'format', instancePath: '/X', params: {}, message: 'must match format "date"' }]),
    'invalid JSON body: X must match format "date"',
  );
});

test('toErrorReply: status by kind, unexpected only for 5xx', () => {
  const ctx = { bodyLimit: 10, contentType: 'text/html' };
  assert.deepEqual(toErrorReply(new NotFoundError('node x not found'), ctx), { status: 404, message: 'node x not found', unexpected: false });
  assert.deepEqual(toErrorReply(Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), ctx), {
    status: 413,
    message: 'request body is too large: the limit is 10 bytes',
    unexpected: false,
  });
  assert.equal(toErrorReply(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), ctx).status, 400);
  assert.deepEqual(toErrorReply(new Error('boom'), ctx), { status: 500, message: 'boom', unexpected: true });
  assert.deepEqual(toErrorReply(Object.assign(new Error('bad'), { statusCode: 400 }), ctx), { status: 400, message: 'bad', unexpected: false });
});

test('parseOsRelease reads quoted and bare values', () => {
  const release = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nID=debian\n# comment\n');
  assert.equal(release['PRETTY_NAME'], 'Debian GNU/Linux 13 (trixie)');
  assert.equal(release['VERSION_ID'], '13');
  assert.equal(release['ID'], 'debian');
});

test('maskProxyCredentials hides user and password like dockerd', () => {
  assert.equal(maskProxyCredentials('http://user:secret@proxy.example.com:8080'), 'http://xxxxx:xxxxx@proxy.example.com:8080');
  assert.equal(maskProxyCredentials('http://proxy.example.com:3128'), 'http://proxy.example.com:3128');
  assert.equal(maskProxyCredentials(''), '');
  assert.equal(maskProxyCredentials('not a url'), 'not a url');
});

test('swarmPingStatus and normalizeSwarmInfo', () => {
  const base: SwarmInfo = { NodeID: '', NodeAddr: '', LocalNodeState: '', ControlAvailable: false, Error: '', RemoteManagers: null };
  assert.equal(swarmPingStatus(base), 'inactive');
  assert.equal(swarmPingStatus({ ...base, LocalNodeState: 'pending' }), 'pending');
  assert.equal(swarmPingStatus({ ...base, LocalNodeState: 'locked' }), 'locked');
  assert.equal(swarmPingStatus({ ...base, LocalNodeState: 'active' }), 'active/worker');
  assert.equal(swarmPingStatus({ ...base, LocalNodeState: 'active', ControlAvailable: true }), 'active/manager');
  assert.equal(normalizeSwarmInfo(base).LocalNodeState, 'inactive');
});

test('goArch maps node architectures to Go names', () => {
  assert.equal(goArch('x64'), 'amd64');
  assert.equal(goArch('arm64'), 'arm64');
  assert.equal(goArch('mips'), 'mips');
});
