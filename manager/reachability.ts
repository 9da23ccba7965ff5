// MANAGER STATUS Reachable/Unreachable as this manager sees it: every other
// manager is probed with a small request; one that has not answered within a
// few periods is unreachable. Followers do not exchange Raft messages with
// each other, so Raft traffic alone could not tell.
import type { Clock } from '../shared/clock.js';

export interface ProbeTarget {
  raftId: number;
  probe(): Promise<void>;
}

export class ReachabilityProber {
  private readonly lastOk = new Map<number, number>();
  /** Targets with a probe outstanding: one at a time each, and a silent one holds up only itself. */
  private readonly inFlight = new Set<number>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly targets: () => ProbeTarget[],
    private readonly periodMs = 1000,
  ) {}

  start(): void {
    this.cancel = this.clock.setInterval(() => this.round(), this.periodMs);
    this.round();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  reachable(raftId: number): boolean {
    const t = this.lastOk.get(raftId);
    return t !== undefined && this.clock.now() - t <= 3 * this.periodMs;
  }

  private round(): void {
    for (const t of this.targets()) {
      if (this.inFlight.has(t.raftId)) continue;
      this.inFlight.add(t.raftId);
      void (async () => {
        try {
          await t.probe();
          this.lastOk.set(t.raftId, this.clock.now());
        } catch {
          // Unanswered: reachable() ages it out.
        } finally {
          this.inFlight.delete(t.raftId);
        }
      })();
    }
  }
}
