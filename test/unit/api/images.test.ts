// The node-local image routes (GET /images/json, GET /images/{name}/json,
// POST /images/create, DELETE /images/{name}, GET /distribution/{name}/json)
// over a fake ImageBackend: names with slashes and registry ports reach the
// backend whole, pull progress streams as dockerd's does, and both ways a pull
// can fail (before and after the first progress line) read as docker expects.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { request } from 'undici';
import type { FastifyInstance } from 'fastify';
import type {
  DistributionInspectResponse,
  ImageBackend,
  ImageDeleteItem,
  ImageInspect,
  ImageSummary,
  PullMessage,
} from '../../../manager/api/image-types.js';
import { pullReference } from '../../../manager/api/routes/images.js';
import { createApiServer } from '../../../manager/api/server.js';
import { NotFoundError, ShoalError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';
import type { RegistryAuth } from '../../../shared/registry/types.js';
import { encodeRegistryAuth } from '../../../shared/registry/x-registry-auth.js';
import { FakeBackend } from './fake-backend.js';
import { HOST, messageOf } from './helpers.js';

const ID = `sha256:${'ab'.repeat(32)}`;
const NAME = '127.0.0.1:5000/e2e/app:1';

const SUMMARY: ImageSummary = {
  Id: ID,
  ParentId: '',
  RepoTags: [NAME],
  RepoDigests: [`127.0.0.1:5000/e2e/app@sha256:${'cd'.repeat(32)}`],
  Created: 1_704_067_200,
  Size: 1_234_567,
  SharedSize: -1,
  Labels: {},
  Containers: -1,
};

function inspectOf(name: string): ImageInspect {
  return {
    Id: ID,
    RepoTags: [name],
    RepoDigests: [],
    Parent: '',
    Comment: '',
    Created: '2024-01-01T00:00:00Z',
    Author: '',
    Config: {},
    Architecture: 'amd64',
    Os: 'linux',
    Size: 1,
    GraphDriver: { Name: 'overlay2', Data: {} },
    RootFS: { Type: 'layers', Layers: [] },
    Metadata: { LastTagTime: '2024-01-01T00:00:00.000Z' },
  };
}

type PullScript = (progress: (m: PullMessage) => void, signal: AbortSignal) => Promise<void>;

/** Records what the routes pass through; `pull` scripts what a pull reports and how it ends. */
class FakeImages implements ImageBackend {
  readonly calls: Array<{ op: string; name: string; auth?: RegistryAuth | undefined; force?: boolean }> = [];
  pull: PullScript = async () => undefined;
  lastSignal: AbortSignal | undefined;

  async listImages(): Promise<ImageSummary[]> {
    this.calls.push({ op: 'list', name: '' });
    return [SUMMARY];
  }

  async inspectImage(name: string): Promise<ImageInspect> {
    this.calls.push({ op: 'inspect', name });
    if (name !== NAME && name !== 'abababababab') throw new NotFoundError(`No such image: ${name}`);
    return inspectOf(name);
  }

  async pullImage(ref: string, auth: RegistryAuth | undefined, progress: (m: PullMessage) => void, signal: AbortSignal): Promise<void> {
    this.calls.push({ op: 'pull', name: ref, auth });
    this.lastSignal = signal;
    await this.pull(progress, signal);
  }

  async removeImage(name: string, force: boolean): Promise<ImageDeleteItem[]> {
    this.calls.push({ op: 'remove', name, force });
    if (name !== NAME) throw new NotFoundError(`No such image: ${name}`);
    return [{ Untagged: NAME }, { Deleted: ID }];
  }

  async distributionInspect(ref: string, auth: RegistryAuth | undefined): Promise<DistributionInspectResponse> {
    this.calls.push({ op: 'distribution', name: ref, auth });
    return { Descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'cd'.repeat(32)}`, size: 500 }, Platforms: [{ architecture: 'amd64', os: 'linux' }] };
  }
}

function server(images: ImageBackend | undefined): FastifyInstance {
  const logger = createLogger({ level: 'silent' });
  return createApiServer({ backend: new FakeBackend(), logger, host: HOST, ...(images !== undefined ? { images } : {}) });
}

/** The progress a successful one-layer pull reports, as the image store words it. */
const HAPPY: PullMessage[] = [
  { status: 'Pulling from e2e/app', id: '1' },
  { status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} },
  { status: 'Downloading', id: 'aaaaaaaaaaaa', progressDetail: { current: 10, total: 20 }, progress: '[=>  ] 10B/20B' },
  { status: 'Pull complete', id: 'aaaaaaaaaaaa', progressDetail: {} },
  { status: `Digest: sha256:${'cd'.repeat(32)}` },
  { status: `Status: Downloaded newer image for ${NAME}` },
];

function lines(body: string): unknown[] {
  assert.ok(body.endsWith('\r\n'), 'every progress message ends with CRLF, as dockerd writes them');
  return body
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

describe('image routes', () => {
  it('GET /images/json lists the backend images', async () => {
    const images = new FakeImages();
    const res = await server(images).inject({ method: 'GET', url: '/v1.56/images/json?all=0' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), [SUMMARY]);
  });

  it('GET /images/{name}/json passes a name with a registry port and slashes whole, escaped or not', async () => {
    const images = new FakeImages();
    const app = server(images);
    const plain = await app.inject({ method: 'GET', url: `/v1.56/images/${NAME}/json` });
    assert.equal(plain.statusCode, 200);
    assert.deepEqual(plain.json<ImageInspect>().RepoTags, [NAME]);
    // What `shoal image inspect` sends: each path segment escaped.
    const escaped = await app.inject({ method: 'GET', url: `/images/${NAME.split('/').map(encodeURIComponent).join('/')}/json` });
    assert.equal(escaped.statusCode, 200);
    const byId = await app.inject({ method: 'GET', url: '/images/abababababab/json' });
    assert.equal(byId.statusCode, 200);
    assert.deepEqual(
      images.calls.map((c) => c.name),
      [NAME, NAME, 'abababababab'],
    );
  });

  it('GET /images/{name}/json answers 404 with the backend message for an unknown image, and for other pages', async () => {
    const app = server(new FakeImages());
    const res = await app.inject({ method: 'GET', url: '/images/nope:1/json' });
    assert.equal(res.statusCode, 404);
    assert.equal(messageOf(res), 'No such image: nope:1');
    const other = await app.inject({ method: 'GET', url: `/images/${NAME}/history` });
    assert.equal(other.statusCode, 404);
    assert.match(messageOf(other), /page not found/);
  });

  it('POST /images/create streams the progress as JSON lines and joins fromImage and tag', async () => {
    const images = new FakeImages();
    images.pull = async (progress) => {
      for (const m of HAPPY) progress(m);
    };
    const res = await server(images).inject({ method: 'POST', url: '/v1.56/images/create?fromImage=127.0.0.1:5000/e2e/app&tag=1' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.deepEqual(lines(res.body), HAPPY);
    assert.equal(images.calls[0]?.name, NAME);
    assert.equal(images.calls[0]?.auth, undefined, 'no X-Registry-Auth: anonymous');
  });

  it('pullReference: a digest in `tag` makes a digest reference; an empty tag keeps fromImage as given', () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    assert.equal(pullReference('127.0.0.1:5000/e2e/app', digest), `127.0.0.1:5000/e2e/app@${digest}`);
    assert.equal(pullReference('busybox', 'latest'), 'busybox:latest');
    assert.equal(pullReference('busybox:1.36', ''), 'busybox:1.36');
    assert.equal(pullReference(' busybox ', undefined), 'busybox');
    assert.throws(() => pullReference(undefined, '1'), (err: unknown) => err instanceof ShoalError && err.status === 400 && /fromImage is required/.test(err.message));
  });

  it('POST /images/create decodes X-Registry-Auth for the backend; garbage is a 400', async () => {
    const images = new FakeImages();
    const app = server(images);
    const auth = encodeRegistryAuth({ username: 'shoal', password: 's3cret', serveraddress: '127.0.0.1:5000' });
    const ok = await app.inject({ method: 'POST', url: '/images/create?fromImage=127.0.0.1:5000/e2e/app&tag=1', headers: { 'x-registry-auth': auth } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(images.calls[0]?.auth, { username: 'shoal', password: 's3cret', serveraddress: '127.0.0.1:5000' });
    const bad = await app.inject({ method: 'POST', url: '/images/create?fromImage=x&tag=1', headers: { 'x-registry-auth': '!!not base64 json!!' } });
    assert.equal(bad.statusCode, 400);
    assert.match(messageOf(bad), /X-Registry-Auth/);
    assert.equal(images.calls.length, 1, 'a request with unreadable credentials never reaches the backend');
  });

  it('a pull that fails before any progress but "Pulling from" is an HTTP error with the backend status', async () => {
    const images = new FakeImages();
    images.pull = async (progress) => {
      progress({ status: 'Pulling from e2e/app', id: '9' });
      throw new NotFoundError('manifest for 127.0.0.1:5000/e2e/app:9 not found: manifest unknown');
    };
    const res = await server(images).inject({ method: 'POST', url: '/images/create?fromImage=127.0.0.1:5000/e2e/app&tag=9' });
    assert.equal(res.statusCode, 404);
    assert.equal(messageOf(res), 'manifest for 127.0.0.1:5000/e2e/app:9 not found: manifest unknown');
  });

  it('a pull that fails after progress started ends the stream with an errorDetail line', async () => {
    const images = new FakeImages();
    images.pull = async (progress) => {
      progress({ status: 'Pulling from e2e/app', id: '1' });
      progress({ status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} });
      throw new ShoalError('layer_invalid', 'layer sha256:aaaa of 127.0.0.1:5000/e2e/app:1 does not match its digest', 502);
    };
    const res = await server(images).inject({ method: 'POST', url: '/images/create?fromImage=127.0.0.1:5000/e2e/app&tag=1' });
    assert.equal(res.statusCode, 200, 'the status line went out with the first progress');
    const got = lines(res.body);
    assert.equal(got.length, 3);
    const message = 'layer sha256:aaaa of 127.0.0.1:5000/e2e/app:1 does not match its digest';
    assert.deepEqual(got[2], { errorDetail: { message }, error: message });
  });

  it('POST /images/create refuses fromSrc (501) and a missing fromImage (400)', async () => {
    const images = new FakeImages();
    const app = server(images);
    const src = await app.inject({ method: 'POST', url: '/images/create?fromSrc=-' });
    assert.equal(src.statusCode, 501);
    assert.match(messageOf(src), /push the image to a registry/);
    const none = await app.inject({ method: 'POST', url: '/images/create' });
    assert.equal(none.statusCode, 400);
    assert.match(messageOf(none), /fromImage is required/);
    assert.equal(images.calls.length, 0);
  });

  it('a client that goes away mid-pull aborts the backend pull', async () => {
    const images = new FakeImages();
    let started!: () => void;
    const begun = new Promise<void>((resolve) => (started = resolve));
    images.pull = async (progress, signal) => {
      progress({ status: 'Pulling from e2e/app', id: '1' });
      progress({ status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} });
      started();
      if (!signal.aborted) await once(signal, 'abort');
      throw new ShoalError('aborted', 'pull aborted', 499);
    };
    const app = server(images);
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const abort = new AbortController();
      const res = await request(`http://127.0.0.1:${port}/images/create?fromImage=127.0.0.1:5000/e2e/app&tag=1`, { method: 'POST', signal: abort.signal });
      assert.equal(res.statusCode, 200);
      await begun;
      abort.abort();
      await res.body.text().catch(() => undefined);
      const signal = images.lastSignal;
      assert.ok(signal !== undefined);
      if (!signal.aborted) await once(signal, 'abort');
      assert.equal(signal.aborted, true);
    } finally {
      await app.close();
    }
  });

  it('DELETE /images/{name} passes the name and force, and returns the untag and delete items', async () => {
    const images = new FakeImages();
    const app = server(images);
    const res = await app.inject({ method: 'DELETE', url: `/v1.56/images/${NAME}?force=1` });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), [{ Untagged: NAME }, { Deleted: ID }]);
    assert.deepEqual(images.calls[0], { op: 'remove', name: NAME, force: true });
    const plain = await app.inject({ method: 'DELETE', url: `/images/${NAME}` });
    assert.equal(plain.statusCode, 200);
    assert.equal(images.calls[1]?.force, false);
    const missing = await app.inject({ method: 'DELETE', url: '/images/nope:1' });
    assert.equal(missing.statusCode, 404);
    assert.equal(messageOf(missing), 'No such image: nope:1');
    const bad = await app.inject({ method: 'DELETE', url: `/images/${NAME}?force=maybe` });
    assert.equal(bad.statusCode, 400);
    assert.match(messageOf(bad), /force/);
  });

  it('GET /distribution/{name}/json decodes X-Registry-Auth and passes the reference whole', async () => {
    const images = new FakeImages();
    const auth = encodeRegistryAuth({ username: 'u', password: 'p' });
    const res = await server(images).inject({ method: 'GET', url: `/v1.56/distribution/${NAME}/json`, headers: { 'x-registry-auth': auth } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<DistributionInspectResponse>().Descriptor.size, 500);
    assert.deepEqual(images.calls[0], { op: 'distribution', name: NAME, auth: { username: 'u', password: 'p' } });
  });

  it('every image route answers 501 on a daemon that keeps no images', async () => {
    const app = server(undefined);
    for (const [method, url] of [
      ['GET', '/images/json'],
      ['GET', `/images/${NAME}/json`],
      ['POST', '/images/create?fromImage=busybox&tag=latest'],
      ['DELETE', `/images/${NAME}`],
      ['GET', `/distribution/${NAME}/json`],
    ] as const) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 501, `${method} ${url}`);
      assert.match(messageOf(res), /keeps no images/, `${method} ${url}`);
    }
  });
});
