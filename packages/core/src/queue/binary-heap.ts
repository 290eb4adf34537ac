/** A minimal binary min-heap under a caller's ordering; the queue's indexes are built on it. */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  private readonly before: (a: T, b: T) => boolean;
  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(items[index] as T, items[parent] as T)) break;
      [items[index], items[parent]] = [items[parent] as T, items[index] as T];
      index = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let best = index;
        if (left < items.length && this.before(items[left] as T, items[best] as T)) best = left;
        if (right < items.length && this.before(items[right] as T, items[best] as T)) best = right;
        if (best === index) break;
        [items[index], items[best]] = [items[best] as T, items[index] as T];
        index = best;
      }
    }
    return top;
  }
}
