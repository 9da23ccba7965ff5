// The network allocator: networks' subnets and VXLAN ids, services' virtual
// IPs and published ports, tasks' and nodes' addresses on overlays.
export { AddressSpace } from './address-space.js';
export { type Allocator, allocatorInput, type AllocatorOptions, createAllocator, planWrites, relevantToAllocator } from './allocator.js';
export { endpointMode, endpointPortConflict, publishesIngress, publishMode, specNetworks, taskNetworks } from './endpoint.js';
export {
  DEFAULT_OVERLAY_MTU,
  ingressNetworkSpec,
  MTU_OPTION,
  type NetworkSpec,
  networkSpecFromRequest,
  newIngressNetworkRecord,
  newNetworkRecord,
  toApiNetwork,
  VXLAN_OPTION,
} from './network-spec.js';
export {
  ALLOCATION_ERROR_PREFIX,
  type AllocationPlan,
  type AllocationProblem,
  type AllocatorInput,
  type Cursors,
  holdsAddresses,
  planAllocations,
} from './plan.js';
export { addressOf, type Cidr, contains, formatCidr, formatIp, overlaps, parseCidr, parseIp, withPrefix } from './ipv4.js';
export { NETWORK_FILTERS, networkFilter } from './network-filter.js';
