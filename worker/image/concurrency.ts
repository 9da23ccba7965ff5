// Two small concurrency tools for the image store: a semaphore bounding how
// many downloads and unpacks run at once, and single-flight maps so that
// concurrent requests for the same layer or image share one piece of work.

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, not ${limit}`);
  }

  /** Run `fn` once a slot is free; `onQueued` is called when it has to wait for one. */
  async run<T>(fn: () => Promise<T>, onQueued?: () => void): Promise<T> {
    if (this.active >= this.limit) {
      onQueued?.();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so `active` stays as it is.
      if (next !== undefined) next();
      else this.active -= 1;
    }
  }
}

/** Concurrent calls with the same key share one promise until it settles. */
export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Promise<V>>();

  run(key: K, fn: () => Promise<V>): { promise: Promise<V>; joined: boolean } {
    const existing = this.flights.get(key);
    if (existing !== undefined) return { promise: existing, joined: true };
    const promise = fn().finally(() => {
      if (this.flights.get(key) === promise) this.flights.delete(key);
    });
    this.flights.set(key, promise);
    return { promise, joined: false };
  }

  has(key: K): boolean {
    return this.flights.has(key);
  }

  keys(): K[] {
    return [...this.flights.keys()];
  }
}

