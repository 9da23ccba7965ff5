// Errors a RaftNode hands to callers. Each says whether retrying can help and
// where: most are 503-style "try again (maybe elsewhere)" conditions.
import { ShoalError } from '../../shared/errors.js';
import type { NodeId } from './types.js';

/** This node is not the leader; `leader` is who is (undefined while an election runs). */
export class NotLeaderError extends ShoalError {
  readonly leader: NodeId | undefined;

  constructor(self: NodeId, leader: NodeId | undefined, term: number) {
    super(
      'not_leader',
      leader !== undefined
        ? `${self} is not the leader; send the request to the leader ${leader}`
        : `${self} is not the leader and no leader is known at term ${term}; an election is in progress, retry shortly`,
      503,
    );
    this.leader = leader;
  }
}

/** The proposal's log slot went to another leader's entry: it was not applied. Safe to retry. */
export class LeadershipChangedError extends ShoalError {
  constructor(index: number) {
    super('proposal_dropped', `proposal was dropped by a leadership change (log index ${index} was taken by a newer leader); retry`, 503);
  }
}

/**
 * This node lost leadership and then jumped over the proposal's index by
 * installing a snapshot, so it cannot tell whether the proposal was applied.
 */
export class OutcomeUnknownError extends ShoalError {
  constructor(index: number, snapshotIndex: number) {
    super(
      'outcome_unknown',
      `proposal at log index ${index} may or may not have been applied: this node lost leadership and installed a snapshot at ${snapshotIndex}; read the state before retrying`,
      503,
    );
  }
}

/** Too much is queued: the caller should slow down. */
export class OverloadedError extends ShoalError {
  constructor(what: string, limit: number) {
    super('overloaded', `too many ${what} in flight (limit ${limit}); slow down and retry, or raise the limit`, 503);
  }
}

/** A request did not finish in time; its effect, for proposals, is unknown. */
export class RaftTimeoutError extends ShoalError {
  constructor(message: string) {
    super('timeout', message, 503);
  }
}

/** The node is stopping or stopped (or failed); nothing more will be processed. */
export class NodeStoppedError extends ShoalError {
  constructor(self: NodeId, cause?: unknown) {
    super(
      'stopped',
      cause === undefined
        ? `raft node ${self} is stopped`
        : `raft node ${self} stopped after a fatal error: ${cause instanceof Error ? cause.message : String(cause)}`,
      503,
      cause === undefined ? {} : { cause },
    );
  }
}
