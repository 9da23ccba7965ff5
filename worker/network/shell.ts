// The imperative side of the data plane: runs the planner's steps with
// `ip`, `bridge`, `nft` and `sysctl`, and reads back what exists in one
// probe process. With `hostNetns` set, whatever the daemon would do in its
// own namespace happens in that named one instead: tests run several
// nodes' data planes in one process, one test host namespace each.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { ShoalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { NS_TABLE, VXLAN, type NodeNames } from './naming.js';
import { HOST_NS, parseProbe, type ObservedState } from './observed.js';
import { HOST, type Step } from './steps.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (cmd: string, args: readonly string[], input?: string) => Promise<CommandResult>;

/** Runs a program, feeding `input` to its stdin, and collects its output. */
export const spawnRunner: CommandRunner = (cmd, args, input) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });

export const NETNS_DIR = '/run/netns';

export interface NetShellOptions {
  logger: Logger;
  run?: CommandRunner;
  /** Run host-namespace commands inside this /run/netns name instead of the daemon's own namespace. */
  hostNetns?: string;
}

export class NetShell {
  private readonly run: CommandRunner;
  private readonly log: Logger;

  constructor(private readonly o: NetShellOptions) {
    this.run = o.run ?? spawnRunner;
    this.log = o.logger;
  }

  /** Names under /run/netns that start with `prefix` (the directory is global to the machine). */
  async namespaces(prefix: string): Promise<string[]> {
    try {
      return (await readdir(NETNS_DIR)).filter((n) => n.startsWith(prefix)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Everything the planner compares with, for the host and each of the node's namespaces, in one process. */
  async probe(names: NodeNames): Promise<ObservedState> {
    const all = await this.namespaces(names.nsPrefix);
    const lines = [
      `echo "@@links ${HOST_NS}"; ip -j -d addr show`,
      `echo "@@nft ${HOST_NS}"; nft list table ip ${names.hostTable} 2>/dev/null | head -n 3`,
      `echo "@@forward ${HOST_NS}"; cat /proc/sys/net/ipv4/ip_forward`,
    ];
    for (const ns of all) {
      lines.push(`echo "@@links ${ns}"; ip -n ${ns} -j -d addr show 2>/dev/null`);
      if (!names.isNetworkNs(ns)) continue;
      lines.push(
        `echo "@@neigh ${ns}"; ip -n ${ns} -j neigh show dev ${VXLAN} 2>/dev/null`,
        `echo "@@fdb ${ns}"; bridge -n ${ns} -j fdb show dev ${VXLAN} 2>/dev/null`,
        `ip netns exec ${ns} sh -c 'echo "@@nft ${ns}"; nft list table ip ${NS_TABLE} 2>/dev/null | head -n 3; echo "@@forward ${ns}"; cat /proc/sys/net/ipv4/ip_forward; echo "@@brnf ${ns}"; cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null' 2>/dev/null`,
      );
    }
    const r = await this.exec(this.inHost('sh', ['-c', lines.join('\n')]));
    return parseProbe(r.stdout, all);
  }

  async execute(steps: readonly Step[]): Promise<void> {
    for (const s of steps) await this.step(s);
  }

  private async step(s: Step): Promise<void> {
    switch (s.op) {
      case 'netns-add':
        await this.check(['ip', ['netns', 'add', s.ns]]);
        return;
      case 'netns-del': {
        const r = await this.exec(['ip', ['netns', 'del', s.ns]]);
        if (r.code !== 0 && !/No such file/.test(r.stderr)) this.fail(['ip', ['netns', 'del', s.ns]], r);
        return;
      }
      case 'ip':
      case 'bridge': {
        const args = [...(s.op === 'ip' && s.tolerant === true ? ['-force'] : []), '-batch', '-'];
        const cmd = s.where === HOST ? this.hostTool(s.op, args) : ([s.op, ['-n', s.where, ...args]] as const);
        const input = `${s.lines.join('\n')}\n`;
        if (s.op === 'ip' && s.tolerant === true) {
          const r = await this.exec(cmd, input);
          if (r.code !== 0) this.log.debug({ where: s.where, lines: s.lines, stderr: r.stderr.trim() }, 'some deletions found nothing to delete');
          return;
        }
        await this.check(cmd, input);
        return;
      }
      case 'nft':
        await this.check(this.inNs(s.where, 'nft', ['-f', '-']), s.script);
        return;
      case 'sysctl':
        // -e: keys of modules that are not loaded (br_netfilter) are not errors.
        await this.check(this.inNs(s.where, 'sysctl', ['-q', '-e', '-w', ...s.settings]));
        return;
    }
  }

  /** `ip`/`bridge` for the host's namespace: `-n` picks the stand-in namespace when there is one. */
  private hostTool(tool: 'ip' | 'bridge', args: string[]): readonly [string, string[]] {
    return this.o.hostNetns === undefined ? [tool, args] : [tool, ['-n', this.o.hostNetns, ...args]];
  }

  private inHost(cmd: string, args: string[]): readonly [string, string[]] {
    return this.inNs(HOST, cmd, args);
  }

  private inNs(where: string, cmd: string, args: string[]): readonly [string, string[]] {
    const ns = where === HOST ? this.o.hostNetns : where;
    return ns === undefined ? [cmd, args] : ['ip', ['netns', 'exec', ns, cmd, ...args]];
  }

  private async exec(cmd: readonly [string, readonly string[]], input?: string): Promise<CommandResult> {
    try {
      return await this.run(cmd[0], cmd[1], input);
    } catch (err) {
      throw new ShoalError('network_setup_failed', `could not run ${cmd[0]} (${String(err)}); the overlay network data plane needs iproute2 (ip, bridge), nftables (nft) and procps (sysctl) installed`, 500, { cause: err });
    }
  }

  private async check(cmd: readonly [string, readonly string[]], input?: string): Promise<void> {
    const r = await this.exec(cmd, input);
    if (r.code !== 0) this.fail(cmd, r, input);
  }

  private fail(cmd: readonly [string, readonly string[]], r: CommandResult, input?: string): never {
    this.log.warn({ cmd: [cmd[0], ...cmd[1]].join(' '), input, stderr: r.stderr.trim(), code: r.code }, 'network command failed');
    throw new ShoalError(
      'network_setup_failed',
      `setting up overlay networking failed: \`${[cmd[0], ...cmd[1]].join(' ')}\` exited with ${r.code}: ${r.stderr.trim() || r.stdout.trim()}. The daemon must run as root on a kernel with the vxlan, bridge and nf_tables modules; it retries with the next network update`,
      500,
    );
  }
}
