/**
 * The PAP answers and result notifications are built from templates (pap-builder.ts); they must be byte
 * for byte what the element-tree writer produced before (test/support/pap-tree-builder.ts), for any
 * values — text that needs escaping, characters XML cannot carry, absent optional attributes, any
 * number of results and addresses, every version.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildBadMessageResponse,
  buildCancelResponse,
  buildPushResponse,
  buildResultNotification,
  buildStatusQueryResponse,
} from '../../src/push/pap/pap-builder.js';
import { MESSAGE_STATES } from '../../src/push/pap/pap-codes.js';
import { SUPPORTED_PAP_VERSIONS } from '../../src/push/pap/pap-types.js';
import {
  treeBadMessageResponse,
  treeCancelResponse,
  treePushResponse,
  treeResultNotification,
  treeStatusQueryResponse,
} from '../support/pap-tree-builder.js';

// Text with everything an attribute value can hold or must not: markup, quotes, TAB/LF/CR, C0 controls,
// lone and paired surrogates, U+FFFE/U+FFFF, non-ASCII.
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({
    unit: fc.constantFrom('a', '&', '<', '>', '"', "'", '\t', '\n', '\r', '\u0001', '\uD800', '\uDC00', '\uFFFF', 'é', '😀'),
    maxLength: 20,
  }),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const version = maybe(fc.constantFrom(...SUPPORTED_PAP_VERSIONS));
const code = fc.integer({ min: 1000, max: 5999 });
const date = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true });
const state = fc.constantFrom(...MESSAGE_STATES);
const qos = fc.record({
  priority: maybe(fc.constantFrom('high' as const, 'medium' as const, 'low' as const)),
  deliveryMethod: maybe(fc.constantFrom('confirmed' as const, 'unconfirmed' as const)),
  bearer: maybe(text),
  bearerRequired: fc.boolean(),
  network: maybe(text),
  networkRequired: fc.boolean(),
});
const RUNS = { numRuns: 300 };

describe('template-built PAP answers equal the element-tree ones byte for byte', () => {
  it('push-response', () => {
    const input = fc.record({
      pushId: text,
      code,
      desc: maybe(text),
      senderAddress: maybe(text),
      senderName: maybe(text),
      replyTime: date,
      progressNote: maybe(fc.record({ stage: text, note: maybe(text), time: maybe(date) })),
      version,
    });
    fc.assert(
      fc.property(input, (i) => {
        expect(buildPushResponse(i)).toBe(treePushResponse(i));
      }),
      RUNS,
    );
  });

  it('badmessage-response (string and Buffer fragments)', () => {
    const input = fc.record({
      code,
      desc: maybe(text),
      badMessageFragment: fc.oneof(
        text,
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      ),
      maxFragmentChars: maybe(fc.integer({ min: 0, max: 300 })),
      version,
    });
    fc.assert(
      fc.property(input, (i) => {
        expect(buildBadMessageResponse(i)).toBe(treeBadMessageResponse(i));
      }),
      RUNS,
    );
  });

  it('cancel-response (no, one or many results, with and without addresses)', () => {
    const input = fc.record({
      pushId: text,
      results: fc.array(fc.record({ code, desc: maybe(text), addresses: maybe(fc.array(text, { maxLength: 3 })) }), { maxLength: 4 }),
      version,
    });
    fc.assert(
      fc.property(input, (i) => {
        expect(buildCancelResponse(i)).toBe(treeCancelResponse(i));
      }),
      RUNS,
    );
  });

  it('statusquery-response', () => {
    const input = fc.record({
      pushId: text,
      senderAddress: maybe(text),
      senderName: maybe(text),
      results: fc.array(fc.record({ address: maybe(text), messageState: state, code, desc: maybe(text), eventTime: maybe(date) }), {
        maxLength: 4,
      }),
      version,
    });
    fc.assert(
      fc.property(input, (i) => {
        expect(buildStatusQueryResponse(i)).toBe(treeStatusQueryResponse(i));
      }),
      RUNS,
    );
  });

  it('resultnotification-message (with and without QoS)', () => {
    const input = fc.record({
      pushId: text,
      address: text,
      messageState: state,
      code,
      desc: maybe(text),
      eventTime: date,
      receivedTime: date,
      senderAddress: maybe(text),
      senderName: maybe(text),
      qos: maybe(qos),
      version,
    });
    fc.assert(
      fc.property(input, (i) => {
        expect(buildResultNotification(i)).toBe(treeResultNotification(i));
      }),
      RUNS,
    );
  });
});
