// `shoal image pull|ls|inspect|rm` and the stock docker CLI's image commands
// against one real daemon with the default `oci` executor (no swarm), pulling
// busybox-based test images from Debian's docker-registry on loopback (one
// open, one behind htpasswd). Needs root: the oci executor runs runc and the
// image store makes overlay whiteouts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImageInspect, ImageSummary } from '../../manager/api/image-types.js';
import { shortId } from '../../shared/registry/digest.js';
import { DockerCli, explain, parseTable } from '../compat/docker-cli.js';
import { DaemonCluster, eventually, MAIN, type DaemonProcess } from '../fixtures/daemons.js';
import { buildTestImage, type BuiltImage } from '../fixtures/images.js';
import { startRegistry, type RegistryFixture } from '../fixtures/registry.js';
import { requireRoot, requireRunc } from './helpers/root.js';

const AUTH = { username: 'shoal', password: 'sesame' };

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The shoal CLI as a separate process, with its own DOCKER_CONFIG. */
function shoal(d: DaemonProcess, args: readonly string[], dockerConfig: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_') && !k.startsWith('DOCKER_')) env[k] = v;
  env['DOCKER_CONFIG'] = dockerConfig;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, '-H', d.hostArg, ...args], { env, timeout: 120_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`shoal ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}

async function writeDockerConfig(dir: string, registry: string, creds: { username: string; password: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
}

describe('image commands on a real daemon (oci executor, loopback registries)', { timeout: 600_000 }, () => {
  let work: string;
  let c: DaemonCluster;
  let d: DaemonProcess;
  let open: RegistryFixture;
  let locked: RegistryFixture;
  let docker: DockerCli;
  let app: BuiltImage;
  let other: BuiltImage;
  let secret: BuiltImage;
  /** A DOCKER_CONFIG directory without credentials. */
  let anonymous: string;

  const images = (): Promise<ImageSummary[]> => d.ok<ImageSummary[]>('GET', '/images/json');
  const dump = async (): Promise<string> => `${await c.dumpLogs(60)}\n--- registry ---\n${(await open.log()).split('\n').slice(-20).join('\n')}`;

  before(async () => {
    requireRoot('test/e2e/image-cli.test.ts');
    await requireRunc();
    work = await mkdtemp(join(tmpdir(), 'shoal-e2e-image-cli-'));
    anonymous = join(work, 'anonymous');
    await mkdir(anonymous);
    [open, locked] = await Promise.all([startRegistry(), startRegistry({ auth: AUTH })]);
    app = await buildTestImage({ registry: open.host, repository: 'e2e/app', tags: ['1'] });
    other = await buildTestImage({ registry: open.host, repository: 'e2e/other', tags: ['2'], extraLayers: [[{ path: 'other.txt', content: 'other\n' }]] });
    secret = await buildTestImage({ registry: locked.host, repository: 'e2e/secret', tags: ['1'], auth: AUTH, extraLayers: [[{ path: 'secret.txt', content: 'secret\n' }]] });
    c = await DaemonCluster.create('shoal-e2e-image-cli-');
    d = await c.add('n1');
    docker = await DockerCli.create();
  });

  after(async () => {
    await docker?.destroy();
    await c?.destroy();
    await Promise.all([open?.stop(), locked?.stop()]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('shoal image pull prints docker-style progress and ends with the reference', async () => {
    const out = ok(await shoal(d, ['image', 'pull', app.ref], anonymous), 'shoal image pull');
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], '1: Pulling from e2e/app', out);
    for (const layer of app.layers) {
      const id = shortId(layer.descriptor.digest);
      assert.ok(lines.includes(`${id}: Pulling fs layer`), `${id} announced\n${out}`);
      assert.ok(lines.includes(`${id}: Pull complete`), `${id} complete\n${out}`);
    }
    assert.ok(!out.includes('Downloading') && !out.includes('['), 'no progress bars off a terminal');
    assert.deepEqual(lines.slice(-3), [`Digest: ${app.digest}`, `Status: Downloaded newer image for ${app.ref}`, app.ref]);

    const again = ok(await shoal(d, ['image', 'pull', app.ref], anonymous), 'second pull');
    assert.match(again, new RegExp(`Status: Image is up to date for ${app.ref.replace(/[.]/g, '\\.')}\n${app.ref.replace(/[.]/g, '\\.')}\n$`));
  });

  it('shoal image ls and inspect show the pulled image', async () => {
    const rows = parseTable(ok(await shoal(d, ['image', 'ls'], anonymous), 'shoal image ls'));
    assert.deepEqual(
      rows.map((r) => [r['REPOSITORY'], r['TAG'], r['IMAGE ID']]),
      [[`${open.host}/e2e/app`, '1', app.configDigest.slice('sha256:'.length, 'sha256:'.length + 12)]],
    );
    assert.match(rows[0]?.['CREATED'] ?? '', / ago$/);
    assert.match(rows[0]?.['SIZE'] ?? '', /^\d+(\.\d+)?[kMG]?B$/);
    const inspected = JSON.parse(ok(await shoal(d, ['image', 'inspect', app.ref], anonymous), 'shoal image inspect')) as ImageInspect[];
    assert.equal(inspected[0]?.Id, app.configDigest);
    assert.deepEqual(inspected[0]?.RepoDigests, [`${open.host}/e2e/app@${app.digest}`]);
    assert.deepEqual(inspected[0]?.RootFS.Layers, app.diffIds);
  });

  it('the stock docker CLI pulls, lists (the same table as shoal) and removes images', async () => {
    const pulled = await docker.run(d.hostArg, ['pull', other.ref], 120_000);
    assert.equal(pulled.code, 0, explain(pulled, 'docker pull'));
    assert.ok(pulled.stdout.includes(`Status: Downloaded newer image for ${other.ref}`), pulled.stdout);
    assert.equal(pulled.stdout.trimEnd().split('\n').at(-1), other.ref);

    const theirs = await docker.ok(d.hostArg, ['image', 'ls']);
    const ours = ok(await shoal(d, ['image', 'ls'], anonymous), 'shoal image ls');
    assert.equal(ours, theirs, 'shoal image ls prints what docker image ls prints');
    assert.equal(ok(await shoal(d, ['image', 'ls', '-q'], anonymous), 'ls -q'), await docker.ok(d.hostArg, ['images', '-q']));
    assert.equal(ok(await shoal(d, ['image', 'ls', '--digests', '--no-trunc'], anonymous), 'ls --digests'), await docker.ok(d.hostArg, ['images', '--digests', '--no-trunc']));

    const inspected = JSON.parse(await docker.ok(d.hostArg, ['image', 'inspect', other.ref])) as ImageInspect[];
    assert.equal(inspected[0]?.Id, other.configDigest);

    const removed = await docker.ok(d.hostArg, ['rmi', other.ref]);
    assert.ok(removed.includes(`Untagged: ${other.ref}\n`), removed);
    assert.ok(removed.includes(`Deleted: ${other.configDigest}\n`), removed);
    assert.deepEqual(
      (await images()).map((i) => i.Id),
      [app.configDigest],
    );
    const missing = await docker.fails(d.hostArg, ['rmi', other.ref]);
    assert.match(missing, /No such image/);
  });

  it('a pull from the htpasswd registry works with docker config.json credentials and fails clearly without', async () => {
    const refused = await shoal(d, ['image', 'pull', secret.ref], anonymous);
    assert.equal(refused.code, 1, `pull without credentials must fail\n${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, /^Error response from daemon: /);
    assert.match(refused.stderr, /docker login|unauthorized|authentication required/i);
    assert.ok(!refused.stdout.includes(secret.ref), 'no reference printed for a failed pull');

    const withCreds = join(work, 'with-creds');
    await writeDockerConfig(withCreds, locked.host, AUTH);
    const out = ok(await shoal(d, ['image', 'pull', secret.ref], withCreds), 'shoal image pull with credentials');
    assert.equal(out.trimEnd().split('\n').at(-1), secret.ref);

    // The docker CLI sends its own config's credentials the same way.
    ok(await shoal(d, ['image', 'rm', secret.ref], anonymous), 'remove the secret image again');
    const dockerRefused = await docker.run(d.hostArg, ['pull', secret.ref], 120_000);
    assert.notEqual(dockerRefused.code, 0, explain(dockerRefused, 'docker pull without credentials'));
    await writeDockerConfig(docker.configDir, locked.host, AUTH);
    const dockerPulled = await docker.run(d.hostArg, ['pull', secret.ref], 120_000);
    assert.equal(dockerPulled.code, 0, explain(dockerPulled, 'docker pull with credentials'));
  });

  it('shoal image rm removes the images and their layers are garbage collected', async () => {
    for (const img of [app, secret]) {
      const out = ok(await shoal(d, ['image', 'rm', img.ref], anonymous), `shoal image rm ${img.ref}`);
      assert.ok(out.startsWith(`Untagged: ${img.ref}\n`), out);
      assert.ok(out.includes(`Deleted: ${img.configDigest}\n`), out);
    }
    assert.deepEqual(await images(), [], await dump());
    const layersDir = join(d.dataRoot, 'image', 'layers');
    await eventually(async () => (await readdir(layersDir)).length === 0 || undefined, `${layersDir} empty`, 30_000, 100);
    const gone = await shoal(d, ['image', 'rm', app.ref, 'nope:1'], anonymous);
    assert.equal(gone.code, 1);
    assert.deepEqual(gone.stderr.trimEnd().split('\n'), [`Error response from daemon: No such image: ${app.ref}`, 'Error response from daemon: No such image: nope:1']);
  });
});
