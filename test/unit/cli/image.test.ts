// `shoal image ls|pull|rm|inspect` run in-process against the real API server
// (fastify, on a unix socket) with a scripted ImageBackend: what reaches the
// backend (names, force, credentials from docker's config.json) and what the
// user sees (docker's progress lines, the reference last, daemon errors).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type {
  DistributionInspectResponse,
  ImageBackend,
  ImageDeleteItem,
  ImageInspect,
  ImageSummary,
  PullMessage,
} from '../../../manager/api/image-types.js';
import { createApiServer } from '../../../manager/api/server.js';
import { NotFoundError, ShoalError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';
import type { RegistryAuth } from '../../../shared/registry/types.js';
import { FakeBackend } from '../api/fake-backend.js';
import { HOST } from '../api/helpers.js';
import { shoal } from './fake-daemon.js';

const NAME = '127.0.0.1:5000/e2e/app:1';
const ID = `sha256:${'ab'.repeat(32)}`;
const DIGEST = `sha256:${'cd'.repeat(32)}`;

const SUMMARY: ImageSummary = {
  Id: ID,
  ParentId: '',
  RepoTags: [NAME, '127.0.0.1:5000/e2e/app:latest'],
  RepoDigests: [`127.0.0.1:5000/e2e/app@${DIGEST}`],
  Created: Math.floor(Date.now() / 1000) - 3 * 24 * 3600,
  Size: 4_400_000,
  SharedSize: -1,
  Labels: {},
  Containers: -1,
};

const INSPECT: ImageInspect = {
  Id: ID,
  RepoTags: [NAME],
  RepoDigests: [],
  Parent: '',
  Comment: '',
  Created: '2024-01-01T00:00:00Z',
  Author: '',
  Config: { Cmd: ['sh'] },
  Architecture: 'amd64',
  Os: 'linux',
  Size: 4_400_000,
  GraphDriver: { Name: 'overlay2', Data: {} },
  RootFS: { Type: 'layers', Layers: [] },
  Metadata: { LastTagTime: '2024-01-01T00:00:00.000Z' },
};

function happyPull(ref: string): PullMessage[] {
  const at = ref.lastIndexOf(':');
  return [
    { status: 'Pulling from e2e/app', id: ref.slice(at + 1) },
    { status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} },
    { status: 'Downloading', id: 'aaaaaaaaaaaa', progressDetail: { current: 10, total: 20 }, progress: '[=>  ] 10B/20B' },
    { status: 'Download complete', id: 'aaaaaaaaaaaa', progressDetail: {} },
    { status: 'Pull complete', id: 'aaaaaaaaaaaa', progressDetail: {} },
    { status: `Digest: ${DIGEST}` },
    { status: `Status: Downloaded newer image for ${ref}` },
  ];
}

class ScriptedImages implements ImageBackend {
  readonly pulls: Array<{ ref: string; auth: RegistryAuth | undefined }> = [];
  readonly removals: Array<{ name: string; force: boolean }> = [];
  readonly inspected: string[] = [];
  pull: (ref: string, progress: (m: PullMessage) => void) => Promise<void> = async (ref, progress) => {
    for (const m of happyPull(ref)) progress(m);
  };

  async listImages(): Promise<ImageSummary[]> {
    return [SUMMARY];
  }
  async inspectImage(name: string): Promise<ImageInspect> {
    this.inspected.push(name);
    if (name !== NAME) throw new NotFoundError(`No such image: ${name}`);
    return INSPECT;
  }
  async pullImage(ref: string, auth: RegistryAuth | undefined, progress: (m: PullMessage) => void): Promise<void> {
    this.pulls.push({ ref, auth });
    await this.pull(ref, progress);
  }
  async removeImage(name: string, force: boolean): Promise<ImageDeleteItem[]> {
    this.removals.push({ name, force });
    if (name !== NAME) throw new NotFoundError(`No such image: ${name}`);
    return [{ Untagged: NAME }, { Untagged: `127.0.0.1:5000/e2e/app@${DIGEST}` }, { Deleted: ID }, { Deleted: `sha256:${'01'.repeat(32)}` }];
  }
  async distributionInspect(): Promise<DistributionInspectResponse> {
    throw new ShoalError('not_implemented', 'not in this test', 501);
  }
}

async function listenOn(dir: string, name: string, images: ImageBackend | undefined): Promise<{ app: FastifyInstance; host: string }> {
  const app = createApiServer({ backend: new FakeBackend(), logger: createLogger({ level: 'silent' }), host: HOST, ...(images !== undefined ? { images } : {}) });
  const path = join(dir, `${name}.sock`);
  await app.listen({ path });
  return { app, host: `unix://${path}` };
}

describe('shoal image', () => {
  let dir: string;
  let images: ScriptedImages;
  let daemon: { app: FastifyInstance; host: string };
  let bare: { app: FastifyInstance; host: string };
  const savedConfig = process.env['DOCKER_CONFIG'];

  const useDockerConfig = async (config: unknown | undefined): Promise<void> => {
    const d = join(dir, `config-${Math.random().toString(36).slice(2)}`);
    await mkdir(d);
    if (config !== undefined) await writeFile(join(d, 'config.json'), JSON.stringify(config));
    process.env['DOCKER_CONFIG'] = d;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-image-cli-'));
    images = new ScriptedImages();
    daemon = await listenOn(dir, 'images', images);
    bare = await listenOn(dir, 'sim', undefined);
  });
  beforeEach(async () => {
    images.pulls.length = 0;
    images.removals.length = 0;
    images.inspected.length = 0;
    images.pull = new ScriptedImages().pull;
    await useDockerConfig(undefined);
  });
  after(async () => {
    if (savedConfig === undefined) delete process.env['DOCKER_CONFIG'];
    else process.env['DOCKER_CONFIG'] = savedConfig;
    await daemon?.app.close();
    await bare?.app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('image ls prints docker\'s table, a row per tag', async () => {
    const r = await shoal(daemon.host, 'image', 'ls');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(lines[1] ?? '', /^127\.0\.0\.1:5000\/e2e\/app\s+1\s+abababababab\s+3 days ago\s+4\.4MB$/);
    assert.match(lines[2] ?? '', /^127\.0\.0\.1:5000\/e2e\/app\s+latest\s+abababababab\s+3 days ago\s+4\.4MB$/);
    assert.equal(lines.length, 4);
  });

  it('image list -q, --no-trunc, --digests and --format json', async () => {
    assert.equal((await shoal(daemon.host, 'image', 'list', '-q')).stdout, 'abababababab\nabababababab\n');
    assert.equal((await shoal(daemon.host, 'image', 'ls', '-q', '--no-trunc')).stdout, `${ID}\n${ID}\n`);
    const digests = await shoal(daemon.host, 'image', 'ls', '--digests');
    assert.match(digests.stdout.split('\n')[1] ?? '', new RegExp(`^127\\.0\\.0\\.1:5000/e2e/app\\s+1\\s+${DIGEST}\\s+abababababab\\s`));
    const json = await shoal(daemon.host, 'image', 'ls', '--format', 'json');
    assert.deepEqual(JSON.parse(json.stdout), [SUMMARY]);
  });

  it('image pull prints progress like docker off a terminal and the reference last', async () => {
    const r = await shoal(daemon.host, 'image', 'pull', NAME);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '1: Pulling from e2e/app',
        'aaaaaaaaaaaa: Pulling fs layer',
        'aaaaaaaaaaaa: Download complete',
        'aaaaaaaaaaaa: Pull complete',
        `Digest: ${DIGEST}`,
        `Status: Downloaded newer image for ${NAME}`,
        NAME,
        '',
      ].join('\n'),
    );
    assert.deepEqual(images.pulls, [{ ref: NAME, auth: undefined }]);
  });

  it('image pull of a bare name says it uses "latest" and ends with the fully qualified reference', async () => {
    const r = await shoal(daemon.host, 'image', 'pull', 'busybox');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Using default tag: latest');
    assert.equal(lines.at(-1), 'docker.io/library/busybox:latest');
    assert.equal(images.pulls[0]?.ref, 'busybox:latest', 'fromImage and tag sent apart, as docker does');
  });

  it('image pull -q prints only the reference; a digest reference is pulled by digest', async () => {
    const r = await shoal(daemon.host, 'image', 'pull', '-q', `127.0.0.1:5000/e2e/app@${DIGEST}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `127.0.0.1:5000/e2e/app@${DIGEST}\n`);
    assert.equal(images.pulls[0]?.ref, `127.0.0.1:5000/e2e/app@${DIGEST}`);
  });

  it('image pull sends the credentials docker login stored for the registry', async () => {
    await useDockerConfig({ auths: { '127.0.0.1:5000': { auth: Buffer.from('shoal:s3cret').toString('base64') }, 'other:1': { auth: Buffer.from('x:y').toString('base64') } } });
    const r = await shoal(daemon.host, 'image', 'pull', '-q', NAME);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(images.pulls[0]?.auth, { username: 'shoal', password: 's3cret', serveraddress: '127.0.0.1:5000' });
  });

  it('image pull refuses credentials kept by a helper before asking the daemon', async () => {
    await useDockerConfig({ credsStore: 'desktop' });
    const r = await shoal(daemon.host, 'image', 'pull', NAME);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /docker-credential-desktop/);
    assert.deepEqual(images.pulls, []);
  });

  it('a pull refused before any progress is "Error response from daemon" with the registry\'s words', async () => {
    images.pull = async (ref, progress) => {
      progress({ status: 'Pulling from e2e/app', id: '9' });
      throw new NotFoundError(`manifest for ${ref} not found: manifest unknown: manifest unknown`);
    };
    const r = await shoal(daemon.host, 'image', 'pull', '127.0.0.1:5000/e2e/app:9');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'Error response from daemon: manifest for 127.0.0.1:5000/e2e/app:9 not found: manifest unknown: manifest unknown\n');
  });

  it('a pull failing mid-stream shows the progress so far, then the error, and no reference', async () => {
    images.pull = async (_ref, progress) => {
      progress({ status: 'Pulling from e2e/app', id: '1' });
      progress({ status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} });
      throw new ShoalError('layer_invalid', 'layer sha256:aaaa does not match its digest', 502);
    };
    const r = await shoal(daemon.host, 'image', 'pull', NAME);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '1: Pulling from e2e/app\naaaaaaaaaaaa: Pulling fs layer\n');
    assert.equal(r.stderr, 'Error response from daemon: layer sha256:aaaa does not match its digest\n');
  });

  it('image pull: a malformed reference is refused locally; a daemon without images says so', async () => {
    const bad = await shoal(daemon.host, 'image', 'pull', 'Not/Valid');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid reference format/);
    assert.deepEqual(images.pulls, []);
    const sim = await shoal(bare.host, 'image', 'pull', NAME);
    assert.equal(sim.code, 1);
    assert.match(sim.stderr, /^Error response from daemon: this daemon keeps no images/);
  });

  it('image pull to a daemon that is not there says how to start it', async () => {
    const r = await shoal(`unix://${join(dir, 'nobody.sock')}`, 'image', 'pull', NAME);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot connect to the shoal daemon .* Is the shoal daemon running\?/);
  });

  it('image rm prints Untagged/Deleted lines, reports each failure, and exits 1 if any failed', async () => {
    const r = await shoal(daemon.host, 'image', 'rm', NAME, 'nope:1');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, [`Untagged: ${NAME}`, `Untagged: 127.0.0.1:5000/e2e/app@${DIGEST}`, `Deleted: ${ID}`, `Deleted: sha256:${'01'.repeat(32)}`, ''].join('\n'));
    assert.equal(r.stderr, 'Error response from daemon: No such image: nope:1\n');
    assert.deepEqual(images.removals, [
      { name: NAME, force: false },
      { name: 'nope:1', force: false },
    ]);
    const forced = await shoal(daemon.host, 'image', 'remove', '-f', NAME);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(images.removals.at(-1), { name: NAME, force: true });
  });

  it('image inspect prints a JSON array of what it found, then the errors', async () => {
    const r = await shoal(daemon.host, 'image', 'inspect', NAME, 'nope:1');
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), [INSPECT]);
    assert.ok(r.stdout.startsWith('[\n    {\n        "Id"'), 'indented by 4, as docker does');
    assert.equal(r.stderr, 'Error response from daemon: No such image: nope:1\n');
    assert.deepEqual(images.inspected, [NAME, 'nope:1']);
    const compact = await shoal(daemon.host, 'image', 'inspect', '--format', 'json', NAME);
    assert.equal(compact.stdout, `${JSON.stringify([INSPECT])}\n`);
  });
});
