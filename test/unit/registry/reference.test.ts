import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageReferenceProblem } from '../../../manager/api/image-ref.js';
import { canonical, familiarName, familiarString, parseReference, withDigest } from '../../../shared/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference normalizes as Docker does', () => {
  it('puts short names on Docker Hub under library/ with tag latest', () => {
    assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
    assert.deepEqual(parseReference('user/app:2'), { domain: 'docker.io', path: 'user/app', tag: '2' });
    assert.deepEqual(parseReference('index.docker.io/busybox:1.36'), { domain: 'docker.io', path: 'library/busybox', tag: '1.36' });
  });

  it('keeps a registry named by a dot, a port or localhost', () => {
    assert.deepEqual(parseReference('127.0.0.1:5000/web:1'), { domain: '127.0.0.1:5000', path: 'web', tag: '1' });
    assert.deepEqual(parseReference('localhost:5000/a'), { domain: 'localhost:5000', path: 'a', tag: 'latest' });
    assert.deepEqual(parseReference('localhost/a/b'), { domain: 'localhost', path: 'a/b', tag: 'latest' });
    assert.deepEqual(parseReference('ghcr.io/org/tool:v1'), { domain: 'ghcr.io', path: 'org/tool', tag: 'v1' });
    assert.deepEqual(parseReference('[::1]:5000/x:y'), { domain: '[::1]:5000', path: 'x', tag: 'y' });
  });

  it('takes a digest without adding latest, and keeps a tag given with one', () => {
    assert.deepEqual(parseReference(`x@${D}`), { domain: 'docker.io', path: 'library/x', digest: D });
    assert.deepEqual(parseReference(`127.0.0.1:5000/web:1@${D}`), { domain: '127.0.0.1:5000', path: 'web', tag: '1', digest: D });
  });

  it('refuses what Docker refuses, saying why', () => {
    assert.throws(() => parseReference('Busybox'), /repository name must be lowercase/);
    assert.throws(() => parseReference(''), /must be provided/);
    assert.throws(() => parseReference('a'.repeat(64)), /64-byte hexadecimal/);
    assert.throws(() => parseReference('web:1:2'), /invalid reference format/);
    assert.throws(() => parseReference(`web@sha256:${'a'.repeat(63)}`), /invalid checksum digest length/);
    assert.throws(() => parseReference(`web@md5:${'a'.repeat(32)}`), /unsupported digest algorithm/);
    assert.throws(() => parseReference('foo/Bar'), /repository name must be lowercase/);
    // An uppercase first component is a registry host, as in Docker.
    assert.deepEqual(parseReference('Foo/bar'), { domain: 'Foo', path: 'bar', tag: 'latest' });
  });

  it('agrees with the manager API validation on what is valid', () => {
    for (const s of ['busybox', '127.0.0.1:5000/web:1', `x@${D}`, 'a/b/c:d', 'Busybox', 'web:1:2', '']) {
      let parsed = true;
      try {
        parseReference(s);
      } catch {
        parsed = false;
      }
      assert.equal(parsed, imageReferenceProblem(s) === undefined, s);
    }
  });
});

describe('reference formatting', () => {
  it('prints Docker Hub names familiar and others in full', () => {
    assert.equal(familiarName(parseReference('docker.io/library/busybox')), 'busybox');
    assert.equal(familiarName(parseReference('docker.io/user/app')), 'user/app');
    assert.equal(familiarName(parseReference('docker.io/library/a/b')), 'library/a/b');
    assert.equal(familiarString(parseReference('127.0.0.1:5000/web:1')), '127.0.0.1:5000/web:1');
    assert.equal(familiarString(parseReference('busybox')), 'busybox:latest');
  });

  it('canonical names carry the registry', () => {
    assert.equal(canonical(parseReference('busybox')), 'docker.io/library/busybox:latest');
    assert.equal(canonical(parseReference(`127.0.0.1:5000/web@${D}`)), `127.0.0.1:5000/web@${D}`);
  });

  it('pins like docker service create: name:tag@digest', () => {
    assert.equal(withDigest(parseReference('busybox'), D), `busybox:latest@${D}`);
    assert.equal(withDigest(parseReference('127.0.0.1:5000/web:1'), D), `127.0.0.1:5000/web:1@${D}`);
    // A reference already pinned gets the new digest.
    assert.equal(withDigest(parseReference(`web:1@sha256:${'b'.repeat(64)}`), D), `web:1@${D}`);
    assert.throws(() => withDigest(parseReference('web'), 'sha256:xyz'), /cannot pin web:latest/);
  });
});
