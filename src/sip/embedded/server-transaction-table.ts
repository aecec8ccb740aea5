/**
 * The server transactions the engine holds (RFC 3261 §17.2.3 matching key → transaction), with what
 * they cost: how many, and how many bytes of encoded responses they keep for retransmissions until
 * Timer J. The engine refuses a new request with 503 while either is at its cap (`sip.limits`).
 */
import type { NonInviteServerTransaction } from './non-invite-server-transaction.js';

export interface ServerTransactionCaps {
  maxTransactions: number;
  maxResponseBytes: number;
}

/** Callbacks a transaction reports to; built here so they hold only the table and the key. */
export interface TransactionHooks {
  /** The transaction now keeps `bytes` of response (the last one it sent). */
  onResponseHeld(bytes: number): void;
  onTerminated(): void;
  /** A completed UDP transaction hands over its final response until Timer J (see below). */
  retire(response: Buffer, sendResponse: (response: Buffer) => void): void;
}

/**
 * A live transaction (`tx`), or a completed one that only absorbs retransmissions until Timer J
 * (RFC 3261 §17.2.2): then nothing but the encoded final response and how to re-send it is kept.
 */
interface Entry {
  tx?: NonInviteServerTransaction;
  bytes: number;
  response?: Buffer;
  send?: (response: Buffer) => void;
}

export class ServerTransactionTable {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /**
   * Completed entries in the order they completed, with their Timer J deadline: every one lives the same
   * 64·T1, so the order is also the order of expiry and ONE timer, armed for the head, ends them all.
   */
  private readonly retired: Array<{ key: string; entry: Entry; at: number }> = [];
  private retiredHead = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly caps: ServerTransactionCaps,
    /** Timer J (64·T1), in ms, and the clock. */
    private readonly timerJMs = 32_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of encoded responses held. */
  get responseBytes(): number {
    return this.bytes;
  }

  /** True when a new transaction must be refused. */
  full(): boolean {
    return this.entries.size >= this.caps.maxTransactions || this.bytes >= this.caps.maxResponseBytes;
  }

  /**
   * A request matched transaction `key` (a retransmission, RFC 3261 §17.2.3): undefined when none does,
   * else whether the last response was sent again.
   */
  absorb(key: string): boolean | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.tx) return entry.tx.receiveRetransmission();
    if (entry.response && entry.send) {
      entry.send(entry.response);
      return true;
    }
    return false;
  }

  /** Adds the transaction `create` builds with hooks bound to `key`. */
  add(key: string, create: (hooks: TransactionHooks) => NonInviteServerTransaction): NonInviteServerTransaction {
    const entry: Entry = { bytes: 0 };
    this.entries.set(key, entry);
    entry.tx = create(this.hooks(key));
    return entry.tx;
  }

  /** Ends transaction `key` now, whatever its state (its response bytes are released). */
  end(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
    entry.tx?.terminate();
  }

  /** Every live transaction (engine stop). */
  transactions(): NonInviteServerTransaction[] {
    return [...this.entries.values()].flatMap((e) => (e.tx ? [e.tx] : []));
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    this.retired.length = 0;
    this.retiredHead = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private hooks(key: string): TransactionHooks {
    return {
      onResponseHeld: (bytes) => {
        const entry = this.entries.get(key);
        if (!entry) return;
        this.bytes += bytes - entry.bytes;
        entry.bytes = bytes;
      },
      onTerminated: () => {
        const entry = this.entries.get(key);
        if (!entry) return;
        this.bytes -= entry.bytes;
        this.entries.delete(key);
      },
      retire: (response, send) => {
        const entry = this.entries.get(key);
        if (!entry) return;
        entry.tx = undefined;
        entry.response = response;
        entry.send = send;
        this.retired.push({ key, entry, at: this.now() + this.timerJMs });
        if (!this.timer) this.armTimer();
      },
    };
  }

  private armTimer(): void {
    const head = this.retired[this.retiredHead];
    if (!head) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, head.at - this.now()));
    this.timer.unref?.();
  }

  /** Timer J of every completed entry that is due: the entries end. */
  private expire(): void {
    this.timer = undefined;
    const now = this.now();
    while (this.retiredHead < this.retired.length && this.retired[this.retiredHead].at <= now) {
      const { key, entry } = this.retired[this.retiredHead++];
      if (this.entries.get(key) === entry) {
        this.bytes -= entry.bytes;
        this.entries.delete(key);
      }
    }
    if (this.retiredHead > 1024 && this.retiredHead * 2 > this.retired.length) {
      this.retired.splice(0, this.retiredHead);
      this.retiredHead = 0;
    }
    this.armTimer();
  }
}
