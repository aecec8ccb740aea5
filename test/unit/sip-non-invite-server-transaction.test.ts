import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NonInviteServerTransaction, ServerTransactionState } from '../../src/sip/embedded/non-invite-server-transaction.js';
import { DEFAULT_TIMER_VALUES } from '../../src/sip/embedded/timer-values.js';

describe('NonInviteServerTransaction (RFC 3261 §17.2.2)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends nothing for a retransmission while Trying', () => {
    const sendResponse = vi.fn();
    const tx = new NonInviteServerTransaction({ reliable: false, timers: DEFAULT_TIMER_VALUES, sendResponse });
    expect(tx.receiveRetransmission()).toBe(false);
    expect(sendResponse).not.toHaveBeenCalled();
  });

  it('re-sends the last provisional while Proceeding and the final while Completed', () => {
    const sendResponse = vi.fn();
    const tx = new NonInviteServerTransaction({ reliable: false, timers: DEFAULT_TIMER_VALUES, sendResponse });
    const trying = Buffer.from('SIP/2.0 100 Trying');
    const ok = Buffer.from('SIP/2.0 200 OK');
    tx.respond(100, trying);
    expect(tx.state).toBe(ServerTransactionState.Proceeding);
    expect(tx.receiveRetransmission()).toBe(true);
    expect(sendResponse.mock.calls.map((c) => c[0])).toEqual([trying, trying]);
    tx.respond(200, ok);
    expect(tx.state).toBe(ServerTransactionState.Completed);
    expect(tx.receiveRetransmission()).toBe(true);
    expect(sendResponse.mock.calls.map((c) => c[0])).toEqual([trying, trying, ok, ok]);
  });

  it('ignores a second final from the TU', () => {
    const sendResponse = vi.fn();
    const tx = new NonInviteServerTransaction({ reliable: false, timers: DEFAULT_TIMER_VALUES, sendResponse });
    tx.respond(200, Buffer.from('200'));
    tx.respond(500, Buffer.from('500'));
    expect(sendResponse).toHaveBeenCalledOnce();
  });

  it('lives for Timer J = 64·T1 on UDP, absorbing retransmissions, then terminates', async () => {
    const sendResponse = vi.fn();
    const onTerminated = vi.fn();
    const tx = new NonInviteServerTransaction({ reliable: false, timers: DEFAULT_TIMER_VALUES, sendResponse, onTerminated });
    tx.respond(200, Buffer.from('SIP/2.0 200 OK'));
    await vi.advanceTimersByTimeAsync(31_999);
    expect(tx.receiveRetransmission()).toBe(true);
    expect(onTerminated).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(tx.state).toBe(ServerTransactionState.Terminated);
    expect(onTerminated).toHaveBeenCalledOnce();
    expect(tx.receiveRetransmission()).toBe(false);
  });

  it('terminates at once on TCP (Timer J = 0)', () => {
    const onTerminated = vi.fn();
    const tx = new NonInviteServerTransaction({ reliable: true, timers: DEFAULT_TIMER_VALUES, sendResponse: vi.fn(), onTerminated });
    tx.respond(200, Buffer.from('SIP/2.0 200 OK'));
    expect(tx.state).toBe(ServerTransactionState.Terminated);
    expect(onTerminated).toHaveBeenCalledOnce();
  });
});
