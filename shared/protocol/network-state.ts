// What a node needs to know of the overlay networks it takes part in, as the
// leader's dispatcher sends it (a `networks` message on /shoal/dispatch/1,
// the whole state each time it changes). Computed from the store alone, so
// any leader sends the same. The worker's data plane (worker/network/)
// reconciles its devices, forwarding entries, load balancer and DNS to it.
import { InvalidArgumentError } from '../errors.js';

/** An address on an overlay and the node it lives on. */
export interface OverlayPeer {
  /** `10.0.1.5` (no prefix length). */
  ip: string;
  /** Derived from the IP as Docker does: 02:42 and the four address bytes. */
  mac: string;
  /** The underlay (data path) IP of the node the endpoint is on. */
  underlay: string;
  nodeId: string;
  /** A task's ID, or undefined for a node's own address on the network. */
  taskId?: string;
}

export interface OverlayBackend {
  taskId: string;
  slot: number;
  ip: string;
}

export interface OverlayService {
  id: string;
  name: string;
  endpointMode: 'vip' | 'dnsrr';
  /** vip mode: the service's virtual IP on this network (no prefix length). */
  vip?: string;
  /** Running tasks (healthy, when they have a healthcheck), ready to take traffic. */
  backends: OverlayBackend[];
  /** The service's aliases on this network (NetworkAttachmentConfig.Aliases): names that resolve as its own name does. */
  aliases?: string[];
  /** Published ports: all of them on the ingress network; host-mode ones on every network the service is on. */
  ports: Array<{ protocol: 'tcp' | 'udp'; targetPort: number; publishedPort: number; publishMode: 'ingress' | 'host' }>;
}

export interface OverlayNetworkState {
  id: string;
  name: string;
  vni: number;
  /** `10.0.1.0/24`. */
  subnet: string;
  gateway: string;
  mtu: number;
  internal: boolean;
  ingress: boolean;
  /** This node's address on the network, CIDR form (`10.0.1.250/24`): its load balancer and DNS listen here. */
  nodeAddress: string;
  /** Every endpoint of the network on other nodes (tasks and nodes' own addresses). */
  peers: OverlayPeer[];
  /** Services attached to the network. */
  services: OverlayService[];
}

export interface NetworksMessage {
  type: 'networks';
  /** UDP port of VXLAN between nodes (Docker's --data-path-port, default 4789). */
  dataPathPort: number;
  networks: OverlayNetworkState[];
}

/** Docker's MAC for an overlay address: 02:42 followed by the IPv4 bytes. */
export function macForIp(ip: string): string {
  const parts = ip.split('.').map((p) => Number(p));
  return ['02', '42', ...parts.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

// --- validation ----------------------------------------------------------------

/** Bounds on what one message may carry (a node in 1,000 networks of 10,000 endpoints is far beyond any real swarm). */
const MAX_NETWORKS = 1000;
const MAX_ENTRIES = 100_000;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

class NetworkStateError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NetworkStateError(`${what} must be an object`);
  return v as Obj;
}
function str(o: Obj, k: string, what: string, re?: RegExp): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > 256 || (re !== undefined && !re.test(v))) throw new NetworkStateError(`${what}.${k} is not valid`);
  return v;
}
function int(o: Obj, k: string, what: string, min: number, max: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new NetworkStateError(`${what}.${k} must be an integer from ${min} to ${max}`);
  return v;
}
function bool(o: Obj, k: string, what: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new NetworkStateError(`${what}.${k} must be a boolean`);
  return v;
}
function arr(o: Obj, k: string, what: string, max: number): unknown[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length > max) throw new NetworkStateError(`${what}.${k} must be a list of at most ${max}`);
  return v;
}

function peer(v: unknown, what: string): OverlayPeer {
  const o = obj(v, what);
  const p: OverlayPeer = { ip: str(o, 'ip', what, IPV4), mac: str(o, 'mac', what, MAC), underlay: str(o, 'underlay', what), nodeId: str(o, 'nodeId', what) };
  if (o['taskId'] !== undefined) p.taskId = str(o, 'taskId', what);
  return p;
}

function service(v: unknown, what: string): OverlayService {
  const o = obj(v, what);
  const mode = str(o, 'endpointMode', what);
  if (mode !== 'vip' && mode !== 'dnsrr') throw new NetworkStateError(`${what}.endpointMode must be vip or dnsrr`);
  const s: OverlayService = {
    id: str(o, 'id', what),
    name: str(o, 'name', what),
    endpointMode: mode,
    backends: arr(o, 'backends', what, MAX_ENTRIES).map((b, i) => {
      const bo = obj(b, `${what}.backends[${i}]`);
      return { taskId: str(bo, 'taskId', what), slot: int(bo, 'slot', what, 0, 2 ** 31), ip: str(bo, 'ip', what, IPV4) };
    }),
    ports: arr(o, 'ports', what, 1000).map((p, i) => {
      const po = obj(p, `${what}.ports[${i}]`);
      const protocol = str(po, 'protocol', what);
      const publishMode = str(po, 'publishMode', what);
      if ((protocol !== 'tcp' && protocol !== 'udp') || (publishMode !== 'ingress' && publishMode !== 'host')) throw new NetworkStateError(`${what}.ports[${i}] is not valid`);
      return { protocol, targetPort: int(po, 'targetPort', what, 1, 65535), publishedPort: int(po, 'publishedPort', what, 1, 65535), publishMode };
    }),
  };
  if (o['vip'] !== undefined) s.vip = str(o, 'vip', what, IPV4);
  return s;
}

/** Checks a `networks` message from the wire; throws with what was wrong. */
export function parseNetworksMessage(v: unknown): NetworksMessage {
  try {
    const o = obj(v, 'networks');
    return {
      type: 'networks',
      dataPathPort: int(o, 'dataPathPort', 'networks', 1, 65535),
      networks: arr(o, 'networks', 'networks', MAX_NETWORKS).map((n, i) => {
        const what = `networks[${i}]`;
        const no = obj(n, what);
        return {
          id: str(no, 'id', what),
          name: str(no, 'name', what),
          vni: int(no, 'vni', what, 1, 16_777_215),
          subnet: str(no, 'subnet', what, CIDR),
          gateway: str(no, 'gateway', what, IPV4),
          mtu: int(no, 'mtu', what, 68, 65535),
          internal: bool(no, 'internal', what),
          ingress: bool(no, 'ingress', what),
          nodeAddress: str(no, 'nodeAddress', what, CIDR),
          peers: arr(no, 'peers', what, MAX_ENTRIES).map((p, j) => peer(p, `${what}.peers[${j}]`)),
          services: arr(no, 'services', what, MAX_ENTRIES).map((s, j) => service(s, `${what}.services[${j}]`)),
        };
      }),
    };
  } catch (err) {
    if (err instanceof NetworkStateError) throw new InvalidArgumentError(`invalid networks message: ${err.message}`);
    throw err;
  }
}
