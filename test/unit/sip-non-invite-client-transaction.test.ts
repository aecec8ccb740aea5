import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SipRequestError } from '../../src/sip/port.js';
import { ClientTransactionState, NonInviteClientTransaction } from '../../src/sip/embedded/non-invite-client-transaction.js';
import { DEFAULT_TIMER_VALUES } from '../../src/sip/embedded/timer-values.js';

/** A fake transport: records the (fake) time of every transmission. */
function fakeTransport() {
  const sentAt: number[] = [];
  const send = vi.fn(() => {
    sentAt.push(Date.now());
    return Promise.resolve();
  });
  return { sentAt, send };
}

function intervals(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

describe('NonInviteClientTransaction (RFC 3261 §17.1.2.2)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retransmits on UDP at 500, 1000, 2000, 4000, 4000 ms (Timer E capped at T2)', async () => {
    const transport = fakeTransport();
    const tx = new NonInviteClientTransaction<{ status: number }>({ reliable: false, timers: DEFAULT_TIMER_VALUES, send: transport.send });
    const result = tx.start();
    await vi.advanceTimersByTimeAsync(15_500);
    expect(intervals(transport.sentAt)).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    tx.receiveResponse({ status: 200 });
    await expect(result).resolves.toEqual({ status: 200 });
  });

  it('keeps retransmitting at T2 after a 1xx (Proceeding)', async () => {
    const transport = fakeTransport();
    const provisional = vi.fn();
    const tx = new NonInviteClientTransaction<{ status: number }>({
      reliable: false,
      timers: DEFAULT_TIMER_VALUES,
      send: transport.send,
      onProvisional: provisional,
    });
    const result = tx.start();
    await vi.advanceTimersByTimeAsync(100);
    tx.receiveResponse({ status: 100 });
    expect(tx.state).toBe(ClientTransactionState.Proceeding);
    expect(provisional).toHaveBeenCalledWith(100);
    await vi.advanceTimersByTimeAsync(12_400); // until t = 12.5 s
    // the pending Timer E fires at 500 ms, then every T2 = 4000 ms
    expect(transport.sentAt).toEqual([0, 500, 4500, 8500, 12_500]);
    tx.receiveResponse({ status: 202 });
    await expect(result).resolves.toEqual({ status: 202 });
  });

  it('fails with a timeout at Timer F = 64·T1 when nothing final arrives', async () => {
    const transport = fakeTransport();
    const onTerminated = vi.fn();
    const tx = new NonInviteClientTransaction<{ status: number }>({
      reliable: false,
      timers: DEFAULT_TIMER_VALUES,
      send: transport.send,
      onTerminated,
    });
    const result = tx.start();
    const assertion = expect(result).rejects.toMatchObject({ code: 'SIP_TIMEOUT', kind: 'timeout' });
    await vi.advanceTimersByTimeAsync(31_999);
    expect(onTerminated).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await assertion;
    expect(onTerminated).toHaveBeenCalledOnce();
    expect(tx.state).toBe(ClientTransactionState.Terminated);
    const sends = transport.send.mock.calls.length;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(transport.send.mock.calls.length).toBe(sends);
  });

  it('does not retransmit over TCP, and still times out at 64·T1', async () => {
    const transport = fakeTransport();
    const tx = new NonInviteClientTransaction<{ status: number }>({
      reliable: true,
      timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 },
      send: transport.send,
    });
    const result = tx.start();
    const assertion = expect(result).rejects.toBeInstanceOf(SipRequestError);
    await vi.advanceTimersByTimeAsync(3200);
    await assertion;
    expect(transport.send).toHaveBeenCalledOnce();
  });

  it('absorbs a retransmitted 200 during Timer K (T4 on UDP), then terminates', async () => {
    const transport = fakeTransport();
    const onTerminated = vi.fn();
    const tx = new NonInviteClientTransaction<{ status: number; copy?: number }>({
      reliable: false,
      timers: DEFAULT_TIMER_VALUES,
      send: transport.send,
      onTerminated,
    });
    const result = tx.start();
    tx.receiveResponse({ status: 200, copy: 1 });
    await expect(result).resolves.toEqual({ status: 200, copy: 1 });
    expect(tx.state).toBe(ClientTransactionState.Completed);
    tx.receiveResponse({ status: 200, copy: 2 }); // retransmission: absorbed, no error, no new send
    await vi.advanceTimersByTimeAsync(4999);
    expect(tx.state).toBe(ClientTransactionState.Completed);
    expect(transport.send).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(1);
    expect(tx.state).toBe(ClientTransactionState.Terminated);
    expect(onTerminated).toHaveBeenCalledOnce();
  });

  it('terminates at once on TCP after the final (Timer K = 0)', async () => {
    const transport = fakeTransport();
    const tx = new NonInviteClientTransaction<{ status: number }>({ reliable: true, timers: DEFAULT_TIMER_VALUES, send: transport.send });
    const result = tx.start();
    tx.receiveResponse({ status: 404 });
    await expect(result).resolves.toEqual({ status: 404 });
    expect(tx.state).toBe(ClientTransactionState.Terminated);
  });

  it('rejects with a transport error when the send fails', async () => {
    const tx = new NonInviteClientTransaction<{ status: number }>({
      reliable: false,
      timers: DEFAULT_TIMER_VALUES,
      send: () => Promise.reject(new Error('ECONNREFUSED')),
    });
    await expect(tx.start()).rejects.toMatchObject({ code: 'SIP_TRANSPORT', kind: 'transport' });
    expect(tx.state).toBe(ClientTransactionState.Terminated);
  });

  it('fails a pending request with transport on abort (engine stop)', async () => {
    const transport = fakeTransport();
    const tx = new NonInviteClientTransaction<{ status: number }>({ reliable: false, timers: DEFAULT_TIMER_VALUES, send: transport.send });
    const result = tx.start();
    tx.abort('engine stopped');
    await expect(result).rejects.toMatchObject({ code: 'SIP_TRANSPORT' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transport.send).toHaveBeenCalledOnce();
  });
});
