import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LEADER_MESSAGE, translateRaftError } from '../../../manager/errors.js';
import { NotFoundError, ShoalError, UnavailableError } from '../../../shared/errors.js';

test('losing the leader or quorum becomes Docker\'s 503 "no leader", keeping the cause', () => {
  for (const code of ['not_leader', 'leadership_changed', 'timeout', 'proposal_dropped']) {
    const raw = new ShoalError(code, `raft: ${code}`);
    const out = translateRaftError(raw);
    assert.ok(out instanceof UnavailableError, code);
    assert.equal(out.status, 503);
    assert.equal(out.message, NO_LEADER_MESSAGE);
    assert.equal(out.cause, raw, 'the raft error stays for the logs');
  }
  assert.match(NO_LEADER_MESSAGE, /^The swarm does not have a leader\./);
});

test('other errors pass through unchanged', () => {
  const notFound = new NotFoundError('node x not found');
  assert.equal(translateRaftError(notFound), notFound);
  const other = new ShoalError('corrupt', 'bad');
  assert.equal(translateRaftError(other), other);
  const plain = new Error('boom');
  assert.equal(translateRaftError(plain), plain);
  assert.equal(translateRaftError('text'), 'text');
  assert.equal(translateRaftError(undefined), undefined);
});
