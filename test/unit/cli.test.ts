// Runs the compiled `shoal` binary as a user would, to check what lands on stdout and
// that the process exits by itself (no client connection left holding it open).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
// dist/test/unit/cli.test.js -> dist/cli/main.js and the repo's package.json.
const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const PKG: { version: string } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
// A socket path nobody listens on, so `version` cannot reach a daemon running on this machine.
const NO_DAEMON_DIR = mkdtempSync(join(tmpdir(), 'shoal-cli-'));
const NO_DAEMON = `unix://${join(NO_DAEMON_DIR, 'none.sock')}`;
after(() => rmSync(NO_DAEMON_DIR, { recursive: true, force: true }));

// Generous: a busy CI machine takes seconds to start Node; a process that never exits takes forever.
const EXIT_TIMEOUT_MS = 60_000;

/** The process was still running after EXIT_TIMEOUT_MS (and was killed): something holds it open. */
class DidNotExit extends Error {}

async function shoal(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    // process.execPath: the same Node that runs the tests (24), not whatever `node` is on PATH.
    return await execFileP(process.execPath, [MAIN, ...args], {
      env: { ...process.env, SHOAL_LOG_LEVEL: 'info', SHOAL_HOST: NO_DAEMON },
      timeout: EXIT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
  } catch (err) {
    if ((err as { killed?: boolean }).killed) throw new DidNotExit(`shoal ${args.join(' ')} did not exit within ${EXIT_TIMEOUT_MS} ms`);
    throw err;
  }
}

async function shoalFails(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await shoal(...args);
  } catch (err) {
    if (err instanceof DidNotExit) throw err;
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  assert.fail(`shoal ${args.join(' ')} should have failed`);
}

const CANNOT_CONNECT = `Cannot connect to the shoal daemon at ${NO_DAEMON}. Is the shoal daemon running? (start it with: shoal daemon)\n`;

test('shoal --version prints the package version', async () => {
  const { stdout } = await shoal('--version');
  assert.equal(stdout.trim(), PKG.version);
});

test('shoal version --format json prints the client section, and no server without a daemon', async () => {
  const { code, stdout, stderr } = await shoalFails('version', '--format', 'json');
  assert.equal(code, 1);
  const parsed: { Client: Record<string, string>; Server: unknown } = JSON.parse(stdout);
  assert.equal(parsed.Client['Version'], PKG.version);
  assert.equal(parsed.Client['ApiVersion'], '1.56');
  assert.equal(parsed.Client['MinAPIVersion'], '1.24');
  assert.equal(parsed.Client['NodeVersion'], process.version);
  assert.equal(parsed.Client['Os'], process.platform);
  assert.equal(typeof parsed.Client['Arch'], 'string');
  assert.equal(parsed.Server, null);
  assert.equal(stderr, CANNOT_CONNECT);
});

test('shoal version prints the client table, then says the daemon is not running (SHOAL_HOST honoured)', async () => {
  const { code, stdout, stderr } = await shoalFails('version');
  assert.equal(code, 1);
  assert.match(stdout, /^Client:\n/);
  assert.match(stdout, new RegExp(`^ Version: +${PKG.version.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(stdout, /^ API version: +1\.56 /m);
  assert.match(stdout, /^ OS\/Arch: +\S+\/\S+$/m);
  assert.equal(stderr, CANNOT_CONNECT);
});

test('shoal --help lists the commands', async () => {
  const { stdout } = await shoal('--help');
  for (const command of ['swarm', 'node', 'info', 'version', 'demo']) assert.match(stdout, new RegExp(`^ +${command}\\b`, 'm'));
  assert.match(stdout, /--host/);
  assert.match(stdout, /unix:\/\/\/run\/shoal\/shoal\.sock/);
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

  const badArgs = await shoalFails('node', 'update', 'a', 'b');
  assert.equal(badArgs.code, 1);
  assert.equal(badArgs.stdout, '');
  assert.match(badArgs.stderr, /too many arguments/);
});
