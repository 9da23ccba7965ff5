#!/usr/bin/env node
// Runs every compiled test (dist/test/**/*.test.js) with node's built-in runner.
//
//   node scripts/run-tests.mjs                      all tests
//   node scripts/run-tests.mjs clock cli            only files whose path contains "clock" or "cli"
//   node scripts/run-tests.mjs --test-name-pattern=leader
//
// Arguments starting with "-" go to `node --test` unchanged (write them as --flag=value);
// other arguments filter test files by substring.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('-'));
const filters = args.filter((a) => !a.startsWith('-'));

// A plain walk rather than fs.globSync, so the script also runs under an older system node.
function findTests(dir) {
  if (!existsSync(path.join(root, dir))) return [];
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return findTests(rel);
    return entry.isFile() && entry.name.endsWith('.test.js') ? [rel] : [];
  });
}

const files = findTests(path.join('dist', 'test'))
  // dist/ is not cleaned between builds; skip compiled tests whose source was deleted or moved.
  .filter((f) => existsSync(path.join(root, f.replace(/^dist[\\/]/, '').replace(/\.js$/, '.ts'))))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  // Without files, `node --test` would fall back to its own search patterns; say so instead.
  console.error(
    filters.length > 0
      ? `run-tests: no compiled test file matches ${filters.map((s) => JSON.stringify(s)).join(' or ')}`
      : 'run-tests: no dist/test/**/*.test.js files; run `npm run build` first',
  );
  process.exit(1);
}

// A hang must end as a failure that names the test, never as a stuck CI job.
// On Node 24 a test awaiting a promise that never settles waits forever, even
// with nothing left in the event loop (Node 20 failed it at once), and
// node:test has no default timeout. Ten minutes is the largest budget any
// suite here declares for itself, so this cannot cut a passing test short;
// tests that wait on something that might never come set a tighter one.
// A later --test-timeout argument overrides this one.
// (Not --test-force-exit: on Node 24.21 it can end a file early, under load,
// in the middle of its describe() blocks, and report a pass without them.)
const safetyNet = ['--test-timeout=600000'];

const child = spawn(
  process.execPath,
  // Two concurrent files: the CI machines have two cores.
  ['--test', '--test-reporter=spec', '--test-concurrency=2', ...safetyNet, ...nodeFlags, ...files],
  { cwd: root, stdio: 'inherit' },
);

// Forward Ctrl-C and termination so an interrupted run does not leave the runner behind.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}

child.on('exit', (code, signal) => {
  if (signal !== null) console.error(`run-tests: test runner killed by ${signal}`);
  process.exit(code ?? 1);
});
