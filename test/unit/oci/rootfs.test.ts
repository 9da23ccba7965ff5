// Reading a file of an image from its layers without mounting them
// (rootfs.ts): the highest layer wins, whiteouts hide, symlinks resolve
// inside the image and never lead out of it. Plus mountinfo parsing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountPoints, readImageFile } from '../../../worker/executor/oci/rootfs.js';

let root: string;
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function layer(name: string, files: Record<string, string | { link: string }>): Promise<string> {
  root ??= await mkdtemp(join(tmpdir(), 'shoal-oci-layers-'));
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(join(full, '..'), { recursive: true });
    if (typeof content === 'string') await writeFile(full, content);
    else await symlink(content.link, full);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

test('the highest layer that has the file wins; lower layers fill in the rest', async () => {
  const low = await layer('a1', { 'etc/passwd': 'low', 'etc/group': 'low-group' });
  const high = await layer('a2', { 'etc/passwd': 'high' });
  assert.equal(await readImageFile([low, high], 'etc/passwd'), 'high');
  assert.equal(await readImageFile([low, high], '/etc/group'), 'low-group');
  assert.equal(await readImageFile([low, high], 'etc/shadow'), undefined);
});

test('a whiteout in a higher layer hides the file, or a whole directory', async () => {
  const low = await layer('b1', { 'etc/passwd': 'low', 'opt/x/file': 'x' });
  const high = await layer('b2', { 'etc/.wh.passwd': '', 'opt/.wh.x': '' });
  assert.equal(await readImageFile([low, high], 'etc/passwd'), undefined);
  assert.equal(await readImageFile([low, high], 'opt/x/file'), undefined);
});

test('symlinks resolve inside the image; nothing is read from the host through one', async () => {
  const l = await layer('c1', {
    'usr/share/passwd': 'shared',
    'etc/passwd': { link: '../usr/share/passwd' },
    'etc/group': { link: '/usr/share/passwd' },
    'etc/hostpw': { link: '/etc/hostname-of-the-host-not-here' },
    'alt/etc': { link: '/usr/share' },
    'loop/a': { link: '/loop/a' },
  });
  assert.equal(await readImageFile([l], 'etc/passwd'), 'shared');
  assert.equal(await readImageFile([l], 'etc/group'), 'shared');
  assert.equal(await readImageFile([l], 'alt/etc/passwd'), 'shared', 'a symlinked directory on the way');
  assert.equal(await readImageFile([l], 'etc/hostpw'), undefined);
  assert.equal(await readImageFile([l], 'loop/a'), undefined, 'a symlink loop ends');
  const escape = await layer('c2', { 'etc': { link: '/etc' } });
  // /etc of this image is a link to its own /etc: it must not read the host's /etc/passwd.
  assert.equal(await readImageFile([escape], 'etc/passwd'), undefined);
});

test('mount points from mountinfo, with escaped spaces', () => {
  const info = '22 27 0:21 / /proc rw,relatime - proc proc rw\n99 27 0:50 / /tmp/a\\040b rw - overlay overlay rw\n';
  assert.deepEqual(mountPoints(info), ['/proc', '/tmp/a b']);
});
