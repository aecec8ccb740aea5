import type { SipTimerValues } from './timer-values.js';

/** RFC 3261 §17.2.2 (Figure 8) states of the non-INVITE server transaction. */
export enum ServerTransactionState {
  Trying = 'trying',
  Proceeding = 'proceeding',
  Completed = 'completed',
  Terminated = 'terminated',
}

export interface ServerTransactionOptions {
  /** False on UDP: Timer J keeps the transaction 64·T1 to absorb retransmitted requests. */
  reliable: boolean;
  timers: SipTimerValues;
  /**
   * Sends an encoded response back towards the request's source. It lives as long as the transaction
   * (Timer J), so it should hold only where to send, never the request it answers.
   */
  sendResponse: (response: Buffer) => void;
  /** The transaction now keeps `bytes` of encoded response for retransmissions (for the engine's budget). */
  onResponseHeld?: (bytes: number) => void;
  onTerminated?: () => void;
  /**
   * When set, a final response on an unreliable transport is handed over here (with how to re-send it)
   * instead of this object waiting for Timer J itself: the table keeps just the key, the encoded response
   * and where to send it, expired by one shared timer (server-transaction-table.ts), and this object is
   * dropped. `onTerminated` is not called on that path; the table ends the entry.
   */
  retire?: (response: Buffer, sendResponse: (response: Buffer) => void) => void;
}

/**
 * The non-INVITE server transaction of RFC 3261 §17.2.2.
 *
 * "Once in the Trying state, any further request retransmissions are discarded. [...] If a retransmission
 * of the request is received while in the 'Proceeding' state, the most recently sent provisional response
 * MUST be passed to the transport layer for retransmission. [...] While in the 'Completed' state, the
 * server transaction MUST pass the final response to the transport layer for retransmission whenever a
 * retransmission of the request is received. [...] Timer J [is set] to fire in 64*T1 seconds for
 * unreliable transports, and zero seconds for reliable transports."
 */
export class NonInviteServerTransaction {
  private stateValue = ServerTransactionState.Trying;
  private lastResponse?: Buffer;
  private timerJ?: NodeJS.Timeout;

  constructor(private readonly options: ServerTransactionOptions) {}

  get state(): ServerTransactionState {
    return this.stateValue;
  }

  /** A retransmission of the request matched this transaction (§17.2.3). Returns true if it re-sent. */
  receiveRetransmission(): boolean {
    if (this.stateValue === ServerTransactionState.Proceeding || this.stateValue === ServerTransactionState.Completed) {
      if (this.lastResponse) {
        this.options.sendResponse(this.lastResponse);
        return true;
      }
    }
    return false;
  }

  /** The TU answers. Provisional responses keep it in Proceeding; a final moves it to Completed. */
  respond(status: number, encoded: Buffer): void {
    if (this.stateValue === ServerTransactionState.Completed || this.stateValue === ServerTransactionState.Terminated) {
      return;
    }
    // Held for retransmissions until Timer J: an exact-size copy, so it never pins a shared 8 KB
    // Buffer-pool slab (or the larger buffer `encoded` may be a view of).
    this.lastResponse = exactCopy(encoded);
    this.options.sendResponse(this.lastResponse);
    this.options.onResponseHeld?.(this.lastResponse.length);
    if (status < 200) {
      this.stateValue = ServerTransactionState.Proceeding;
      return;
    }
    this.stateValue = ServerTransactionState.Completed;
    if (this.options.reliable) {
      this.terminate();
    } else if (this.options.retire) {
      this.stateValue = ServerTransactionState.Terminated;
      const response = this.lastResponse;
      this.lastResponse = undefined;
      this.options.retire(response, this.options.sendResponse);
    } else {
      this.timerJ = setTimeout(() => this.terminate(), 64 * this.options.timers.t1Ms);
    }
  }

  /** Ends it now (engine stop). */
  terminate(): void {
    if (this.stateValue === ServerTransactionState.Terminated) return;
    this.stateValue = ServerTransactionState.Terminated;
    clearTimeout(this.timerJ);
    this.options.onTerminated?.();
  }
}

function exactCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
