// The user a container's process runs as, resolved the way Docker does
// (moby/sys/user GetExecUser): `user[:group]`, each a name looked up in the
// image's /etc/passwd and /etc/group or a number used as is. A user found in
// passwd brings its primary group and every group that lists it as a member;
// a numeric user that is not found runs with gid 0. The caller reads the two
// files from the container's rootfs; this module only parses.
import { InvalidArgumentError } from '../../../shared/errors.js';
import type { OciUser } from './oci-types.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

function parseId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

function lines(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines(text)) {
    const uid = parseId(f[2] ?? '');
    const gid = parseId(f[3] ?? '');
    if (f[0] === undefined || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '/' });
  }
  return out;
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines(text)) {
    const gid = parseId(f[2] ?? '');
    if (f[0] === undefined || gid === undefined) continue;
    const members = (f[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    out.push({ name: f[0], gid, members });
  }
  return out;
}

/** The image's /etc/passwd and /etc/group; undefined when it has none. */
export interface UserFiles {
  passwd?: string;
  group?: string;
}

/**
 * @param user ContainerSpec.User (else the image's User); empty means root
 * @param extraGroups ContainerSpec.Groups: names or numbers
 */
export function resolveUser(user: string | undefined, extraGroups: readonly string[] | undefined, files: UserFiles): OciUser {
  const passwd = parsePasswd(files.passwd);
  const groups = parseGroup(files.group);
  const spec = user === undefined || user.trim() === '' ? '0' : user.trim();
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);

  const userId = parseId(userPart);
  const entry = passwd.find((p) => p.name === userPart) ?? (userId !== undefined ? passwd.find((p) => p.uid === userId) : undefined);
  let uid: number;
  let gid = 0;
  if (entry !== undefined) {
    uid = entry.uid;
    gid = entry.gid;
  } else if (userId !== undefined) {
    uid = userId;
  } else {
    throw new InvalidArgumentError(`unable to find user ${userPart}: no matching entries in passwd file; use a numeric uid or a user the image defines`);
  }

  if (groupPart !== undefined && groupPart !== '') gid = lookupGroup(groupPart, groups);

  const additional: number[] = [];
  const add = (g: number): void => {
    if (!additional.includes(g)) additional.push(g);
  };
  // Docker lists the primary group among the supplementary ones, then the memberships.
  if (entry !== undefined) {
    add(gid);
    for (const g of groups) if (g.members.includes(entry.name)) add(g.gid);
  }
  for (const g of extraGroups ?? []) add(lookupGroup(g, groups));
  const out: OciUser = { uid, gid };
  if (additional.length > 0) out.additionalGids = additional;
  return out;
}

function lookupGroup(name: string, groups: GroupEntry[]): number {
  const byName = groups.find((g) => g.name === name);
  if (byName !== undefined) return byName.gid;
  const id = parseId(name);
  if (id !== undefined) return id;
  throw new InvalidArgumentError(`unable to find group ${name}: no matching entries in group file; use a numeric gid or a group the image defines`);
}
