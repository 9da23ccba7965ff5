// X-Registry-Auth as the docker CLI and dockerd handle it: base64url JSON,
// padded standard base64 accepted too, `{}` meaning "no credentials", and a
// header that is not base64 JSON refused with a 400 that says what to do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isShoalError } from '../../../shared/errors.js';
import { decodeRegistryAuth, encodeRegistryAuth } from '../../../shared/registry/x-registry-auth.js';

const AUTH = { username: 'shoal', password: 'pä?ss>word/+', serveraddress: '127.0.0.1:5000' };

describe('X-Registry-Auth', () => {
  it('round-trips through encode and decode, with URL-safe characters and no padding', () => {
    const header = encodeRegistryAuth(AUTH);
    assert.doesNotMatch(header, /[+/=]/, 'base64url without padding, as the docker CLI sends it');
    assert.deepEqual(decodeRegistryAuth(header), AUTH);
  });

  it('decodes padded standard base64 (what older clients send)', () => {
    const padded = Buffer.from(JSON.stringify(AUTH), 'utf8').toString('base64');
    assert.match(padded, /[+/=]/, 'the sample must exercise + / or = characters');
    assert.deepEqual(decodeRegistryAuth(padded), AUTH);
  });

  it('keeps only the known fields with non-empty string values', () => {
    const header = Buffer.from(JSON.stringify({ username: 'u', password: '', email: 'x@y', identitytoken: 't', auth: 'dTpw', serveraddress: 5 })).toString('base64url');
    assert.deepEqual(decodeRegistryAuth(header), { username: 'u', identitytoken: 't' });
  });

  it('`{}`, an empty header and JSON that is not an object mean anonymous (undefined)', () => {
    assert.equal(decodeRegistryAuth(encodeRegistryAuth({})), undefined);
    assert.equal(decodeRegistryAuth('e30='), undefined, 'padded "{}"');
    assert.equal(decodeRegistryAuth('   '), undefined);
    assert.equal(decodeRegistryAuth(Buffer.from('null').toString('base64url')), undefined);
    assert.equal(decodeRegistryAuth(Buffer.from('["u","p"]').toString('base64url')), undefined);
  });

  it('refuses a header that is not base64 JSON with a 400 telling the user to log in again', () => {
    for (const garbage of ['not-json-at-all', Buffer.from('{"username":').toString('base64url')]) {
      assert.throws(
        () => decodeRegistryAuth(garbage),
        (err: unknown) => isShoalError(err) && err.status === 400 && /X-Registry-Auth/.test(err.message) && /docker login/.test(err.message),
        garbage,
      );
    }
  });
});
