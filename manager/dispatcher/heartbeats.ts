// Which nodes are alive, judged by heartbeats the leader received. Pure: the
// caller passes the time, so the rule (down after `missed` periods of
// silence) is testable without timers.

export class HeartbeatTracker {
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly missedBeforeDown = 3) {}

  seen(nodeId: string, now: number): void {
    this.lastSeen.set(nodeId, now);
  }

  /**
   * A new leader knows nothing of past heartbeats: every node gets a full
   * grace period instead of being marked down at once.
   */
  reset(nodeIds: Iterable<string>, now: number): void {
    this.lastSeen.clear();
    for (const id of nodeIds) this.lastSeen.set(id, now);
  }

  forget(nodeId: string): void {
    this.lastSeen.delete(nodeId);
  }

  isAlive(nodeId: string, now: number, periodMs: number): boolean {
    const seen = this.lastSeen.get(nodeId);
    return seen !== undefined && now - seen <= this.missedBeforeDown * periodMs;
  }
}

export interface NodeLiveness {
  id: string;
  state: string;
}

/**
 * Status changes to propose: ready nodes that went silent become down, and
 * silent-then-back nodes become ready again. `self` (the leader) is alive
 * by definition.
 */
export function planStatusChanges(
  nodes: readonly NodeLiveness[],
  tracker: HeartbeatTracker,
  now: number,
  periodMs: number,
  self: string,
): { down: string[]; ready: string[] } {
  const down: string[] = [];
  const ready: string[] = [];
  for (const n of nodes) {
    const alive = n.id === self || tracker.isAlive(n.id, now, periodMs);
    if (alive && n.state !== 'ready') ready.push(n.id);
    else if (!alive && n.state === 'ready') down.push(n.id);
  }
  return { down, ready };
}
