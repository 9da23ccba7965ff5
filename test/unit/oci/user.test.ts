// The user a container runs as, from the image's passwd and group files (user.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGroup, parsePasswd, resolveUser } from '../../../worker/executor/oci/user.js';

const passwd = [
  '# comment',
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'broken:x:notanumber:0::/:',
  '',
].join('\n');
const group = ['root:x:0:root', 'bin:x:1:root,daemon', 'app:x:1000:', 'staff:x:50:app, daemon', 'video:x:44:'].join('\n');
const files = { passwd, group };

test('passwd and group files parse, skipping comments and broken lines', () => {
  assert.deepEqual(parsePasswd(passwd).map((p) => p.name), ['root', 'daemon', 'app']);
  assert.deepEqual(parseGroup(group).find((g) => g.name === 'staff')?.members, ['app', 'daemon']);
  assert.deepEqual(parsePasswd(undefined), []);
});

test('no user is root, with the groups root is a member of', () => {
  assert.deepEqual(resolveUser(undefined, undefined, files), { uid: 0, gid: 0, additionalGids: [0, 1] });
  assert.deepEqual(resolveUser('', undefined, {}), { uid: 0, gid: 0 });
});

test('a user name brings its uid, primary group and memberships', () => {
  assert.deepEqual(resolveUser('app', undefined, files), { uid: 1000, gid: 1000, additionalGids: [1000, 50] });
  assert.deepEqual(resolveUser('daemon', undefined, files), { uid: 1, gid: 1, additionalGids: [1, 50] });
});

test('numeric users: found ones get their group, unknown ones gid 0', () => {
  assert.deepEqual(resolveUser('1000', undefined, files), { uid: 1000, gid: 1000, additionalGids: [1000, 50] });
  assert.deepEqual(resolveUser('4242', undefined, files), { uid: 4242, gid: 0 });
  assert.deepEqual(resolveUser('4242', undefined, {}), { uid: 4242, gid: 0 });
});

test('user:group picks the primary group by name or number', () => {
  assert.deepEqual(resolveUser('app:video', undefined, files), { uid: 1000, gid: 44, additionalGids: [44, 50] });
  assert.deepEqual(resolveUser('4242:4343', undefined, {}), { uid: 4242, gid: 4343 });
  assert.throws(() => resolveUser('app:nogroup', undefined, files), /unable to find group nogroup: no matching entries in group file/);
});

test('extra groups (ContainerSpec.Groups) by name or number', () => {
  assert.deepEqual(resolveUser('4242', ['video', '777'], files), { uid: 4242, gid: 0, additionalGids: [44, 777] });
  assert.throws(() => resolveUser('0', ['nope'], files), /unable to find group nope/);
});

test('an unknown user name is an error that says what to do', () => {
  assert.throws(() => resolveUser('ghost', undefined, files), /unable to find user ghost: no matching entries in passwd file/);
  assert.throws(() => resolveUser('ghost', undefined, {}), /unable to find user ghost/);
});
