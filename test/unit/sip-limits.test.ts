/**
 * The pure parts of the SIP bounds: sizing a datagram before parsing it, the routing headers a 513 is
 * built from, the server-transaction table's count and byte accounting, and the `sip.limits` config.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../../src/config/load-config.js';
import { AgentError } from '../../src/errors.js';
import { EngineCounters } from '../../src/sip/engine-stats.js';
import { decodeMessage } from '../../src/sip/embedded/message-codec.js';
import { NonInviteServerTransaction } from '../../src/sip/embedded/non-invite-server-transaction.js';
import { measureMessage, responseHeadersOnly } from '../../src/sip/embedded/oversize.js';
import { ServerTransactionTable } from '../../src/sip/embedded/server-transaction-table.js';
import { DEFAULT_SIP_LIMITS, resolveSipLimits } from '../../src/sip/embedded/sip-limits.js';
import { DEFAULT_TIMER_VALUES } from '../../src/sip/embedded/timer-values.js';

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('measureMessage', () => {
  it('counts the header block and the body, not leading keep-alive CRLFs', () => {
    expect(measureMessage(crlf('', '', 'OPTIONS sip:a SIP/2.0', 'Via: x', '', 'body'))).toEqual({ headerBytes: 29, bodyBytes: 4 });
  });

  it('counts a message with no blank line as all header', () => {
    expect(measureMessage(crlf('OPTIONS sip:a SIP/2.0', 'X: 1'))).toEqual({ headerBytes: 27, bodyBytes: 0 });
  });
});

describe('responseHeadersOnly', () => {
  const request = crlf(
    'NOTIFY sip:agent@127.0.0.2 SIP/2.0',
    'v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1',
    'Max-Forwards: 70',
    `X-Filler: ${'a'.repeat(5000)}`,
    'From: <sip:a@h>;tag=1',
    'To: <sip:b@h>',
    ' ;tag=2',
    'i: c1',
    'CSeq: 3 NOTIFY',
    'Content-Length: 4',
    '',
    'body',
  );

  it('keeps the start line and Via/From/To/Call-ID/CSeq/Max-Forwards (compact forms, folded lines), drops the rest and the body', () => {
    const reduced = responseHeadersOnly(request, 1024)!;
    const text = reduced.toString('latin1');
    expect(text).not.toContain('X-Filler');
    expect(text).not.toContain('body');
    const decoded = decodeMessage(reduced)!;
    expect(decoded.message.method).toBe('NOTIFY');
    expect(decoded.message.headers.to?.params?.tag).toBe('2');
    expect(decoded.message.headers['call-id']).toBe('c1');
    expect(decoded.message.headers.cseq).toEqual({ seq: 3, method: 'NOTIFY' });
    expect(decoded.body.length).toBe(0);
  });

  it('gives up when the kept headers alone are over the limit, or there is no header end', () => {
    expect(responseHeadersOnly(request, 100)).toBeUndefined();
    expect(responseHeadersOnly(crlf('OPTIONS sip:a SIP/2.0', 'Via: x'), 1024)).toBeUndefined();
  });
});

describe('ServerTransactionTable', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const add = (table: ServerTransactionTable, key: string) =>
    table.add(
      key,
      (hooks) => new NonInviteServerTransaction({ reliable: false, timers: DEFAULT_TIMER_VALUES, sendResponse: () => undefined, ...hooks }),
    );

  it('is full at the transaction cap, and frees the slot at Timer J', () => {
    const table = new ServerTransactionTable({ maxTransactions: 2, maxResponseBytes: 1_000_000 });
    add(table, 'a').respond(200, Buffer.alloc(10));
    expect(table.full()).toBe(false);
    add(table, 'b').respond(481, Buffer.alloc(20));
    expect(table.full()).toBe(true);
    expect(table.responseBytes).toBe(30);
    vi.advanceTimersByTime(64 * DEFAULT_TIMER_VALUES.t1Ms);
    expect(table.size).toBe(0);
    expect(table.responseBytes).toBe(0);
    expect(table.full()).toBe(false);
  });

  it('is full at the response-byte budget; a provisional replaced by a final counts once', () => {
    const table = new ServerTransactionTable({ maxTransactions: 100, maxResponseBytes: 100 });
    const tx = add(table, 'a');
    tx.respond(100, Buffer.alloc(30));
    tx.respond(200, Buffer.alloc(60));
    expect(table.responseBytes).toBe(60);
    expect(table.full()).toBe(false);
    add(table, 'b').respond(200, Buffer.alloc(40));
    expect(table.full()).toBe(true);
    table.end('a');
    expect(table.responseBytes).toBe(40);
    expect(table.full()).toBe(false);
  });

  it('a completed UDP transaction keeps only its response: one shared Timer J for all, retransmissions still answered', () => {
    const table = new ServerTransactionTable({ maxTransactions: 1000, maxResponseBytes: 1_000_000 }, 64 * DEFAULT_TIMER_VALUES.t1Ms);
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      table
        .add(
          `k${i}`,
          (hooks) =>
            new NonInviteServerTransaction({
              reliable: false,
              timers: DEFAULT_TIMER_VALUES,
              sendResponse: (b) => sent.push(b.toString()),
              ...hooks,
            }),
        )
        .respond(200, Buffer.from(`200 for ${i}`));
    }
    expect(vi.getTimerCount()).toBe(1); // not one Timer J per transaction
    expect(table.transactions()).toHaveLength(0); // no transaction object is kept
    expect(table.absorb('k7')).toBe(true);
    expect(sent.at(-1)).toBe('200 for 7');
    expect(table.absorb('nope')).toBeUndefined();
    vi.advanceTimersByTime(64 * DEFAULT_TIMER_VALUES.t1Ms - 1);
    expect(table.size).toBe(100);
    vi.advanceTimersByTime(1);
    expect(table.size).toBe(0);
    expect(table.responseBytes).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps an exact-size copy of the response, not a view of a larger buffer', () => {
    const table = new ServerTransactionTable({ maxTransactions: 10, maxResponseBytes: 1000 });
    const sent: Buffer[] = [];
    const tx = table.add(
      'a',
      (hooks) =>
        new NonInviteServerTransaction({ reliable: false, timers: DEFAULT_TIMER_VALUES, sendResponse: (b) => sent.push(b), ...hooks }),
    );
    const slab = Buffer.alloc(8192, 0x41);
    tx.respond(200, slab.subarray(0, 16));
    expect(sent[0]!.buffer.byteLength).toBe(16);
    expect(sent[0]!.equals(slab.subarray(0, 16))).toBe(true);
  });
});

describe('EngineCounters labels', () => {
  it('count unknown methods and impossible status codes as other, so a peer cannot grow them', () => {
    const counters = new EngineCounters();
    for (let i = 0; i < 1000; i += 1) {
      counters.requestReceived(`X${i}`);
      counters.responseReceived(1000 + i);
    }
    counters.requestReceived('NOTIFY');
    counters.responseReceived(481);
    const snapshot = counters.snapshot();
    expect(snapshot.requestsReceived).toEqual({ other: 1000, NOTIFY: 1 });
    expect(snapshot.responsesReceived).toEqual({ other: 1000, '481': 1 });
  });
});

describe('sip.limits config', () => {
  it('has safe defaults, the same the engine uses when given none', () => {
    const { limits } = validateConfig({}).sip;
    expect(limits).toEqual(DEFAULT_SIP_LIMITS);
    expect(resolveSipLimits({ tcp: { messageTimeoutMs: 5 } }).tcp).toEqual({ ...DEFAULT_SIP_LIMITS.tcp, messageTimeoutMs: 5 });
  });

  it('refuses a bad value naming the field', () => {
    let error: unknown;
    try {
      validateConfig({ sip: { limits: { tcp: { maxConnections: 0 } } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).field).toBe('sip.limits.tcp.maxConnections');
  });
});
