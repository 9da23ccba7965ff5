// NetworkDataPlane on Linux: per overlay network a namespace with a bridge
// and a VXLAN device, a veth per attached container, static neighbour and
// FDB entries for endpoints on other nodes, nftables for service VIPs,
// the routing mesh and host-mode published ports (a veth from the host into
// each network whose local tasks take one), and the network's DNS responder. Every change is a
// reconcile: compute what should exist (desired.ts), read what does
// (shell.ts probe), run the difference (planner.ts). Calls are serialised.
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, UnavailableError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { NetworksMessage } from '../../shared/protocol/network-state.js';
import { AttachmentStore } from './attachments.js';
import { desiredState, type ContainerAttachment, type PlannerConfig } from './desired.js';
import type { DnsHost } from './dns-host.js';
import { addressOf, parseCidr } from './ipv4.js';
import { nodeNames, type NodeNames } from './naming.js';
import { plan } from './planner.js';
import { NETNS_DIR, NetShell, type CommandRunner } from './shell.js';
import type { Step } from './steps.js';
import type { AttachedNetwork, AttachRequest, NetworkDataPlane } from './types.js';

export const DEFAULT_MESH_SUBNET = '172.31.255.0/30';

export interface OverlayDataPlaneOptions {
  /** The daemon's data root: names derive from it and the attachment list lives in `<dataRoot>/network/`. */
  dataRoot: string;
  /** This node's data path address: VXLAN packets leave from it and other nodes send to it. */
  underlayIp: string;
  /** VXLAN's UDP port when the manager's message does not say. */
  dataPathPort: number;
  logger: Logger;
  dns?: DnsHost;
  /** The routing mesh's host↔ingress link (a /30 is enough; the same on every node is fine). */
  meshSubnet?: string;
  /** Where each network's host-mode port veth takes its /30 (default 172.31.254.0/24: 64 networks with host-mode ports on one node). */
  hostPortSubnet?: string;
  /** Do the host's part inside this /run/netns name (tests put several nodes on one machine). */
  hostNetns?: string;
  run?: CommandRunner;
  /** How long attach waits for the manager to send a network it names (default 30 s). */
  networkWaitMs?: number;
}

export class OverlayDataPlane implements NetworkDataPlane {
  private latest: NetworksMessage | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private queuedApply: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly dnsRunning = new Set<string>();
  private readonly log: Logger;
  private readonly cfg: PlannerConfig;

  private constructor(
    private readonly o: OverlayDataPlaneOptions,
    readonly names: NodeNames,
    private readonly shell: NetShell,
    private readonly attachments: AttachmentStore,
  ) {
    this.log = o.logger;
    this.cfg = { names, underlayIp: o.underlayIp, meshSubnet: o.meshSubnet ?? DEFAULT_MESH_SUBNET, ...(o.hostPortSubnet !== undefined ? { hostPortSubnet: o.hostPortSubnet } : {}) };
  }

  static async open(o: OverlayDataPlaneOptions): Promise<OverlayDataPlane> {
    await mkdir(o.dataRoot, { recursive: true, mode: 0o700 });
    const root = await realpath(o.dataRoot);
    parseCidr(o.underlayIp);
    const store = new AttachmentStore(join(root, 'network'));
    await store.load();
    const names = nodeNames(root);
    const shell = new NetShell({ logger: o.logger, ...(o.run !== undefined ? { run: o.run } : {}), ...(o.hostNetns !== undefined ? { hostNetns: o.hostNetns } : {}) });
    o.logger.info({ prefix: names.nsPrefix, underlay: o.underlayIp, containers: store.all().length }, 'overlay data plane open');
    return new OverlayDataPlane(o, names, shell, store);
  }

  apply(state: NetworksMessage): Promise<void> {
    this.latest = { ...state, dataPathPort: state.dataPathPort > 0 ? state.dataPathPort : this.o.dataPathPort };
    for (const w of this.waiters) w();
    // Updates that arrive while one is queued ride along with it: the reconcile reads the latest state when it starts.
    if (this.queuedApply !== undefined) return this.queuedApply;
    const p = this.serial(async () => {
      this.queuedApply = undefined;
      await this.reconcile();
    });
    this.queuedApply = p;
    return p;
  }

  async attach(req: AttachRequest): Promise<AttachedNetwork> {
    const networks = req.attachments.map((a) => {
      const address = a.Addresses.find((x) => x.includes('.'));
      if (address === undefined) throw new InvalidArgumentError(`task ${req.taskId} has no IPv4 address on network ${a.Network.Spec.Name} (${a.Network.ID}); the allocator must give one before the task starts`);
      parseCidr(address);
      return { networkId: a.Network.ID, address };
    });
    await this.waitForNetworks(networks.map((n) => n.networkId), req.attachments.map((a) => a.Network.Spec.Name));
    return this.serial(async () => {
      const rec: ContainerAttachment = { containerId: req.containerId, taskId: req.taskId, networks };
      await this.attachments.set(rec);
      await this.reconcile();
      const first = this.latest?.networks.find((n) => n.id === networks[0]?.networkId);
      return {
        namespacePath: join(NETNS_DIR, this.names.containerNs(req.containerId)),
        addresses: networks.map((n) => addressOf(n.address)),
        nameservers: first !== undefined && first.nodeAddress !== '' ? [addressOf(first.nodeAddress)] : [],
      };
    });
  }

  detach(containerId: string): Promise<void> {
    return this.serial(async () => {
      await this.attachments.delete(containerId);
      if (this.latest !== undefined) {
        await this.reconcile();
        return;
      }
      // No word from the manager yet: a reconcile would not know which networks to keep, so only this container's namespace goes.
      const ns = this.names.containerNs(containerId);
      const observed = await this.shell.probe(this.names);
      if (!observed.namespaces.has(ns)) return;
      const links = [...(observed.netns.get(ns)?.links.keys() ?? [])].filter((l) => l !== 'lo');
      await this.shell.execute([...(links.length > 0 ? [{ op: 'ip' as const, where: ns, lines: links.map((l) => `link del ${l}`), tolerant: true }] : []), { op: 'netns-del', ns }]);
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      for (const ns of [...this.dnsRunning]) await this.stopDns(ns);
    });
  }

  /** Removes every namespace, device and table this node made (leaving the swarm; tests). */
  async removeAll(): Promise<void> {
    await this.serial(async () => {
      await this.attachments.clear();
      this.latest = { type: 'networks', dataPathPort: this.latest?.dataPathPort ?? this.o.dataPathPort, networks: [] };
      await this.reconcile();
    });
  }

  /** What a reconcile would run now (nothing when all is as wanted): for diagnostics and tests of adoption. */
  pending(): Promise<Step[]> {
    return this.serial(async () => {
      if (this.latest === undefined) return [];
      return plan(desiredState(this.latest, this.attachments.all(), this.cfg), await this.shell.probe(this.names), this.names);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async waitForNetworks(ids: string[], labels: string[]): Promise<void> {
    const missing = (): string[] => ids.filter((id) => this.latest?.networks.some((n) => n.id === id) !== true);
    if (missing().length === 0) return;
    const deadline = Date.now() + (this.o.networkWaitMs ?? 30_000);
    while (missing().length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const m = missing();
        const named = m.map((id) => `${labels[ids.indexOf(id)] ?? '?'} (${id})`).join(', ');
        throw new UnavailableError(`network ${named} is not known on this node yet: the manager has not sent it; check that the node is connected to the swarm and the network still exists`);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /** Needs the serial lane. Changes nothing before the manager's first word: without it every network would look stale. */
  private async reconcile(): Promise<void> {
    const state = this.latest;
    if (state === undefined) return;
    const desired = desiredState(state, this.attachments.all(), this.cfg);
    const wanted = new Set(desired.networks.map((n) => n.ns));
    for (const ns of [...this.dnsRunning]) if (!wanted.has(ns)) await this.stopDns(ns);
    const observed = await this.shell.probe(this.names);
    const steps = plan(desired, observed, this.names);
    if (steps.length > 0) {
      const started = Date.now();
      await this.shell.execute(steps);
      this.log.debug({ steps: steps.length, ms: Date.now() - started, networks: desired.networks.length, containers: desired.containerNs.length }, 'overlay data plane reconciled');
    }
    const dns = this.o.dns;
    if (dns === undefined) return;
    for (const net of desired.networks) {
      if (net.state.nodeAddress === '') continue;
      if (this.dnsRunning.has(net.ns)) {
        dns.update(net.ns, net.state);
        continue;
      }
      try {
        await dns.start(net.ns, addressOf(net.state.nodeAddress), net.state);
        this.dnsRunning.add(net.ns);
      } catch (err) {
        this.log.error({ err, network: net.state.name }, 'could not start the network DNS responder; retrying with the next network update');
      }
    }
  }

  private async stopDns(ns: string): Promise<void> {
    try {
      await this.o.dns?.stop(ns);
    } catch (err) {
      this.log.warn({ err, ns }, 'could not stop a network DNS responder');
    }
    this.dnsRunning.delete(ns);
  }
}
