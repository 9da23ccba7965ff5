// The node's persistent libp2p identity. The peer id derived from this key is
// how the cluster store names the node, so losing or replacing the file makes
// the node a stranger that has to join again; it is created once, atomically,
// and readable by its owner only.

import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { InvalidArgumentError, ShoalError } from '../errors.js';

export type { PrivateKey };

/** Load the key at `file`, or create an Ed25519 key there if there is none yet. */
export async function loadOrCreateIdentity(file: string): Promise<PrivateKey> {
  const existing = await readIdentity(file);
  if (existing) return existing;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const key = await generateKeyPair('Ed25519');
  const created = await writeOnce(file, privateKeyToProtobuf(key));
  // Another process created the file between our read and our write: theirs wins,
  // so that both processes end up with the same identity.
  return created ? key : ((await readIdentity(file)) ?? key);
}

/** The peer id string (e.g. `12D3KooW...`) that other nodes know this key by. */
export function peerIdString(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}

async function readIdentity(file: string): Promise<PrivateKey | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw new ShoalError('identity_io', `cannot read the node identity ${file}: ${errMessage(err)}`, 500, { cause: err });
  }
  // Like ssh with private keys: a key others can read may already be someone else's.
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    throw new InvalidArgumentError(
      `node identity ${file} is accessible to other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
    );
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new InvalidArgumentError(
      `node identity ${file} is corrupt (${errMessage(err)}); move it away to create a new one ` +
        '(the node then gets a new peer id and must join the cluster again)',
      { cause: err },
    );
  }
}

/**
 * Write the bytes to a temporary file, fsync it, then hard-link it into place:
 * unlike rename, link fails when the target exists, so a concurrent creator
 * is never overwritten. Returns false if the file already existed.
 */
async function writeOnce(file: string, bytes: Uint8Array): Promise<boolean> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The umask cannot widen 0600, but an inherited ACL or odd filesystem might.
    await chmod(tmp, 0o600);
    try {
      await link(tmp, file);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return false;
      throw err;
    }
    await syncDir(dir);
    return true;
  } catch (err) {
    throw new ShoalError('identity_io', `cannot create the node identity ${file}: ${errMessage(err)}`, 500, { cause: err });
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Make the new directory entry itself durable, so a crash cannot forget the identity. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
