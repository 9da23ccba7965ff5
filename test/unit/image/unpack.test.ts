import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isShoalError } from '../../../shared/errors.js';
import { entryMeaning, layerRelativePath } from '../../../worker/image/layer-paths.js';
import { unpackLayer } from '../../../worker/image/unpack.js';
import { buildLayer, FIXED_MTIME, type TarEntry } from '../../fixtures/images.js';
import { RecordingWhiteoutMaker } from './recording-whiteouts.js';

let work: string;
let serial = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'shoal-unpack-'));
});
after(async () => {
  // A read-only directory the tests unpack would stop a non-root rm.
  await promisify(execFile)('chmod', ['-R', 'u+w', work]);
  await rm(work, { recursive: true, force: true });
});

async function unpack(entries: TarEntry[], opts: { compress?: boolean; expectedDiffId?: string } = {}) {
  const layer = buildLayer(entries, { compress: opts.compress ?? true });
  const file = join(work, `blob-${++serial}`);
  await writeFile(file, layer.blob);
  const dest = join(work, `layer-${serial}`);
  const whiteouts = new RecordingWhiteoutMaker();
  const result = await unpackLayer({
    file,
    compression: 'detect',
    dest,
    expectedDiffId: opts.expectedDiffId ?? layer.diffId,
    whiteouts,
    preserveOwnership: false,
  });
  return { layer, dest, whiteouts, result };
}

async function refusal(entries: TarEntry[]): Promise<string> {
  try {
    await unpack(entries);
  } catch (err) {
    assert.ok(isShoalError(err), String(err));
    assert.equal(err.code, 'layer_invalid');
    return err.message;
  }
  assert.fail('the layer was unpacked but should have been refused');
}

describe('layer entry names', () => {
  it('cleans names and refuses escapes', () => {
    assert.deepEqual(layerRelativePath('./a/b/'), { path: 'a/b' });
    assert.deepEqual(layerRelativePath('a/../b'), { path: 'b' });
    assert.deepEqual(layerRelativePath('./'), { path: '' });
    assert.ok('refused' in layerRelativePath('../x'));
    assert.ok('refused' in layerRelativePath('a/../../x'));
    assert.ok('refused' in layerRelativePath('/etc/passwd'));
  });

  it('reads OCI whiteout names', () => {
    assert.deepEqual(entryMeaning('app/.wh.gone.txt'), { kind: 'whiteout', path: 'app/gone.txt' });
    assert.deepEqual(entryMeaning('.wh.top'), { kind: 'whiteout', path: 'top' });
    assert.deepEqual(entryMeaning('app/old/.wh..wh..opq'), { kind: 'opaque', dir: 'app/old' });
    assert.deepEqual(entryMeaning('.wh..wh..opq'), { kind: 'opaque', dir: '' });
    assert.deepEqual(entryMeaning('x/.wh..wh.plnk'), { kind: 'ignore' });
    assert.deepEqual(entryMeaning('app/file.wh.txt'), { kind: 'path', path: 'app/file.wh.txt' });
  });
});

describe('unpackLayer', () => {
  it('writes files, directories, symlinks and hardlinks with their modes and mtimes', async () => {
    const mtime = new Date('2023-05-06T07:08:09Z');
    const { dest, result, layer } = await unpack([
      { path: 'bin', type: 'dir' },
      { path: 'bin/tool', content: '#!/bin/sh\necho hi\n', mode: 0o755, mtime },
      { path: 'bin/alias', type: 'symlink', linkpath: 'tool' },
      { path: 'bin/hard', type: 'link', linkpath: 'bin/tool' },
      { path: 'tmp', type: 'dir', mode: 0o1777 },
      { path: 'secret', content: 's', mode: 0o600 },
      { path: 'deep/er/file', content: 'implicit parents' },
      { path: 'ro', type: 'dir', mode: 0o555 },
      { path: 'ro/inside', content: 'written before the directory became read-only' },
    ]);
    assert.equal(result.diffId, layer.diffId);
    assert.equal(await readFile(join(dest, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal((await stat(join(dest, 'bin/tool'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(dest, 'bin/tool'))).mtime.getTime(), mtime.getTime());
    assert.equal(await readlink(join(dest, 'bin/alias')), 'tool');
    assert.equal((await stat(join(dest, 'bin/hard'))).ino, (await stat(join(dest, 'bin/tool'))).ino);
    assert.equal((await stat(join(dest, 'tmp'))).mode & 0o7777, 0o1777);
    assert.equal((await stat(join(dest, 'secret'))).mode & 0o7777, 0o600);
    assert.equal(await readFile(join(dest, 'deep/er/file'), 'utf8'), 'implicit parents');
    assert.equal((await stat(join(dest, 'ro'))).mode & 0o7777, 0o555);
    // Directory times are set last, so files created inside do not disturb them.
    assert.equal((await stat(join(dest, 'bin'))).mtime.getTime(), FIXED_MTIME.getTime());
    assert.equal(result.size, '#!/bin/sh\necho hi\n'.length + 1 + 'implicit parents'.length + 'written before the directory became read-only'.length);
  });

  it('turns .wh.NAME into a whiteout of NAME and .wh..wh..opq into an opaque directory, exactly', async () => {
    const { dest, whiteouts } = await unpack([
      { path: 'app', type: 'dir' },
      { path: 'app/.wh.gone.txt' },
      { path: 'app/old', type: 'dir' },
      { path: 'app/old/.wh..wh..opq' },
      { path: 'app/old/new.txt', content: 'new' },
      { path: 'app/sub/.wh.dir-removed' },
      { path: '.wh.toplevel' },
      { path: 'app/.wh..wh.plnk' },
    ]);
    assert.deepEqual(whiteouts.relativeTo(dest), ['whiteout app/gone.txt', 'opaque app/old', 'whiteout app/sub/dir-removed', 'whiteout toplevel']);
    // The markers themselves are never written.
    assert.deepEqual((await readdir(join(dest, 'app'))).sort(), ['old', 'sub']);
    assert.deepEqual(await readdir(join(dest, 'app/old')), ['new.txt']);
  });

  it('unpacks plain (uncompressed) tars too', async () => {
    const { dest } = await unpack([{ path: 'plain.txt', content: 'not gzipped' }], { compress: false });
    assert.equal(await readFile(join(dest, 'plain.txt'), 'utf8'), 'not gzipped');
  });

  it('lets a later entry replace an earlier one of the same name', async () => {
    const { dest } = await unpack([
      { path: 'x', content: 'first' },
      { path: 'x', content: 'second' },
      { path: 'd', type: 'dir' },
      { path: 'd/f', content: 'in d' },
      { path: 'd', type: 'dir', mode: 0o700 },
      { path: 'l', type: 'symlink', linkpath: '/nowhere' },
      { path: 'l', content: 'now a file' },
    ]);
    assert.equal(await readFile(join(dest, 'x'), 'utf8'), 'second');
    assert.equal(await readFile(join(dest, 'd/f'), 'utf8'), 'in d');
    assert.equal((await stat(join(dest, 'd'))).mode & 0o777, 0o700);
    assert.ok((await lstat(join(dest, 'l'))).isFile());
  });

  it('refuses entries that climb out of the layer', async () => {
    assert.match(await refusal([{ path: '../evil', content: 'x' }]), /leads outside the layer/);
    assert.match(await refusal([{ path: 'a/../../evil', content: 'x' }]), /leads outside the layer/);
    assert.match(await refusal([{ path: '/etc/evil', content: 'x' }]), /absolute path/);
    assert.match(await refusal([{ path: 'f', content: 'x' }, { path: 'h', type: 'link', linkpath: '../../etc/passwd' }]), /hardlink h/);
    assert.match(await refusal([{ path: 'dir/.wh..wh..opq' }, { path: '../.wh.x' }]), /leads outside the layer/);
  });

  it('refuses writing through a symlinked parent', async () => {
    const msg = await refusal([
      { path: 'etc', type: 'symlink', linkpath: '/etc' },
      { path: 'etc/passwd', content: 'root::0:0::/:/bin/sh\n' },
    ]);
    assert.match(msg, /"etc\/passwd" goes through the symlink "etc"/);
    assert.match(await refusal([{ path: 'up', type: 'symlink', linkpath: '..' }, { path: 'up/.wh.x' }]), /goes through the symlink "up"/);
    // A symlink replaced by a real directory is a directory again.
    const { dest } = await unpack([
      { path: 'lib', type: 'symlink', linkpath: '/usr/lib' },
      { path: 'lib', type: 'dir' },
      { path: 'lib/ok', content: 'fine' },
    ]);
    assert.equal(await readFile(join(dest, 'lib/ok'), 'utf8'), 'fine');
  });

  it('fails when the content does not match the diff ID, naming both', async () => {
    try {
      await unpack([{ path: 'a', content: 'a' }], { expectedDiffId: `sha256:${'0'.repeat(64)}` });
      assert.fail('expected a diff ID mismatch');
    } catch (err) {
      assert.ok(isShoalError(err));
      assert.equal(err.code, 'digest_mismatch');
      assert.match(err.message, /hashes to sha256:[a-f0-9]{64}, but the image config says sha256:0{64}/);
    }
  });

  it('fails, without hanging, on a stream cut in the middle of a file', async () => {
    const big = buildLayer([
      { path: 'first', content: 'ok' },
      { path: 'big', content: Buffer.from(Array.from({ length: 400_000 }, (_, i) => (i * 7919) % 251)) },
    ]);
    const file = join(work, 'truncated');
    await writeFile(file, big.blob.subarray(0, Math.floor(big.blob.length / 2)));
    await assert.rejects(
      unpackLayer({ file, compression: 'gzip', dest: join(work, 'tr'), whiteouts: new RecordingWhiteoutMaker(), preserveOwnership: false }),
      (err: unknown) => isShoalError(err) && err.code === 'layer_invalid' && /cannot unpack layer .*unexpected end of file/.test(err.message),
    );
    const plainFile = join(work, 'truncated-plain');
    await writeFile(plainFile, big.tar.subarray(0, 512 * 3 + 100_000));
    await assert.rejects(
      unpackLayer({ file: plainFile, compression: 'none', dest: join(work, 'trp'), whiteouts: new RecordingWhiteoutMaker(), preserveOwnership: false }),
      (err: unknown) => isShoalError(err) && err.code === 'layer_invalid' && /Truncated input/.test(err.message),
    );
  });

  it('fails on a damaged header in the middle of the archive', async () => {
    const layer = buildLayer([{ path: 'a', content: 'a' }, { path: 'b', content: 'b' }], { compress: false });
    const tar = Buffer.from(layer.tar);
    tar[1024 + 10] = 0x41; // inside the second header: its checksum no longer matches
    const file = join(work, 'damaged');
    await writeFile(file, tar);
    await assert.rejects(
      unpackLayer({ file, compression: 'none', dest: join(work, 'dm'), whiteouts: new RecordingWhiteoutMaker(), preserveOwnership: false }),
      (err: unknown) => isShoalError(err) && err.code === 'layer_invalid' && /checksum/.test(err.message),
    );
  });

  it('fails clearly on something that is not a tar', async () => {
    const file = join(work, 'not-a-tar');
    await writeFile(file, Buffer.alloc(3000, 7));
    await assert.rejects(
      unpackLayer({ file, compression: 'none', dest: join(work, 'nt'), whiteouts: new RecordingWhiteoutMaker(), preserveOwnership: false }),
      (err: unknown) => isShoalError(err) && err.code === 'layer_invalid' && /cannot unpack layer/.test(err.message),
    );
  });
});
