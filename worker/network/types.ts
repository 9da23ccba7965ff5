// The worker's side of overlay networking, as the agent and the oci executor
// see it. The data plane (worker/network/) owns every device, namespace,
// forwarding entry, nftables rule and DNS responder it makes, and reconciles
// them to the manager's word (NetworksMessage) and to the containers it
// attached.
import type { NetworkAttachment } from '../../shared/model/index.js';
import type { NetworksMessage } from '../../shared/protocol/network-state.js';

export interface AttachRequest {
  taskId: string;
  containerId: string;
  /** The task's networks and its address on each (from the allocator), first one first. */
  attachments: NetworkAttachment[];
}

export interface AttachedNetwork {
  /** The container's network namespace (`/run/netns/<name>`), for runc to join. */
  namespacePath: string;
  /** The container's addresses, without prefix length, for its /etc/hosts. */
  addresses: string[];
  /** Where the container's resolver is: the node's address on the first network (its DNS responder). */
  nameservers: string[];
}

export interface NetworkDataPlane {
  /**
   * The manager's latest word on the node's networks: create what is new,
   * update forwarding entries and load balancers, remove networks that went.
   * Idempotent; calls are serialised.
   */
  apply(state: NetworksMessage): Promise<void>;
  /** A namespace with a veth on each network (its IP, Docker's MAC, the overlay MTU) and routes; idempotent per container. */
  attach(req: AttachRequest): Promise<AttachedNetwork>;
  /** Undo attach (the veths and the namespace); idempotent. */
  detach(containerId: string): Promise<void>;
  /** Stops the DNS responders this process started; devices stay for the next start to adopt. */
  close(): Promise<void>;
}
