// Swarm networks as the manager accepts, stores and serves them: the create
// request checked with swarmkit's (and dockerd's) rules, the ingress
// network every swarm starts with, and Docker's `Network` view. Pure.
import { InvalidArgumentError } from '../../shared/errors.js';
import type { IPAMConfig, Labels, Network, NetworkCreateRequest, NetworkRecord } from '../../shared/model/index.js';
import { INGRESS_NETWORK_NAME } from '../../shared/model/index.js';
import type { Draft } from '../store/transaction.js';
import { contains, formatCidr, parseCidr, parseIp } from './ipv4.js';

export type NetworkSpec = NetworkRecord['Spec'];

/** The overlay's MTU when the user sets none: a 1500-byte underlay minus VXLAN's 50 bytes. */
export const DEFAULT_OVERLAY_MTU = 1450;
/** Driver option for the MTU (`--opt com.docker.network.driver.mtu=1400`). */
export const MTU_OPTION = 'com.docker.network.driver.mtu';
/** Driver option naming the VXLAN id, as libnetwork's overlay driver reports it (and accepts it). */
export const VXLAN_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';
/** The largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 2 ** 24 - 1;

/** dockerd's name rule for networks (and containers). */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function invalid(message: string): never {
  throw new InvalidArgumentError(message);
}

/** An integer option in [min, max], or undefined when absent; throws (400) naming the option otherwise. */
export function intOption(options: Labels, key: string, min: number, max: number): number | undefined {
  const raw = options[key];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    invalid(`invalid value ${JSON.stringify(raw)} for option ${key}: use an integer from ${min} to ${max}`);
  }
  return n;
}

function checkIpamConfig(c: IPAMConfig): IPAMConfig {
  const out: IPAMConfig = {};
  if (c.IPRange) invalid('ipam configuration: IPRange is not supported by shoal; give the whole Subnet (and optionally a Gateway)');
  if (c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length > 0) {
    invalid('ipam configuration: AuxiliaryAddresses are not supported by shoal; leave them out');
  }
  if (!c.Subnet) {
    if (c.Gateway) invalid('ipam configuration: a Gateway needs a Subnet (give --subnet too)');
    return out;
  }
  const subnet = parseCidr(c.Subnet);
  if (subnet === undefined) invalid(`ipam configuration: invalid subnet ${c.Subnet} (write it as a CIDR block such as 10.10.0.0/24)`);
  if (subnet.prefix < 8 || subnet.prefix > 29) {
    invalid(`ipam configuration: subnet ${c.Subnet} must have a prefix length from /8 to /29 (a /29 holds 5 addresses)`);
  }
  out.Subnet = formatCidr(subnet);
  if (c.Gateway) {
    const gw = parseIp(c.Gateway);
    if (gw === undefined) invalid(`ipam configuration: invalid gateway ${c.Gateway} (write an IPv4 address such as 10.10.0.1)`);
    if (!contains(subnet, gw)) invalid(`ipam configuration: subnet ${out.Subnet} does not contain gateway ${c.Gateway}`);
    out.Gateway = c.Gateway;
  }
  return out;
}

/**
 * The spec stored for `POST /networks/create`. Throws InvalidArgumentError
 * (400) for what swarmkit or dockerd refuse, and for what shoal does not do
 * (other drivers, IPv6, several subnets), saying what to send instead.
 */
export function networkSpecFromRequest(req: NetworkCreateRequest): NetworkSpec {
  const name = req.Name ?? '';
  if (name === '') invalid('network name must be provided (POST /networks/create needs a Name)');
  if (!NETWORK_NAME.test(name)) {
    invalid(`invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const driver = req.Driver || 'overlay';
  if (driver !== 'overlay') {
    invalid(`network driver ${JSON.stringify(driver)} is not supported: shoal networks are swarm-wide overlays (use -d overlay, or leave the driver out)`);
  }
  if (req.Scope && req.Scope !== 'swarm') invalid(`network scope ${JSON.stringify(req.Scope)} is not supported: overlay networks are swarm-scoped (leave --scope out)`);
  if (req.EnableIPv6) invalid('IPv6 is not supported on shoal overlays: leave --ipv6 out');
  const ingress = req.Ingress === true;
  if (ingress && req.Attachable) invalid('ingress network cannot be attachable');
  const ipamDriver = req.IPAM?.Driver || 'default';
  if (ipamDriver !== 'default') invalid(`IPAM driver ${JSON.stringify(ipamDriver)} is not supported: leave --ipam-driver out (the default driver is used)`);
  const configs = (req.IPAM?.Config ?? []).map(checkIpamConfig).filter((c) => c.Subnet !== undefined);
  if (configs.length > 1) invalid('only one subnet per network is supported: give a single --subnet');
  const options: Labels = { ...(req.Options ?? {}) };
  intOption(options, MTU_OPTION, 576, 9000);
  intOption(options, VXLAN_OPTION, 1, MAX_VNI);
  return {
    Name: name,
    Labels: { ...(req.Labels ?? {}) },
    Driver: 'overlay',
    Options: options,
    Internal: req.Internal === true,
    Attachable: req.Attachable === true,
    Ingress: ingress,
    IPAM: { Driver: ipamDriver, Config: configs, Options: { ...(req.IPAM?.Options ?? {}) } },
  };
}

/** The routing mesh's network, as `docker swarm init` makes it: its subnet comes from the address pool (10.0.0.0/24 by default). */
export function ingressNetworkSpec(): NetworkSpec {
  return {
    Name: INGRESS_NETWORK_NAME,
    Labels: {},
    Driver: 'overlay',
    Options: {},
    Internal: false,
    Attachable: false,
    Ingress: true,
    IPAM: { Driver: 'default', Config: [], Options: {} },
  };
}

export function newNetworkRecord(id: string, spec: NetworkSpec): Draft<NetworkRecord> {
  return { ID: id, Spec: spec, Internal: {} };
}

/** The swarm's ingress network record, for `swarm init` to create with the cluster object. */
export function newIngressNetworkRecord(id: string): Draft<NetworkRecord> {
  return newNetworkRecord(id, ingressNetworkSpec());
}

/**
 * Docker's `Network`. The IPAM config shows what the allocator gave (as
 * dockerd does for swarm networks), and the options the VXLAN id.
 */
export function toApiNetwork(r: NetworkRecord): Network {
  const a = r.Internal.Allocation;
  const config: IPAMConfig[] = a ? [{ Subnet: a.Subnet, Gateway: a.Gateway }] : r.Spec.IPAM.Config.map((c) => ({ ...c }));
  const options: Labels = { ...r.Spec.Options };
  if (a) options[VXLAN_OPTION] = String(a.VNI);
  const ipamOptions = r.Spec.IPAM.Options;
  return {
    Name: r.Spec.Name,
    Id: r.ID,
    Created: r.CreatedAt,
    Scope: 'swarm',
    Driver: 'overlay',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: r.Spec.IPAM.Driver, Options: Object.keys(ipamOptions).length > 0 ? { ...ipamOptions } : null, Config: config },
    Internal: r.Spec.Internal,
    Attachable: r.Spec.Attachable,
    Ingress: r.Spec.Ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: options,
    Labels: { ...r.Spec.Labels },
  };
}
