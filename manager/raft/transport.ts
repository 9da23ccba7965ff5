// How a RaftNode reaches its peers. The driver hands over all of one Ready's
// messages at once so an implementation can coalesce them per peer into one
// frame (and one write) instead of paying per message.
import type { Message } from './types.js';

export interface Transport {
  /**
   * Queue messages for delivery. Never blocks and never throws for network
   * trouble: Raft tolerates loss, so an unreachable peer or a full queue just
   * drops the message (and Raft retries on its own schedule).
   */
  send(messages: Message[]): void;
  /** Where received messages go. Set once, before any message can arrive. */
  setHandler(handler: (m: Message) => void): void;
  /** Stop sending and receiving; messages still queued are dropped. */
  close(): Promise<void>;
}
