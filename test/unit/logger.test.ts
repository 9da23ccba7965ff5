import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, resolveLogLevel } from '../../shared/logger.js';
import { InvalidArgumentError } from '../../shared/errors.js';

function capture(): { lines: Record<string, unknown>[]; write(chunk: string): void } {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (chunk: string) => void lines.push(JSON.parse(chunk)) };
}

test('resolveLogLevel: option beats environment beats default', () => {
  assert.equal(resolveLogLevel(undefined, {}), 'info');
  assert.equal(resolveLogLevel(undefined, { SHOAL_LOG_LEVEL: 'debug' }), 'debug');
  assert.equal(resolveLogLevel('warn', { SHOAL_LOG_LEVEL: 'debug' }), 'warn');
  assert.equal(resolveLogLevel(' ERROR ', {}), 'error');
  assert.throws(() => resolveLogLevel('loud', {}), InvalidArgumentError);
});

test('createLogger: writes JSON lines with the name, filtered by level', () => {
  const dest = capture();
  const log = createLogger({ level: 'warn', name: 'raft', destination: dest });
  log.info('hidden');
  log.warn({ term: 3 }, 'shown');
  assert.equal(dest.lines.length, 1);
  assert.equal(dest.lines[0]?.['name'], 'raft');
  assert.equal(dest.lines[0]?.['msg'], 'shown');
  assert.equal(dest.lines[0]?.['term'], 3);
});
