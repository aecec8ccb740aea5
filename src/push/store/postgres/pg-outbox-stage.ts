/**
 * New outbox items on PostgreSQL, between the commit that inserted them and the dispatcher's next look:
 * the store adds the items a transaction inserted once that transaction has COMMITTED (a rolled-back
 * insert is never added), and the outbox port hands them over without reading the table. Bounded: past
 * `max` items the stage overflows and the dispatcher reads the table instead.
 */
import type { OutboxItem } from '../../outbox/outbox-item.js';

export class PgOutboxStage {
  readonly #max: number;
  #items: OutboxItem[] = [];
  #overflowed = false;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** Items of one committed transaction. */
  add(items: readonly OutboxItem[]): void {
    for (const item of items) {
      if (this.#items.length >= this.#max) {
        this.#overflowed = true;
        return;
      }
      this.#items.push(item);
    }
  }

  /** Everything staged since the last take, and whether some did not fit. */
  take(): { items: OutboxItem[]; overflowed: boolean } {
    const taken = { items: this.#items, overflowed: this.#overflowed };
    this.#items = [];
    this.#overflowed = false;
    return taken;
  }
}
