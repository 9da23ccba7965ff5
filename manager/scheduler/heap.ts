// A binary min-heap with the two moves batch placement needs: look at the best
// item, and put it back after its key grew (or drop it). Building from an
// array is O(n), each move O(log n): placing N tasks on M nodes costs
// O(M + N log M) instead of re-sorting the nodes for every task.
export class MinHeap<T> {
  private readonly items: T[];

  /** Takes ownership of `items`. */
  constructor(
    items: T[],
    private readonly less: (a: T, b: T) => boolean,
  ) {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  /** The top item's key grew: move it down to where it belongs now. */
  topIncreased(): void {
    if (this.items.length > 1) this.down(0);
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(items[child + 1]!, items[child]!)) child++;
      if (!this.less(items[child]!, item)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = item;
  }
}
