// How the data plane starts and stops a network's DNS responder without
// knowing how it is built (worker/network/dns/ implements it). The responder
// runs inside the network's namespace and listens on the node's address
// there, which is what every container's resolv.conf names.
import type { OverlayNetworkState } from '../../shared/protocol/network-state.js';

export interface DnsHost {
  /** Serve `network` from inside `netnsName` (a name under /run/netns) on `listenIp`:53. */
  start(netnsName: string, listenIp: string, network: OverlayNetworkState): Promise<void>;
  /** The network's services or backends changed: answer from this state from now on. */
  update(netnsName: string, network: OverlayNetworkState): void;
  /** Stop serving; the namespace is about to go. Idempotent. */
  stop(netnsName: string): Promise<void>;
}
