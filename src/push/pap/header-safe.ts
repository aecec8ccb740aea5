/**
 * Grammars for PI-supplied values that the agent later writes into a header: an HTTP response header
 * (`X-Push-Bearer-Hint` on a PAP 3010), the hand-back POST's headers and MIME part headers, a SIP
 * header of the MESSAGE (Content-Type, Accept-Contact, Request-URI/To) or the request line of a
 * result notification. A value outside these grammars is refused at intake, naming the field (PAP 2000,
 * JSON API 400). Carried further, it used to reach a client library that refused to build the request:
 * an HTTP 500 at intake, or a hand-back that could never be sent and was retried for ever. Pure.
 */

/** RFC 9110 §5.6.2 `token`. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * One line of header text: visible US-ASCII, single inner spaces allowed, no leading or trailing blank
 * (RFC 9110 §5.5 field-value without obs-text). No CR, LF, NUL or other control character can pass.
 * Wider than a token on purpose: WAP bearer and network names (PAP 2.0 §9.2.3 quality-of-service,
 * values from the WDP bearer table) include `Packet Data`, `IS-95 CDMA` and `GUTS/R-Data`.
 */
const HEADER_TEXT = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Longest bearer or network name taken from a PI (the longest WDP name is under 20 characters). */
export const MAX_BEARER_CHARS = 64;

/** Why `value` cannot be header text, or undefined when it can. */
export function headerTextProblem(value: string, maxChars: number): string | undefined {
  if (value.length > maxChars) return `longer than ${maxChars} characters`;
  if (!HEADER_TEXT.test(value)) return 'must be printable US-ASCII on one line (no CR, LF, NUL or other control character)';
  return undefined;
}

/** C0 controls, DEL and C1 controls: never part of an identifier or a header value. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, except HT (RFC 9110 §5.5 allows HTAB inside a field value). */
const CONTROL_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

export function hasControlCharacter(value: string, allowTab = false): boolean {
  return (allowTab ? CONTROL_BUT_TAB : CONTROL).test(value);
}

const T = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
/** quoted-string (RFC 9110 §5.6.4) without obs-text: qdtext or a quoted-pair. */
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x21-\\x7e])*"';

/**
 * `type/subtype *( OWS ";" OWS name=value )` (RFC 2045 §5.1, RFC 9110 §8.3.1), US-ASCII only because it
 * becomes the SIP MESSAGE's Content-Type (RFC 3261 §20.15). A trailing `;` is tolerated (PIs send it).
 */
const MEDIA_TYPE = new RegExp(`^[ \\t]*${T}/${T}(?:[ \\t]*;[ \\t]*${T}=(?:${T}|${QUOTED}))*[ \\t]*;?[ \\t]*$`);

export function isMediaType(value: string): boolean {
  return value.length <= 256 && MEDIA_TYPE.test(value);
}

/**
 * Characters a SIP or tel URI may hold as written in a header (RFC 3261 §25.1 unreserved, reserved and
 * `%` escapes, `[` `]` for IPv6 references). Excludes blanks, controls, `<`, `>`, `"` and `\`, which
 * would end or reshape the `<…>` of a To header.
 */
export const SIP_URI_CHARS = /^[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,[\]]+$/;

/** Why a URL from a PI cannot be a notification destination, or undefined when it can. */
export function urlProblem(raw: string, url: URL): string | undefined {
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(raw)) return 'must not contain blanks or control characters';
  // Credentials in the URL would be sent on every attempt and end up in logs and stored errors.
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (user:password@)';
  return undefined;
}
