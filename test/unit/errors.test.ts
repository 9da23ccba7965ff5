import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, InvalidArgumentError, NotFoundError, ShoalError, UnavailableError, isShoalError } from '../../shared/errors.js';

test('error subclasses carry their code, HTTP status and name', () => {
  const cases = [
    [new NotFoundError('service web not found'), 'not_found', 404, 'NotFoundError'],
    [new ConflictError('version 3 is stale'), 'conflict', 409, 'ConflictError'],
    [new InvalidArgumentError('replicas must be >= 0'), 'invalid_argument', 400, 'InvalidArgumentError'],
    [new UnavailableError('no leader'), 'unavailable', 503, 'UnavailableError'],
  ] as const;
  for (const [err, code, status, name] of cases) {
    assert.ok(err instanceof ShoalError && err instanceof Error && isShoalError(err));
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    assert.equal(err.name, name);
    assert.deepEqual(err.toResponse(), { message: err.message });
  }
});

test('ShoalError keeps its cause and defaults to 500', () => {
  const cause = new Error('EIO');
  const err = new ShoalError('wal_write', 'could not write the log', undefined, { cause });
  assert.equal(err.status, 500);
  assert.equal(err.cause, cause);
  assert.equal(isShoalError(cause), false);
});
