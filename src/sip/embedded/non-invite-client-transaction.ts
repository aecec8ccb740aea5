import { SipRequestError } from '../port.js';
import type { SipTimerValues } from './timer-values.js';

/** RFC 3261 §17.1.2.2 (Figure 6) states of the non-INVITE client transaction. */
export enum ClientTransactionState {
  Trying = 'trying',
  Proceeding = 'proceeding',
  Completed = 'completed',
  Terminated = 'terminated',
}

export interface ClientTransactionOptions {
  /** False on UDP: Timer E retransmits and Timer K lingers. */
  reliable: boolean;
  timers: SipTimerValues;
  /** Hands the encoded request to the transport; a rejection is a transport error (§17.1.4). */
  send: () => Promise<void>;
  onRetransmit?: () => void;
  /** Called once when the transaction is gone (after Timer K, a timeout or a transport error). */
  onTerminated?: () => void;
  onProvisional?: (status: number) => void;
}

/**
 * The non-INVITE client transaction of RFC 3261 §17.1.2.2.
 *
 * "If an unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds.
 * [...] If timer E fires while still in this state, the timer is reset, but this time with a value of
 * MIN(2*T1, T2). [...] If Timer E fires while in the Proceeding state, the request MUST be passed to the
 * transport layer for retransmission, and Timer E MUST be reset with a value of T2 seconds."
 * Timer F (64·T1) ends it with a timeout; Timer K (T4 on UDP, 0 on TCP) absorbs retransmitted finals.
 */
export class NonInviteClientTransaction<R extends { status: number }> {
  private stateValue = ClientTransactionState.Trying;
  private timerE?: NodeJS.Timeout;
  private timerF?: NodeJS.Timeout;
  private timerK?: NodeJS.Timeout;
  private intervalE: number;
  private settle?: { resolve: (response: R) => void; reject: (error: Error) => void };
  /** Dropped once a final arrives: Timer K only absorbs retransmitted finals, it never resends. */
  private send?: () => Promise<void>;
  /** A send reached the transport at least once: a later failure leaves the request's fate unknown. */
  private left = false;

  private readonly options: Omit<ClientTransactionOptions, 'send'>;

  constructor(options: ClientTransactionOptions) {
    const { send, ...rest } = options;
    this.options = rest;
    this.send = send;
    this.intervalE = options.timers.t1Ms;
  }

  get state(): ClientTransactionState {
    return this.stateValue;
  }

  /** Sends the request and resolves with the final response, or rejects with a {@link SipRequestError}. */
  start(): Promise<R> {
    const result = new Promise<R>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.transmit();
    if (!this.options.reliable) this.scheduleE();
    this.timerF = setTimeout(() => {
      this.fail(new SipRequestError('timeout', `no final response within Timer F (${64 * this.options.timers.t1Ms} ms)`));
    }, 64 * this.options.timers.t1Ms);
    return result;
  }

  /** A response matched to this transaction (§17.1.3). */
  receiveResponse(response: R): void {
    const { status } = response;
    if (this.stateValue === ClientTransactionState.Trying || this.stateValue === ClientTransactionState.Proceeding) {
      if (status < 200) {
        this.stateValue = ClientTransactionState.Proceeding;
        this.options.onProvisional?.(status);
        return;
      }
      this.complete(response);
    }
    // Completed: a retransmitted final is absorbed (Timer K); Terminated: ignored.
  }

  /** The transport reported a failure for this flow (§17.1.4). */
  transportError(cause: unknown): void {
    if (this.stateValue === ClientTransactionState.Trying || this.stateValue === ClientTransactionState.Proceeding) {
      this.fail(new SipRequestError('transport', `transport error: ${describe(cause)}`, { cause, requestLeft: this.left }));
    }
  }

  /** Ends the transaction now (engine stop): a pending request fails with `transport`. */
  abort(reason: string): void {
    if (this.stateValue === ClientTransactionState.Terminated) return;
    if (this.stateValue === ClientTransactionState.Completed) {
      this.terminate();
      return;
    }
    this.fail(new SipRequestError('transport', reason, { requestLeft: this.left }));
  }

  private transmit(): void {
    this.send?.().then(
      () => {
        this.left = true;
      },
      (error: unknown) => this.transportError(error),
    );
  }

  private scheduleE(): void {
    this.timerE = setTimeout(() => {
      if (this.stateValue !== ClientTransactionState.Trying && this.stateValue !== ClientTransactionState.Proceeding) return;
      this.options.onRetransmit?.();
      this.transmit();
      const { t2Ms } = this.options.timers;
      this.intervalE = this.stateValue === ClientTransactionState.Proceeding ? t2Ms : Math.min(2 * this.intervalE, t2Ms);
      this.scheduleE();
    }, this.intervalE);
  }

  private complete(response: R): void {
    this.stateValue = ClientTransactionState.Completed;
    this.clearTimers();
    this.settle?.resolve(response);
    // Timer K (up to T4 on UDP) must not keep the response, the caller's promise or the encoded request
    // alive: under load thousands of completed transactions linger (measured: ≈ 4 KB each).
    this.release();
    if (this.options.reliable) {
      this.terminate();
    } else {
      this.timerK = setTimeout(() => this.terminate(), this.options.timers.t4Ms);
    }
  }

  private fail(error: SipRequestError): void {
    this.clearTimers();
    this.settle?.reject(error);
    this.release();
    this.terminate();
  }

  private release(): void {
    this.settle = undefined;
    this.send = undefined;
  }

  private terminate(): void {
    if (this.stateValue === ClientTransactionState.Terminated) return;
    this.stateValue = ClientTransactionState.Terminated;
    this.clearTimers();
    this.options.onTerminated?.();
  }

  private clearTimers(): void {
    clearTimeout(this.timerE);
    clearTimeout(this.timerF);
    clearTimeout(this.timerK);
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
