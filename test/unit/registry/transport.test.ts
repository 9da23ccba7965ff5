import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostPlatform, formatPlatform, parsePlatform, selectPlatform } from '../../../shared/registry/platform.js';
import { InsecureRegistries, registryBaseUrl, splitHostPort } from '../../../shared/registry/transport.js';
import type { Descriptor } from '../../../shared/registry/types.js';

describe('registry transport choice', () => {
  it('speaks plain HTTP to loopback and listed registries, HTTPS elsewhere', async () => {
    const insecure = new InsecureRegistries(['reg.internal:5000', '10.1.0.0/16']);
    assert.equal(await registryBaseUrl('127.0.0.1:5000', insecure), 'http://127.0.0.1:5000');
    assert.equal(await registryBaseUrl('127.9.9.9', insecure), 'http://127.9.9.9');
    assert.equal(await registryBaseUrl('localhost:5000', insecure), 'http://localhost:5000');
    assert.equal(await registryBaseUrl('[::1]:5000', insecure), 'http://[::1]:5000');
    assert.equal(await registryBaseUrl('reg.internal:5000', insecure), 'http://reg.internal:5000');
    assert.equal(await registryBaseUrl('10.1.2.3:5000', insecure), 'http://10.1.2.3:5000');
    assert.equal(await registryBaseUrl('10.2.2.3:5000', insecure), 'https://10.2.2.3:5000');
    // Names are not resolved when no CIDR range is listed (no DNS in unit tests).
    const namesOnly = new InsecureRegistries(['reg.internal:5000']);
    assert.equal(await registryBaseUrl('ghcr.io', namesOnly), 'https://ghcr.io');
    assert.equal(await registryBaseUrl('reg.internal', namesOnly), 'https://reg.internal');
    assert.equal(await registryBaseUrl('docker.io', namesOnly), 'https://registry-1.docker.io');
  });

  it('refuses a malformed CIDR entry', () => {
    assert.throws(() => new InsecureRegistries(['10.0.0.0/40']), /not a valid host\[:port\] or CIDR/);
  });

  it('splits host and port, IPv6 included', () => {
    assert.deepEqual(splitHostPort('127.0.0.1:5000'), { hostname: '127.0.0.1', port: 5000 });
    assert.deepEqual(splitHostPort('[::1]:5000'), { hostname: '::1', port: 5000 });
    assert.deepEqual(splitHostPort('ghcr.io'), { hostname: 'ghcr.io' });
  });
});

describe('platform selection', () => {
  const entry = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${architecture}${variant ?? ''}`,
    size: 1,
    platform: { os, architecture, ...(variant !== undefined ? { variant } : {}) },
  });

  it('maps node architectures to OCI ones', () => {
    assert.deepEqual(hostPlatform('x64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(hostPlatform('arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
    assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' });
    assert.equal(parsePlatform('linux'), undefined);
  });

  it('picks the matching entry, treating arm64 with and without v8 alike, never attestations', () => {
    const list = [entry('unknown', undefined, 'unknown'), entry('arm', 'v7'), entry('arm64'), entry('amd64')];
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'amd64' })?.digest, 'sha256:amd64');
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest, 'sha256:arm64');
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'arm', variant: 'v6' }), undefined);
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 's390x' }), undefined);
  });

  it('prefers the exact variant, else any when none was asked for', () => {
    const list = [entry('amd64', 'v3'), entry('amd64')];
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'amd64' })?.digest, 'sha256:amd64');
    assert.equal(selectPlatform([entry('amd64', 'v3')], { os: 'linux', architecture: 'amd64' })?.digest, 'sha256:amd64v3');
  });
});
