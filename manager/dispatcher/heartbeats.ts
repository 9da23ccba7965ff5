// Which nodes are alive, judged by heartbeats the leader received. Pure: the
// caller passes the time, so the rule (down after `missed` periods of
// silence) is testable without timers.

export class HeartbeatTracker {
  private readonly lastSeen = new Map<string, number>();
  /** Nodes reset() gave a grace period that have not sent a heartbeat since. */
  private readonly onGrace = new Set<string>();

  constructor(private readonly missedBeforeDown = 3) {}

  seen(nodeId: string, now: number): void {
    this.lastSeen.set(nodeId, now);
    this.onGrace.delete(nodeId);
  }

  /**
   * A new leader knows nothing of past heartbeats: every node gets a full
   * grace period instead of being marked down at once.
   */
  reset(nodeIds: Iterable<string>, now: number): void {
    this.lastSeen.clear();
    this.onGrace.clear();
    for (const id of nodeIds) {
      this.lastSeen.set(id, now);
      this.onGrace.add(id);
    }
  }

  forget(nodeId: string): void {
    this.lastSeen.delete(nodeId);
    this.onGrace.delete(nodeId);
  }

  isAlive(nodeId: string, now: number, periodMs: number): boolean {
    const seen = this.lastSeen.get(nodeId);
    return seen !== undefined && now - seen <= this.missedBeforeDown * periodMs;
  }

  /** Has the node itself sent a heartbeat (not merely been given a grace period by reset())? */
  heard(nodeId: string): boolean {
    return this.lastSeen.has(nodeId) && !this.onGrace.has(nodeId);
  }
}

export interface NodeLiveness {
  id: string;
  state: string;
}

/**
 * Status changes to propose: ready nodes that went silent become down, and
 * silent-then-back nodes become ready again. `self` (the leader) is alive
 * by definition. A grace period keeps a node from being marked down but
 * never makes it ready: only a heartbeat does.
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
    if (alive && n.state !== 'ready' && (n.id === self || tracker.heard(n.id))) ready.push(n.id);
    else if (!alive && n.state === 'ready') down.push(n.id);
  }
  return { down, ready };
}
