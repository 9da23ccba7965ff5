// Docker's json-file log format (json-log.ts): lines, times, sizes, rotation names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_FILES,
  DEFAULT_MAX_SIZE,
  encodeLine,
  formatTimeNs,
  LineSplitter,
  logFileNames,
  logRotation,
  MAX_LINE_BYTES,
  normalizeTime,
  parseLine,
  parseSize,
  rotationRenames,
} from '../../../worker/executor/oci/json-log.js';

test('a line round-trips through the json-file encoding', () => {
  const line = encodeLine('stderr', 'héllo "x"\n', '2024-05-01T10:00:00.123456789Z');
  assert.equal(line, '{"log":"héllo \\"x\\"\\n","stream":"stderr","time":"2024-05-01T10:00:00.123456789Z"}\n');
  assert.deepEqual(parseLine(line.trimEnd()), { stream: 'stderr', time: '2024-05-01T10:00:00.123456789Z', timeMs: Date.parse('2024-05-01T10:00:00.123Z'), log: 'héllo "x"\n' });
});

test("Docker's own lines (trimmed fraction) parse; garbage does not", () => {
  assert.equal(parseLine('{"log":"a\\n","stream":"stdout","time":"2024-05-01T10:00:00.5Z"}')?.time, '2024-05-01T10:00:00.500000000Z');
  for (const bad of ['', '{', '[]', '{"log":1,"stream":"stdout","time":"2024-05-01T10:00:00Z"}', '{"log":"a","stream":"stdin","time":"2024-05-01T10:00:00Z"}', '{"log":"a","stream":"stdout","time":"yesterday"}']) {
    assert.equal(parseLine(bad), undefined, bad);
  }
  assert.equal(normalizeTime('2024-05-01T10:00:00Z'), '2024-05-01T10:00:00.000000000Z');
});

test('times: nanoseconds since the epoch as nine fraction digits', () => {
  assert.equal(formatTimeNs(1_714_557_600_123_456_789n), '2024-05-01T10:00:00.123456789Z');
  assert.equal(formatTimeNs(1_714_557_600_000_000_007n), '2024-05-01T10:00:00.000000007Z');
});

test('sizes as json-file max-size takes them', () => {
  assert.equal(parseSize('10m'), 10 * 1024 * 1024);
  assert.equal(parseSize('512k'), 512 * 1024);
  assert.equal(parseSize('1g'), 1024 ** 3);
  assert.equal(parseSize('100'), 100);
  assert.equal(parseSize('1.5M'), 1.5 * 1024 * 1024);
  assert.throws(() => parseSize('big'), /invalid log max-size "big"/);
  assert.throws(() => parseSize('0'), /more than 0/);
});

test('rotation settings from the task LogDriver, with defaults', () => {
  assert.deepEqual(logRotation(undefined), { maxSize: DEFAULT_MAX_SIZE, maxFiles: DEFAULT_MAX_FILES });
  assert.deepEqual(logRotation({ Name: 'json-file', Options: { 'max-size': '1m', 'max-file': '5' } }), { maxSize: 1024 * 1024, maxFiles: 5 });
  assert.throws(() => logRotation({ Name: 'syslog' }), /log driver "syslog" is not supported/);
  assert.throws(() => logRotation({ Options: { 'max-file': '0' } }), /invalid log max-file "0"/);
});

test('rotation names and renames, oldest highest', () => {
  assert.deepEqual(logFileNames(3), ['container.log.2', 'container.log.1', 'container.log']);
  assert.deepEqual(logFileNames(1), ['container.log']);
  assert.deepEqual(rotationRenames(3), [
    { from: 'container.log.1', to: 'container.log.2' },
    { from: 'container.log', to: 'container.log.1' },
  ]);
  assert.deepEqual(rotationRenames(1), []);
});

test('output splits into lines; a partial line waits, and is cut at 16 KiB', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push(Buffer.from('a\nb')).map(String), ['a\n']);
  assert.deepEqual(s.push(Buffer.from('c\n\nd')).map(String), ['bc\n', '\n']);
  assert.deepEqual(s.end().map(String), ['d']);
  assert.deepEqual(s.end(), []);
  const long = new LineSplitter();
  const pieces = long.push(Buffer.alloc(MAX_LINE_BYTES * 2 + 10, 'x'));
  assert.deepEqual(pieces.map((p) => p.length), [MAX_LINE_BYTES, MAX_LINE_BYTES]);
  assert.deepEqual(long.push(Buffer.from('y\n')).map((p) => p.length), [12]);
});
