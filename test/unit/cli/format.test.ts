// The docker-compatible value formats: tabwriter layout, durations, sizes, natural order, filters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFilters, parseFilters } from '../../../cli/format/filters.js';
import { naturalCompare } from '../../../cli/format/natural.js';
import { formatTable, tabwrite } from '../../../cli/format/tabwriter.js';
import { bytesSize, capitalize, ellipsis, goTimeString, humanDuration, parseDuration } from '../../../cli/format/units.js';

test('formatTable pads every column but the last like docker (min width 10, padding 3)', () => {
  const out = formatTable([
    ['ID', 'NAME', 'X'],
    ['a-much-longer-id', 'n', ''],
  ]);
  // 16 characters + 3 of padding = 19.
  assert.equal(out, 'ID                 NAME      X\n' + 'a-much-longer-id   n         \n');
  assert.equal(formatTable([]), '');
});

test('tabwrite aligns each column block separately, as Go tabwriter does', () => {
  const text = 'x\t1\nlonger-key\t2\nbreak\nk\t3';
  assert.equal(tabwrite(text, { minWidth: 0, padding: 1 }), 'x          1\nlonger-key 2\nbreak\nk 3');
  // Nested blocks: the second column only spans the lines that have a third cell.
  assert.equal(tabwrite('a\tb\tc\naa\tbbbb\n', { minWidth: 0, padding: 1 }), 'a  b c\naa bbbb\n');
  // Widths count characters, not UTF-16 units.
  assert.equal(tabwrite('µs\t1\nabc\t2', { minWidth: 0, padding: 1 }), 'µs  1\nabc 2');
});

test('parseDuration accepts Go duration syntax and returns nanoseconds', () => {
  assert.equal(parseDuration('5s'), 5e9);
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('1.5h'), 5.4e12);
  assert.equal(parseDuration('300ms'), 3e8);
  assert.equal(parseDuration('.5s'), 5e8);
  assert.equal(parseDuration('1.s'), 1e9);
  assert.equal(parseDuration('2h45m0.5s'), 2 * 3600e9 + 45 * 60e9 + 5e8);
  assert.equal(parseDuration('1µs'), 1000);
  assert.equal(parseDuration('1us'), 1000);
  assert.equal(parseDuration('10ns'), 10);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('-1s'), -1e9);
  assert.equal(parseDuration('+2m'), 120e9);
  assert.equal(parseDuration('0.1234567891s'), 123456789);
});

test('parseDuration rejects what Go rejects, with Go\'s messages', () => {
  assert.throws(() => parseDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseDuration('s'), { message: 'time: invalid duration "s"' });
  assert.throws(() => parseDuration('.s'), { message: 'time: invalid duration ".s"' });
  assert.throws(() => parseDuration('5'), { message: 'time: missing unit in duration "5"' });
  assert.throws(() => parseDuration('1d'), { message: 'time: unknown unit "d" in duration "1d"' });
  assert.throws(() => parseDuration('1s2'), { message: 'time: missing unit in duration "1s2"' });
  assert.throws(() => parseDuration('999999999h'), { message: 'time: invalid duration "999999999h"' });
});

test('humanDuration reads like go-units', () => {
  const s = 1e9;
  assert.equal(humanDuration(0), 'Less than a second');
  assert.equal(humanDuration(1 * s), '1 second');
  assert.equal(humanDuration(5 * s), '5 seconds');
  assert.equal(humanDuration(60 * s), 'About a minute');
  assert.equal(humanDuration(119 * s), 'About a minute');
  assert.equal(humanDuration(120 * s), '2 minutes');
  assert.equal(humanDuration(3600 * s), 'About an hour');
  assert.equal(humanDuration(90 * 60 * s), '2 hours');
  assert.equal(humanDuration(47 * 3600 * s), '47 hours');
  assert.equal(humanDuration(48 * 3600 * s), '2 days');
  assert.equal(humanDuration(14 * 24 * 3600 * s), '2 weeks');
  assert.equal(humanDuration(2160 * 3600 * s), '3 months');
  assert.equal(humanDuration(3 * 365 * 24 * 3600 * s), '3 years');
});

test('bytesSize prints 4 significant digits in binary units', () => {
  assert.equal(bytesSize(0), '0B');
  assert.equal(bytesSize(1023), '1023B');
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(1536), '1.5KiB');
  assert.equal(bytesSize(8 * 1024 ** 3), '8GiB');
  assert.equal(bytesSize(8349416423), '7.776GiB');
});

test('small text helpers', () => {
  assert.equal(capitalize('ready'), 'Ready');
  assert.equal(capitalize(''), '');
  assert.equal(ellipsis('short', 30), 'short');
  assert.equal(ellipsis('abcdef', 4), 'abc…');
  assert.equal(goTimeString('2026-11-22T10:00:00.123456789Z'), '2026-11-22 10:00:00.123456789 +0000 UTC');
  assert.equal(goTimeString('2026-11-22T10:00:00.500Z'), '2026-11-22 10:00:00.5 +0000 UTC');
  assert.equal(goTimeString('2026-11-22T10:00:01Z'), '2026-11-22 10:00:01 +0000 UTC');
  assert.equal(goTimeString('not a time'), 'not a time');
});

test('naturalCompare orders numbers by value, like sortorder.NaturalLess', () => {
  const sorted = ['node10', 'node2', 'node1', 'Node3', 'node02', 'node', 'a1', 'ab'].sort(naturalCompare);
  assert.deepEqual(sorted, ['Node3', 'a1', 'ab', 'node', 'node1', 'node2', 'node02', 'node10']);
  assert.equal(naturalCompare('same', 'same'), 0);
});

test('filters: name=value flags become the API\'s filters JSON', () => {
  const f = parseFilters(['role=manager', ' Label = zone=eu ', 'role=manager', 'role=worker']);
  assert.deepEqual(f, { role: ['manager', 'worker'], label: ['zone=eu'] });
  assert.equal(encodeFilters(f), '{"role":["manager","worker"],"label":["zone=eu"]}');
  assert.equal(encodeFilters(parseFilters([])), undefined);
  assert.throws(() => parseFilters(['role']), /bad format of filter \(expected name=value\)/);
});
