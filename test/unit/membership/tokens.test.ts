import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkToken,
  fingerprintOf,
  formatToken,
  joinTokens,
  newSecret,
  parseToken,
  type TokenSecrets,
} from '../../../manager/membership/tokens.js';
import { InvalidArgumentError } from '../../../shared/errors.js';

const publicKey = new Uint8Array(32).fill(7);

function cluster(): TokenSecrets {
  return { Fingerprint: fingerprintOf(publicKey), WorkerSecret: newSecret(), ManagerSecret: newSecret() };
}

function invalid(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof InvalidArgumentError && err.message.startsWith('invalid join token') && pattern.test(err.message);
}

test('fingerprints and secrets have Docker\'s lengths and alphabet', () => {
  const fp = fingerprintOf(publicKey);
  assert.match(fp, /^[0-9a-z]{50}$/);
  assert.equal(fingerprintOf(new Uint8Array(32).fill(7)), fp, 'deterministic');
  assert.notEqual(fingerprintOf(new Uint8Array(32).fill(8)), fp);
  assert.match(newSecret(), /^[0-9a-z]{25}$/);
  assert.notEqual(newSecret(), newSecret());
  // Zero-padded: small numbers keep the full width; the largest 128-bit value still fits.
  assert.equal(newSecret((n) => new Uint8Array(n)), '0'.repeat(25));
  assert.equal(newSecret((n) => new Uint8Array(n).fill(0xff)), 'f5lxx1zz5pnorynqglhzmsp33');
  assert.throws(() => newSecret(() => new Uint8Array(3)), RangeError);
});

test('a token round-trips and admits the role its secret belongs to', () => {
  const c = cluster();
  const tokens = joinTokens(c);
  assert.match(tokens.Worker, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  assert.deepEqual(parseToken(tokens.Worker), { fingerprint: c.Fingerprint, secret: c.WorkerSecret });
  assert.equal(formatToken(c.Fingerprint, c.ManagerSecret), tokens.Manager);
  assert.equal(checkToken(tokens.Worker, c), 'worker');
  assert.equal(checkToken(tokens.Manager, c), 'manager');
  // Pasted with a newline.
  assert.equal(checkToken(`${tokens.Manager}\n`, c), 'manager');
});

test('a token of another swarm is refused for its fingerprint', () => {
  const other = { ...cluster(), Fingerprint: fingerprintOf(new Uint8Array(32).fill(9)) };
  const token = joinTokens(cluster()).Worker;
  assert.throws(() => checkToken(token, other), invalid(/belongs to a different swarm/));
});

test('a rotated secret is refused, and the new one accepted', () => {
  const c = cluster();
  const old = joinTokens(c).Worker;
  const rotated = { ...c, WorkerSecret: newSecret() };
  assert.throws(() => checkToken(old, rotated), invalid(/secret is not valid for this swarm; it may have been rotated/));
  assert.equal(checkToken(joinTokens(rotated).Worker, rotated), 'worker');
  assert.equal(checkToken(joinTokens(c).Manager, rotated), 'manager', 'the other role is untouched');
});

test('garbage is refused with a reason and never echoed back', () => {
  const c = cluster();
  const good = joinTokens(c).Worker;
  const cases: Array<[string, RegExp]> = [
    ['', /it is empty/],
    ['   ', /it is empty/],
    ['hello', /must start with SWMTKN-1-/],
    ['SWMTKN-2-abc-def', /expected SWMTKN-1-<50-character fingerprint>-<25-character secret>/],
    [`${good}-extra`, /expected SWMTKN-1-/],
    [good.slice(0, -1), /secret must be 25 characters/],
    [good.replace(/^SWMTKN-1-./, 'SWMTKN-1-A'), /fingerprint must be 50 characters of 0-9 a-z/],
    [`SWMTKN-1-${c.Fingerprint.slice(1)}-${c.WorkerSecret}`, /fingerprint must be 50 characters/],
  ];
  for (const [token, reason] of cases) {
    assert.throws(() => checkToken(token, c), invalid(reason), JSON.stringify(token));
    try {
      parseToken(token);
    } catch (err) {
      if (token.length > 10) assert.ok(!(err as Error).message.includes(token.trim()), 'the token is not repeated');
    }
  }
  assert.throws(() => parseToken(undefined as unknown as string), invalid(/it is empty/));
  assert.throws(() => formatToken('short', c.WorkerSecret), InvalidArgumentError);
  assert.throws(() => fingerprintOf(new Uint8Array()), InvalidArgumentError);
});
