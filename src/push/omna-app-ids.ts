/**
 * Push Application IDs (OMNA registry `push_application_id`, docs/standards.md §3) and the
 * `+g.oma.pusheventapp` feature-tag value derived from an `X-Wap-Application-Id` (docs/standards.md §3: the
 * value is the application id without its `x-wap-application:` / `x-oma-application:` prefix, e.g.
 * `ulp.ua` ↔ 0x10, `mms.ua` ↔ 0x04).
 */
import { AgentError, ErrorCodes } from '../errors.js';

/** Well-known (0x0000–0x7FFF) and registered values from the OMNA registry. */
export const OMNA_PUSH_APPLICATION_IDS: ReadonlyMap<number, string> = new Map([
  [0x00, 'x-wap-application:*'],
  [0x01, 'x-wap-application:push.sia'],
  [0x02, 'x-wap-application:wml.ua'],
  [0x03, 'x-wap-application:wta.ua'],
  [0x04, 'x-wap-application:mms.ua'],
  [0x05, 'x-wap-application:push.syncml'],
  [0x07, 'x-wap-application:syncml.dm'],
  [0x09, 'x-wap-application:emn.ua'],
  [0x10, 'x-oma-application:ulp.ua'],
  [0x11, 'x-oma-application:dlota.ua'],
  [0x13, 'x-oma-application:bcast.ua'],
  [0x15, 'x-oma-application:cpm.ua'],
  [0x1a, 'x-wap-application:lwm2m.dm'],
  [0x9065, 'x-oma-application:push.scws'],
]);

/**
 * With no X-Wap-Application-Id the push is for the WML user agent (Push OTA default; Kannel's
 * `parse_appid_header` also falls back to app-id 2).
 */
export const DEFAULT_PUSH_APPLICATION = 'wml.ua';

const URN_PREFIX = /^(?:urn:)?x-(?:wap|oma)-application:/i;

/** `x-wap-application:wml.ua` → `wml.ua`; an unprefixed value is returned as is. */
export function stripApplicationPrefix(urn: string): string {
  return urn.replace(URN_PREFIX, '');
}

/**
 * The feature-tag value for a push: URN ids lose their prefix, numeric ids (decimal or `0x…`) go
 * through {@link OMNA_PUSH_APPLICATION_IDS}; a number not in the table stays as its decimal string (no
 * client registers it, so `require;explicit` routing will refuse it — the honest outcome). Characters
 * that cannot live in a quoted feature-tag value (RFC 3840 §9) → PAP_INVALID.
 */
export function pushEventAppFor(xWapApplicationId: string | undefined): string {
  const value = xWapApplicationId?.trim();
  if (!value) return DEFAULT_PUSH_APPLICATION;
  let app: string;
  if (/^(?:0x[0-9a-f]+|\d+)$/i.test(value)) {
    const code = Number(value);
    const urn = OMNA_PUSH_APPLICATION_IDS.get(code);
    app = urn ? stripApplicationPrefix(urn) : String(code);
  } else {
    app = stripApplicationPrefix(value);
  }
  if (!/^[A-Za-z0-9.\-_*+:]+$/.test(app)) {
    throw new AgentError(
      ErrorCodes.PAP_INVALID,
      `X-Wap-Application-Id ${JSON.stringify(value.slice(0, 80))} cannot be a feature-tag value`,
      'X-Wap-Application-Id',
    );
  }
  return app;
}
