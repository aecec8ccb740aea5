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
}

interface Entry {
  tx: NonInviteServerTransaction;
  bytes: number;
}

export class ServerTransactionTable {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly caps: ServerTransactionCaps) {}

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

  get(key: string): NonInviteServerTransaction | undefined {
    return this.entries.get(key)?.tx;
  }

  /** Adds the transaction `create` builds with hooks bound to `key`. */
  add(key: string, create: (hooks: TransactionHooks) => NonInviteServerTransaction): NonInviteServerTransaction {
    const tx = create(this.hooks(key));
    this.entries.set(key, { tx, bytes: 0 });
    return tx;
  }

  /** Every transaction (engine stop). */
  transactions(): NonInviteServerTransaction[] {
    return [...this.entries.values()].map((e) => e.tx);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
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
    };
  }
}
