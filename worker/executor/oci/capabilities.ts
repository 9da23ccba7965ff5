// Linux capabilities as Docker grants them: a default set, adjusted by the
// service's CapabilityAdd / CapabilityDrop with Docker's rules (moby's
// TweakCapabilities): `ALL` in add grants every capability but the dropped
// ones; `ALL` in drop keeps only the added ones; otherwise drop, then add.
import { InvalidArgumentError } from '../../../shared/errors.js';

/** Docker's default set for unprivileged containers. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability up to Linux 5.9 (numbers 0-40), in kernel order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const ALL = 'ALL';

/** `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `all` is ALL. */
export function normalizeCapabilities(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const upper = raw.trim().toUpperCase();
    const name = upper === ALL ? ALL : upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (name !== ALL && !ALL_CAPABILITIES.includes(name)) {
      throw new InvalidArgumentError(`unknown capability: "${raw}"; use a Linux capability name such as NET_ADMIN or CAP_SYS_TIME`);
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export function effectiveCapabilities(add: readonly string[] = [], drop: readonly string[] = []): string[] {
  if (add.length === 0 && drop.length === 0) return [...DEFAULT_CAPABILITIES];
  const adds = normalizeCapabilities(add);
  const drops = normalizeCapabilities(drop);
  if (adds.includes(ALL)) return ALL_CAPABILITIES.filter((c) => !drops.includes(c));
  if (drops.includes(ALL)) return adds;
  const caps = DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
  for (const c of adds) if (!caps.includes(c)) caps.push(c);
  return caps;
}
