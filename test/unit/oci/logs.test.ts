// Writing a container's json-file log with rotation (log-writer.ts) and
// reading it back (logs.ts): order across rotated files, tail, since/until,
// and following new lines until the container exits. Plain files, no root.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry, LogOptions } from '../../../worker/executor/executor.js';
import { JsonLogWriter } from '../../../worker/executor/oci/log-writer.js';
import { inWindow, readLogs, rotatedFiles } from '../../../worker/executor/oci/logs.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'shoal-oci-logs-'));
  dirs.push(d);
  return d;
}

async function collect(it: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(`${e.stream}:${e.line.toString()}`);
  return out;
}

const NS = 1_714_557_600_000_000_000n;
const atMs = (ms: number): bigint => NS + BigInt(ms) * 1_000_000n;

function read(dir: string, o: Partial<LogOptions> = {}, exited: () => Promise<unknown> = () => Promise.resolve(), running = false): Promise<string[]> {
  return collect(readLogs({ logDir: dir, running, exited }, { follow: false, ...o }, AbortSignal.timeout(10_000)));
}

test('rotated file names sort oldest first', () => {
  assert.deepEqual(rotatedFiles(['container.log', 'container.log.1', 'container.log.10', 'container.log.2', 'other']), ['container.log.10', 'container.log.2', 'container.log.1']);
  const l = { stream: 'stdout' as const, time: '', timeMs: 100, log: '' };
  assert.equal(inWindow(l, { sinceMs: 100 }), true);
  assert.equal(inWindow(l, { untilMs: 100 }), false);
});

test('lines are written per stream, split on newlines, and rotated into at most max-file files', async () => {
  const dir = await tmp();
  const w = new JsonLogWriter(dir, { maxSize: 300, maxFiles: 3 });
  for (let i = 0; i < 20; i++) w.write(i % 2 === 0 ? 'stdout' : 'stderr', Buffer.from(`line ${String(i).padStart(2, '0')}\n`), atMs(i));
  w.write('stdout', Buffer.from('no newline'), atMs(20));
  w.close();
  assert.deepEqual((await readdir(dir)).sort(), ['container.log', 'container.log.1', 'container.log.2']);
  for (const f of await readdir(dir)) assert.ok((await readFile(join(dir, f))).length <= 300, `${f} within max-size`);
  const all = await read(dir);
  // The oldest lines rotated out; what is left is in order, ending with the unterminated piece.
  assert.equal(all.at(-1), 'stdout:no newline');
  const nums = all.slice(0, -1).map((l) => Number(/line (\d+)/.exec(l)![1]));
  assert.deepEqual(nums, nums.slice().sort((a, b) => a - b));
  assert.equal(nums.at(-1), 19);
  assert.ok(nums[0]! > 0, 'the oldest lines are gone');
  assert.equal(all.find((l) => l.includes('line 19')), 'stderr:line 19\n');
});

test('tail, since and until', async () => {
  const dir = await tmp();
  const w = new JsonLogWriter(dir, { maxSize: 1 << 20, maxFiles: 1 });
  for (let i = 0; i < 10; i++) w.write('stdout', Buffer.from(`${i}\n`), atMs(i * 1000));
  w.close();
  const base = Number(NS / 1_000_000n);
  assert.deepEqual(await read(dir, { tail: 2 }), ['stdout:8\n', 'stdout:9\n']);
  assert.deepEqual(await read(dir, { tail: 0 }), []);
  assert.deepEqual(await read(dir, { sinceMs: base + 7000 }), ['stdout:7\n', 'stdout:8\n', 'stdout:9\n']);
  assert.deepEqual(await read(dir, { untilMs: base + 2000 }), ['stdout:0\n', 'stdout:1\n']);
  assert.deepEqual(await read(dir, { sinceMs: base + 3000, untilMs: base + 6000, tail: 1 }), ['stdout:5\n']);
  assert.deepEqual(await read(join(dir, 'missing')), []);
});

test('follow sends new lines, across a rotation, and ends once the container has exited', async () => {
  const dir = await tmp();
  const w = new JsonLogWriter(dir, { maxSize: 200, maxFiles: 2 });
  w.write('stdout', Buffer.from('before\n'));
  let exit!: () => void;
  const exited = new Promise<void>((r) => (exit = r));
  const got: string[] = [];
  const seen = new Set<string>();
  let notify: (() => void) | undefined;
  const following = (async () => {
    for await (const e of readLogs({ logDir: dir, running: true, exited: () => exited }, { follow: true }, AbortSignal.timeout(20_000))) {
      got.push(e.line.toString());
      seen.add(e.line.toString());
      notify?.();
    }
  })();
  const sawLine = (l: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (seen.has(l)) {
          notify = undefined;
          resolve();
        }
      };
      notify = check;
      check();
    });
  await sawLine('before\n');
  for (let i = 0; i < 12; i++) {
    w.write('stdout', Buffer.from(`n${i}\n`));
    await sawLine(`n${i}\n`);
  }
  w.write('stdout', Buffer.from('last\n'));
  w.close();
  exit();
  await following;
  assert.deepEqual(got, ['before\n', ...Array.from({ length: 12 }, (_, i) => `n${i}\n`), 'last\n']);
});

test('follow of a container that is not running just reads what is there', async () => {
  const dir = await tmp();
  const w = new JsonLogWriter(dir, { maxSize: 1 << 20, maxFiles: 1 });
  w.write('stderr', Buffer.from('bye\n'));
  w.close();
  assert.deepEqual(await read(dir, { follow: true }, () => new Promise(() => undefined), false), ['stderr:bye\n']);
});

test('an aborted follow ends', async () => {
  const dir = await tmp();
  const w = new JsonLogWriter(dir, { maxSize: 1 << 20, maxFiles: 1 });
  w.write('stdout', Buffer.from('x\n'));
  const ac = new AbortController();
  const out: string[] = [];
  const done = (async () => {
    for await (const e of readLogs({ logDir: dir, running: true, exited: (s) => new Promise((_, rej) => s.addEventListener('abort', () => rej(new Error('aborted')))) }, { follow: true }, ac.signal)) {
      out.push(e.line.toString());
      ac.abort();
    }
  })();
  await done;
  w.close();
  assert.deepEqual(out, ['x\n']);
});
