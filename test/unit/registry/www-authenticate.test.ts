import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWwwAuthenticate, pickChallenge } from '../../../shared/registry/www-authenticate.js';

describe('WWW-Authenticate parsing', () => {
  it('reads a Docker Hub bearer challenge with quoted, comma-carrying values', () => {
    const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"';
    assert.deepEqual(parseWwwAuthenticate(h), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' } },
    ]);
  });

  it('reads a basic challenge and several challenges in one header', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="shoal-test"'), [{ scheme: 'basic', params: { realm: 'shoal-test' } }]);
    const both = parseWwwAuthenticate('Basic realm="a", Bearer realm="https://t/token", service=reg, error="insufficient_scope"');
    assert.deepEqual(both, [
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 'reg', error: 'insufficient_scope' } },
    ]);
    assert.equal(pickChallenge(both)?.scheme, 'bearer');
  });

  it('handles escapes, odd spacing, case and token68', () => {
    assert.deepEqual(parseWwwAuthenticate('BEARER  Realm = "x\\"y" ,  Service=s'), [{ scheme: 'bearer', params: { realm: 'x"y', service: 's' } }]);
    assert.deepEqual(parseWwwAuthenticate('Negotiate abc123=='), [{ scheme: 'negotiate', params: { token68: 'abc123==' } }]);
    assert.deepEqual(parseWwwAuthenticate(''), []);
    assert.equal(pickChallenge(parseWwwAuthenticate('Negotiate x')), undefined);
  });
});
