import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isShoalError } from '../../../shared/errors.js';
import { lookup, planRemove, type ImageRecord } from '../../../worker/image/records.js';

const id = (c: string): string => `sha256:${c.repeat(64)}`;
const D1 = `sha256:${'1'.repeat(64)}`;

function record(idChar: string, repoTags: string[], repoDigests: string[] = []): ImageRecord {
  return {
    id: id(idChar),
    manifestDigest: D1,
    repoTags,
    repoDigests,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    size: 0,
    pulledAt: 0,
    lastUsedAt: 0,
  };
}

describe('image records', () => {
  it('looks up by full ID, reference, then unique ID prefix', () => {
    const a = record('a', ['web:1']);
    const b = record('b', ['busybox:latest']);
    const records = [a, b];
    assert.equal(lookup(records, id('a')).record, a);
    assert.equal(lookup(records, 'a'.repeat(64)).record, a);
    assert.equal(lookup(records, 'busybox').record, b, 'a Docker Hub name, normalized');
    assert.equal(lookup(records, 'docker.io/library/busybox:latest').record, b);
    assert.equal(lookup(records, 'bbbb').by, 'id');
    assert.throws(() => lookup(records, 'web:2'), (err: unknown) => isShoalError(err) && err.message === 'No such image: web:2');
    const c = record('a', []);
    c.id = `sha256:aa${'c'.repeat(62)}`;
    assert.throws(() => lookup([a, c], 'aa'), /ambiguous/);
  });

  it('untags one of several tags without deleting', () => {
    const r = record('a', ['web:1', 'web:latest'], [`web@${D1}`]);
    assert.deepEqual(planRemove(lookup([r], 'web:1'), { force: false, inUse: false }), { untagged: ['web:1'], deleteImage: false });
    assert.deepEqual(r.repoTags, ['web:latest']);
    // The last tag of the repository takes its digest references along, then the image goes.
    assert.deepEqual(planRemove(lookup([r], 'web:latest'), { force: false, inUse: false }), { untagged: ['web:latest', `web@${D1}`], deleteImage: true });
  });

  it('removes by digest reference, matching the manifest digest too', () => {
    const r = record('a', [], [`web@${D1}`]);
    assert.deepEqual(planRemove(lookup([r], `web@${D1}`), { force: false, inUse: false }), { untagged: [`web@${D1}`], deleteImage: true });
  });
});
