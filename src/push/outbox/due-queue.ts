/**
 * Outbox items waiting in memory, earliest due first (a binary min-heap on `nextAttemptAt`, then `id`),
 * so the dispatcher finds the next due item without asking SQLite. Removal and replacement are lazy: the
 * heap keeps a stale entry until it surfaces or the heap is rebuilt (when stale entries outnumber live
 * ones), so memory stays proportional to the items held.
 */
interface Entry {
  id: number;
  nextAttemptAt: number;
}

const before = (a: Entry, b: Entry): boolean => a.nextAttemptAt < b.nextAttemptAt || (a.nextAttemptAt === b.nextAttemptAt && a.id < b.id);

export class DueQueue<T extends Entry> {
  #heap: T[] = [];
  readonly #live = new Map<number, T>();

  get size(): number {
    return this.#live.size;
  }

  has(id: number): boolean {
    return this.#live.has(id);
  }

  ids(): IterableIterator<number> {
    return this.#live.keys();
  }

  /** Adds `item`, replacing an item with the same id. */
  add(item: T): void {
    this.#live.set(item.id, item);
    this.#heap.push(item);
    this.#up(this.#heap.length - 1);
    if (this.#heap.length > 2 * this.#live.size + 64) this.#rebuild();
  }

  remove(id: number): boolean {
    return this.#live.delete(id);
  }

  /** The earliest due item, left in place. */
  peek(): T | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || this.#live.get(top.id) === top) return top;
      this.#popTop(); // stale: removed or replaced
    }
  }

  /** Takes the earliest due item out. */
  pop(): T | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    this.#popTop();
    this.#live.delete(top.id);
    return top;
  }

  #popTop(): void {
    const last = this.#heap.pop() as T;
    if (this.#heap.length === 0) return;
    this.#heap[0] = last;
    this.#down(0);
  }

  #rebuild(): void {
    this.#heap = [...this.#live.values()];
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent] as T)) break;
      heap[i] = heap[parent] as T;
      i = parent;
    }
    heap[i] = item;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const item = heap[i] as T;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && before(heap[child + 1] as T, heap[child] as T)) child += 1;
      if (!before(heap[child] as T, item)) break;
      heap[i] = heap[child] as T;
      i = child;
    }
    heap[i] = item;
  }
}
