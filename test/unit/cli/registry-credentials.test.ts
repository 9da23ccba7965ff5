// The X-Registry-Auth the CLI builds from docker's config.json: the `auths`
// entry for the image's registry (host:port, or any of Docker Hub's keys),
// `{}` when there is none, a clear refusal for credential helpers, and
// $DOCKER_CONFIG honoured.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerConfigPath, registryAuthFor, registryOf } from '../../../cli/registry-credentials.js';
import { isShoalError } from '../../../shared/errors.js';
import { decodeRegistryAuth } from '../../../shared/registry/x-registry-auth.js';

const basic = (user: string, pass: string): string => Buffer.from(`${user}:${pass}`).toString('base64');

describe('registry credentials from docker config.json', () => {
  let dir: string;
  const envFor = async (name: string, config: unknown): Promise<NodeJS.ProcessEnv> => {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
    return { DOCKER_CONFIG: d, HOME: join(dir, 'no-home') };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-creds-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('registryOf: the first path component when it looks like a host, else docker.io', () => {
    assert.equal(registryOf('127.0.0.1:5000/e2e/app:1'), '127.0.0.1:5000');
    assert.equal(registryOf('registry.example.com/team/app'), 'registry.example.com');
    assert.equal(registryOf('localhost/app'), 'localhost');
    assert.equal(registryOf('busybox'), 'docker.io');
    assert.equal(registryOf('library/busybox:1.36'), 'docker.io');
  });

  it('DOCKER_CONFIG chooses the directory; ~/.docker otherwise', () => {
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/etc/shoal-test' }), '/etc/shoal-test/config.json');
    assert.match(dockerConfigPath({}), /\.docker\/config\.json$/);
  });

  it('finds the auths entry for host:port (bare, https:// or http:// keys) and decodes user:password', async () => {
    for (const key of ['127.0.0.1:5000', 'https://127.0.0.1:5000', 'http://127.0.0.1:5000']) {
      const env = await envFor(`hostport-${key.replace(/[^a-z0-9]/gi, '')}`, {
        auths: { 'other:1': { auth: basic('x', 'y') }, [key]: { auth: basic('shoal', 'pa:ss') } },
      });
      assert.deepEqual(decodeRegistryAuth(registryAuthFor('127.0.0.1:5000/e2e/app:1', env)), { username: 'shoal', password: 'pa:ss', serveraddress: '127.0.0.1:5000' }, key);
    }
  });

  it('uses any of the keys docker login writes for Docker Hub', async () => {
    for (const key of ['https://index.docker.io/v1/', 'docker.io', 'registry-1.docker.io']) {
      const env = await envFor(`hub-${key.replace(/[^a-z0-9]/gi, '')}`, { auths: { [key]: { username: 'hubuser', password: 'hubpass' } } });
      assert.deepEqual(decodeRegistryAuth(registryAuthFor('busybox:latest', env)), { username: 'hubuser', password: 'hubpass', serveraddress: 'docker.io' }, key);
    }
  });

  it('passes identity tokens on', async () => {
    const env = await envFor('token', { auths: { 'reg.example.com': { identitytoken: 'refresh-me' } } });
    assert.deepEqual(decodeRegistryAuth(registryAuthFor('reg.example.com/app', env)), { identitytoken: 'refresh-me', serveraddress: 'reg.example.com' });
  });

  it('sends `{}` when the config has nothing for the registry, or there is no config file', async () => {
    const env = await envFor('other', { auths: { 'other.example.com': { auth: basic('u', 'p') } } });
    const header = registryAuthFor('127.0.0.1:5000/app', env);
    assert.equal(Buffer.from(header, 'base64url').toString(), '{}');
    assert.equal(decodeRegistryAuth(header), undefined);
    const missing = registryAuthFor('127.0.0.1:5000/app', { DOCKER_CONFIG: join(dir, 'does-not-exist') });
    assert.equal(Buffer.from(missing, 'base64url').toString(), '{}');
  });

  it('refuses credentials kept by a credential helper, naming the helper and the way out', async () => {
    const store = await envFor('store', { credsStore: 'desktop' });
    assert.throws(
      () => registryAuthFor('127.0.0.1:5000/app', store),
      (err: unknown) => isShoalError(err) && /docker-credential-desktop/.test(err.message) && /"auths" entry/.test(err.message) && err.message.includes(join(dir, 'store', 'config.json')),
    );
    const helpers = await envFor('helpers', { credHelpers: { '127.0.0.1:5000': 'pass' } });
    assert.throws(() => registryAuthFor('127.0.0.1:5000/app', helpers), /docker-credential-pass/);
    // A helper for another registry does not matter.
    assert.equal(decodeRegistryAuth(registryAuthFor('reg.example.com/app', helpers)), undefined);
  });

  it('says which file is broken when config.json is not JSON or an auth entry is not user:password', async () => {
    const broken = await envFor('broken', '{ not json');
    assert.throws(() => registryAuthFor('busybox', broken), (err: unknown) => isShoalError(err) && err.message.includes(join(dir, 'broken', 'config.json')));
    const badAuth = await envFor('bad-auth', { auths: { '127.0.0.1:5000': { auth: Buffer.from('no-colon').toString('base64') } } });
    assert.throws(() => registryAuthFor('127.0.0.1:5000/app', badAuth), /not base64 of user:password/);
  });
});
