/**
 * Pushes waiting for their deliver-after time, held as push-id + due time only (no bodies: the body
 * stays on disk until due) in a binary min-heap, with ONE timer armed for the earliest. Memory is
 * ≈ 100 bytes per scheduled push, bounded by the caller's limit (`limits.maxScheduled`).
 *
 * Removal (cancel) is lazy: the id leaves the index at once (so {@link DueSchedule.size} is exact) and
 * its heap entry is skipped when it surfaces.
 */
interface Entry {
  due: number;
  pushId: string;
}

/** setTimeout's ceiling (~24.8 days): a later due time re-arms when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DueSchedule {
  private readonly heap: Entry[] = [];
  /** push-id → its due time; the truth for membership. */
  private readonly index = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;

  constructor(
    private readonly onDue: (pushId: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Scheduled pushes now. */
  get size(): number {
    return this.index.size;
  }

  has(pushId: string): boolean {
    return this.index.has(pushId);
  }

  /** Schedules (or re-schedules) `pushId` for `due` (ms since the epoch). */
  add(pushId: string, due: number): void {
    this.index.set(pushId, due);
    this.pushHeap({ due, pushId });
    this.arm();
  }

  /** Forgets `pushId`; true when it was scheduled. */
  remove(pushId: string): boolean {
    return this.index.delete(pushId);
  }

  /** Forgets everything and disarms the timer (shutdown: the store keeps them for the next start). */
  clear(): void {
    this.index.clear();
    this.heap.length = 0;
    this.disarm();
  }

  /** Hands every due push to `onDue`, earliest first, then re-arms for the next. */
  private fire(): void {
    this.disarm();
    const now = this.now();
    for (;;) {
      const top = this.heap[0];
      if (!top) break;
      if (this.index.get(top.pushId) !== top.due) {
        this.popHeap(); // removed or re-scheduled: a stale entry
        continue;
      }
      if (top.due > now) break;
      this.popHeap();
      this.index.delete(top.pushId);
      this.onDue(top.pushId);
    }
    this.arm();
  }

  private arm(): void {
    while (this.heap[0] && this.index.get(this.heap[0].pushId) !== this.heap[0].due) this.popHeap();
    const top = this.heap[0];
    if (!top) {
      this.disarm();
      return;
    }
    if (this.timer && this.armedFor !== undefined && this.armedFor <= top.due) return;
    this.disarm();
    this.armedFor = top.due;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, top.due - this.now()), MAX_TIMER_MS));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }

  private pushHeap(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.due <= entry.due) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private popHeap(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.due < heap[left]!.due ? right : left;
      if (heap[child]!.due >= last.due) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
