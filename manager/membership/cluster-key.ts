// The cluster's signing key. A join token names the cluster by the
// fingerprint of this key's public half, so a joiner can tell it reached the
// cluster its token belongs to (the role Docker's CA fingerprint plays) and
// not some other daemon listening at that address.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';

export interface ClusterKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateClusterKey(): ClusterKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey: new Uint8Array(der), publicKey: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')) };
}

export function signNonce(privateKeyDer: Uint8Array, nonce: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.from(privateKeyDer), format: 'der', type: 'pkcs8' });
  return new Uint8Array(sign(null, nonce, key));
}

export function verifyNonce(publicKeyRaw: Uint8Array, nonce: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyRaw).toString('base64url') }, format: 'jwk' });
    return verify(null, nonce, key, signature);
  } catch {
    return false;
  }
}
