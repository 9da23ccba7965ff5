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
  private cancel: (() => void) | undefined;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly targets: () => ProbeTarget[],
    private readonly periodMs = 1000,
  ) {}

  start(): void {
    this.cancel = this.clock.setInterval(() => void this.round(), this.periodMs);
    void this.round();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  reachable(raftId: number): boolean {
    const t = this.lastOk.get(raftId);
    return t !== undefined && this.clock.now() - t <= 3 * this.periodMs;
  }

  private async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(
        this.targets().map(async (t) => {
          try {
            await t.probe();
            this.lastOk.set(t.raftId, this.clock.now());
          } catch {
            // Unanswered: reachable() ages it out.
          }
        }),
      );
    } finally {
      this.running = false;
    }
  }
}
