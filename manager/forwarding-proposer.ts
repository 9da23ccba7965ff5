// Store writes from any manager: the leader proposes to Raft itself, a
// follower hands the encoded transaction to the leader, which answers with
// the apply result (or the apply's rejection, e.g. a version conflict).
import { UnavailableError } from '../shared/errors.js';
import { PROTOCOL_PROPOSE, type ManagerPeer, type ProposeRequest } from '../shared/protocol/cluster.js';
import type { RaftNode } from './raft/node.js';
import { NO_LEADER_MESSAGE, translateRaftError } from './errors.js';

export interface Requester {
  request<Req, Res>(target: { peerId: string; addr: string }, protocol: string, req: Req, opts?: { timeoutMs?: number }): Promise<Res>;
}

export class ForwardingProposer {
  constructor(
    private readonly raft: RaftNode,
    private readonly net: Requester,
    private readonly resolve: (raftId: number) => ManagerPeer | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  async propose(data: Uint8Array): Promise<unknown> {
    try {
      if (this.raft.isLeader()) return await this.raft.propose(data, { timeoutMs: this.timeoutMs });
      const leader = this.raft.leader();
      const peer = leader === undefined ? undefined : this.resolve(Number(leader));
      if (peer === undefined) throw new UnavailableError(NO_LEADER_MESSAGE);
      return await this.net.request<ProposeRequest, unknown>(peer, PROTOCOL_PROPOSE, { data }, { timeoutMs: this.timeoutMs + 1000 });
    } catch (err) {
      throw translateRaftError(err);
    }
  }

  async read(): Promise<void> {
    // Without a known leader a ReadIndex would only wait out its timeout: answer at once.
    if (this.raft.leader() === undefined) throw new UnavailableError(NO_LEADER_MESSAGE);
    try {
      await this.raft.read();
    } catch (err) {
      throw translateRaftError(err);
    }
  }
}
