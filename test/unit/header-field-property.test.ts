/**
 * Property tests for every PI-supplied PAP field that reaches a header (header-safe.ts): the bearer and
 * network names, the push-id, the notify URL, the content entity's Content-Type and X-Wap-Application-Id,
 * and the client address. Whatever a PI writes there, the parser either refuses it with a stable
 * AgentError code (PAP 2000 / 2002 at intake) or yields values that carry no CR, LF, NUL or other control
 * character into the SIP MESSAGE's headers or the bearer-hint header.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../src/errors.js';
import { loadProfile } from '../../src/profiles/load-profile.js';
import { mapAddressToAor } from '../../src/push/address.js';
import { buildMultipartRelated } from '../../src/push/pap/multipart.js';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import { escapeXmlAttribute } from '../../src/push/pap/xml-escape.js';
import { buildPushMessageRequest } from '../../src/push/delivery/sip-message-builder.js';

const profile = loadProfile('kamailio-lab');
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Strings heavy in what breaks headers: CR, LF, NUL, other controls, quotes, angle brackets, non-ASCII. */
const hostile = fc.string({
  unit: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom('\r', '\n', '\u0000', '\u0001', '\u007f', '\t', ' ', '"', '<', '>', ':', ';', '@', '%0D', 'é', '\u2028'),
    },
    { weight: 5, arbitrary: fc.constantFrom(...'abcSMSXYZ0123-_./='.split('')) },
  ),
  maxLength: 40,
});

/**
 * A field is hostile one time in four and a plain token otherwise, so that (with seven fields per push)
 * enough pushes get through for the carried values to be checked: with every field hostile nearly every
 * push is refused somewhere and the "reach the MESSAGE" half of the property goes untested.
 */
const field = fc.oneof({ weight: 1, arbitrary: hostile }, { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{1,12}$/) });

function pap(fields: {
  bearer: string;
  network: string;
  pushId: string;
  notify: string;
  contentType: string;
  appId: string;
  user: string;
}) {
  const attr = (value: string) => escapeXmlAttribute(value);
  const control =
    '<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 2.0//EN" "http://www.wapforum.org/DTD/pap_2.0.dtd">\n' +
    `<pap><push-message push-id="${attr(fields.pushId)}" ppg-notify-requested-to="${attr(`http://ppg.example/${fields.notify}`)}">` +
    `<address address-value="${attr(`WAPPUSH=${encodeURIComponent(`sip:${fields.user}@127.0.0.1`)}/TYPE=USER`)}"/>` +
    `<quality-of-service bearer="${attr(fields.bearer)}" network="${attr(fields.network)}"/></push-message></pap>`;
  // MIME part headers cannot carry CR/LF themselves; whatever else is in the value goes in as latin1 bytes.
  const oneLine = (value: string) => value.replace(/[\r\n]/g, '');
  const built = buildMultipartRelated([
    { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(control) },
    {
      headers: {
        'Content-Type': oneLine(`text/plain${fields.contentType}`),
        'X-Wap-Application-Id': oneLine(`x-wap-application:${fields.appId}`),
      },
      body: Buffer.from('hi'),
    },
  ]);
  return built;
}

describe('PI fields that reach a header (property)', () => {
  it('are refused with a stable code, or reach the SIP MESSAGE and the hint header without control characters', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.record({ bearer: field, network: field, pushId: field, notify: field, contentType: field, appId: field, user: field }),
        (fields) => {
          let built: ReturnType<typeof pap>;
          try {
            built = pap(fields);
          } catch (err) {
            // The test's own MIME writer refuses what no PI could send as a part header either.
            expect(err).toBeInstanceOf(AgentError);
            return;
          }
          let request: ReturnType<typeof parsePapRequest>;
          try {
            request = parsePapRequest(built.contentType, built.body);
          } catch (err) {
            expect(err).toBeInstanceOf(AgentError);
            expect(['PAP_INVALID', 'MULTIPART_INVALID', 'ADDRESS_INVALID']).toContain((err as AgentError).code);
            return;
          }
          if (request.kind !== 'push') throw new Error('expected a push');
          const push = request.push;
          for (const value of [push.pushId, push.qos.bearer ?? '', push.qos.network ?? '', push.notifyTo ?? '', push.content.contentType]) {
            expect(value).not.toMatch(CONTROL);
          }
          let aor: string;
          try {
            aor = mapAddressToAor(push.addresses[0] as string, profile).aor;
          } catch (err) {
            expect((err as AgentError).code).toBe('ADDRESS_INVALID');
            return;
          }
          const message = buildPushMessageRequest(push, aor, profile);
          for (const value of [
            message.requestUri,
            message.to ?? '',
            message.contentType ?? '',
            ...Object.values(message.headers ?? {}).flat(),
          ]) {
            expect(value).not.toMatch(CONTROL);
            expect(value).not.toMatch(/[\r\n]/);
          }
          expect(message.to ?? '').not.toMatch(/[<>"\s]/);
          accepted += 1;
        },
      ),
      { numRuns: 500 },
    );
    // Some inputs must get through, or the property says nothing about what is carried.
    expect(accepted).toBeGreaterThan(0);
  });
});
