// Runs the compiled `shoal` binary as a user would, to check what lands on stdout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
// dist/test/unit/cli.test.js -> dist/cli/main.js and the repo's package.json.
const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const PKG: { version: string } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));

async function shoal(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  // process.execPath: the same Node that runs the tests (24), not whatever `node` is on PATH.
  return execFileP(process.execPath, [MAIN, ...args], { env: { ...process.env, SHOAL_LOG_LEVEL: 'info' } });
}

async function shoalFails(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await shoal(...args);
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  assert.fail(`shoal ${args.join(' ')} should have failed`);
}

test('shoal --version prints the package version', async () => {
  const { stdout } = await shoal('--version');
  assert.equal(stdout.trim(), PKG.version);
});

test('shoal version --format json prints the client section', async () => {
  const { stdout } = await shoal('version', '--format', 'json');
  const parsed: { Client: Record<string, string> } = JSON.parse(stdout);
  assert.equal(parsed.Client['Version'], PKG.version);
  assert.equal(parsed.Client['ApiVersion'], '1.56');
  assert.equal(parsed.Client['MinAPIVersion'], '1.24');
  assert.equal(parsed.Client['NodeVersion'], process.version);
  assert.equal(parsed.Client['Os'], process.platform);
  assert.equal(typeof parsed.Client['Arch'], 'string');
});

test('shoal version prints a table', async () => {
  const { stdout } = await shoal('version');
  assert.match(stdout, /^Client:\n/);
  assert.match(stdout, new RegExp(`^ Version: +${PKG.version.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(stdout, /^ API version: +1\.56 /m);
  assert.match(stdout, /^ OS\/Arch: +\S+\/\S+$/m);
});

test('shoal --help lists the commands', async () => {
  const { stdout } = await shoal('--help');
  assert.match(stdout, /^ +version\b/m);
  assert.match(stdout, /^ +demo\b/m);
  assert.match(stdout, /--host/);
});

test('bad input fails with a message on stderr and nothing on stdout', async () => {
  const badFormat = await shoalFails('version', '--format', 'yaml');
  assert.notEqual(badFormat.code, 0);
  assert.equal(badFormat.stdout, '');
  assert.match(badFormat.stderr, /json/);

  const badLevel = await shoalFails('--log-level', 'loud', 'version');
  assert.equal(badLevel.code, 1);
  assert.equal(badLevel.stdout, '');
  assert.match(badLevel.stderr, /invalid log level "loud"/);
});
