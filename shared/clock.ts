// Time as an injected dependency. Production code gets SystemClock; simulations and unit
// tests get ManualClock, whose time moves only when the test says so, which makes timer
// order (elections, heartbeats, retries) reproducible from a seed.

/** Cancels a scheduled timer. Calling it again, or after the timer fired, does nothing. */
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds. SystemClock: since the Unix epoch. ManualClock: virtual, from its start. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Cancel;
  setInterval(fn: () => void, ms: number): Cancel;
}

/** Real time and real timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  }

  setInterval(fn: () => void, ms: number): Cancel {
    const handle = setInterval(fn, ms);
    return () => clearInterval(handle);
  }
}

interface ManualTimer {
  due: number;
  /** Insertion order; breaks ties between timers due at the same instant. */
  seq: number;
  /** Re-arm period for intervals; undefined for one-shot timers. */
  period: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time. Nothing fires on its own: `advance(ms)` moves time forward and runs every
 * timer that falls due on the way, in due-time order, earliest-scheduled first on ties.
 * `now()` inside a callback reads that timer's due time, as it would on a real clock.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextSeq = 0;
  // A plain array scanned for the minimum: simulations hold tens of timers, not thousands,
  // and a scan keeps the tie-break rule obvious.
  private timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    return this.schedule(fn, Math.max(0, ms), undefined);
  }

  setInterval(fn: () => void, ms: number): Cancel {
    // A zero period would re-fire forever within one advance(); Node clamps to 1 ms too.
    const period = Math.max(1, ms);
    return this.schedule(fn, period, period);
  }

  /**
   * Move time forward by `ms`, firing due timers. Timers that callbacks schedule inside the
   * window also fire in this call. Ends with now() == start + ms.
   */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`ManualClock.advance needs a finite ms >= 0, got ${ms}`);
    const target = this.current + ms;
    for (;;) {
      const timer = this.earliest();
      if (timer === undefined || timer.due > target) break;
      this.current = timer.due;
      if (timer.period === undefined) {
        this.remove(timer);
      } else {
        // Re-armed intervals queue behind timers already waiting for the same instant.
        timer.due += timer.period;
        timer.seq = this.nextSeq++;
      }
      timer.fn();
    }
    this.current = target;
  }

  /** Advance exactly to the next due timer and fire everything due then. False if none is pending. */
  advanceToNext(): boolean {
    const next = this.nextDue();
    if (next === undefined) return false;
    this.advance(next - this.current);
    return true;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  /** Number of timers still scheduled (intervals count until cancelled). */
  pending(): number {
    return this.timers.length;
  }

  private schedule(fn: () => void, delay: number, period: number | undefined): Cancel {
    const timer: ManualTimer = { due: this.current + delay, seq: this.nextSeq++, period, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      if (timer.cancelled) return;
      timer.cancelled = true;
      this.remove(timer);
    };
  }

  private earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private remove(timer: ManualTimer): void {
    const i = this.timers.indexOf(timer);
    if (i >= 0) this.timers.splice(i, 1);
  }
}
