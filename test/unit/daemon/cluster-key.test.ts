import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateClusterKey, signNonce, verifyNonce } from '../../../manager/membership/cluster-key.js';
import { fingerprintOf } from '../../../manager/membership/tokens.js';

test('a generated key signs nonces that its public half verifies', () => {
  const k = generateClusterKey();
  assert.equal(k.publicKey.byteLength, 32, 'raw Ed25519 public key');
  assert.ok(k.privateKey.byteLength > 32, 'PKCS#8 DER');
  const nonce = new Uint8Array(randomBytes(32));
  const sig = signNonce(k.privateKey, nonce);
  assert.equal(sig.byteLength, 64);
  assert.equal(verifyNonce(k.publicKey, nonce, sig), true);
  // Ed25519 is deterministic.
  assert.deepEqual(signNonce(k.privateKey, nonce), sig);
});

test('a tampered nonce, signature or key does not verify', () => {
  const k = generateClusterKey();
  const nonce = new Uint8Array(32).fill(9);
  const sig = signNonce(k.privateKey, nonce);
  const otherNonce = nonce.slice();
  otherNonce[0] ^= 1;
  assert.equal(verifyNonce(k.publicKey, otherNonce, sig), false, 'another nonce');
  const badSig = sig.slice();
  badSig[10] ^= 0x80;
  assert.equal(verifyNonce(k.publicKey, nonce, badSig), false, 'a flipped bit in the signature');
  const other = generateClusterKey();
  assert.equal(verifyNonce(other.publicKey, nonce, sig), false, 'another cluster\'s key');
  assert.notEqual(fingerprintOf(other.publicKey), fingerprintOf(k.publicKey), 'and another fingerprint');
});

test('garbage from the wire makes verifyNonce false, never throw', () => {
  const k = generateClusterKey();
  const nonce = new Uint8Array(16);
  const sig = signNonce(k.privateKey, nonce);
  assert.equal(verifyNonce(new Uint8Array(0), nonce, sig), false, 'empty key');
  assert.equal(verifyNonce(new Uint8Array(31), nonce, sig), false, 'short key');
  assert.equal(verifyNonce(k.publicKey, nonce, new Uint8Array(0)), false, 'empty signature');
  assert.equal(verifyNonce(k.publicKey, nonce, sig.subarray(0, 63)), false, 'short signature');
});
