// Raft failures translated into what a swarm user is told, in Docker's words
// where Docker has them.
import { ShoalError, UnavailableError } from '../shared/errors.js';

export const NO_LEADER_MESSAGE =
  "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

/** Errors that mean "no quorum right now" become Docker's 503 no-leader answer. */
export function translateRaftError(err: unknown): unknown {
  if (!(err instanceof ShoalError)) return err;
  switch (err.code) {
    case 'not_leader':
    case 'leadership_changed':
    case 'timeout':
    case 'proposal_dropped':
      return new UnavailableError(NO_LEADER_MESSAGE, { cause: err });
    default:
      return err;
  }
}
