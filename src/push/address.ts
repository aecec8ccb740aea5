/**
 * PAP client addresses (WAP-249 PPG Service §6/§7; docs/standards.md §2.4) and their mapping to SIP AORs
 * through `profile.addressing`:
 *
 *     address-value = "WAPPUSH=" client-address "/TYPE=" type-value [ "@" ppg-specifier ]
 *
 * `client-address` is %-escaped (`WAPPUSH=sip%3Aalice%40example.com/TYPE=USER@ppg.example.com`). Keywords are
 * upper case in the spec but lower case is seen in the wild, so they match case-insensitively. No SIP
 * address type exists in PAP (docs/standards.md §2.4): a SIP target is `TYPE=USER` with an escaped URI.
 */
import { AgentError, ErrorCodes } from '../errors.js';
import type { SipProfile } from '../profiles/schema.js';
import { SIP_URI_CHARS } from './pap/header-safe.js';

export type PapAddressType = 'USER' | 'PLMN' | 'IPv4' | 'IPv6' | (string & {});

export interface PapAddress {
  /** The address-value exactly as received (what a hand-back sends back). */
  raw: string;
  /** The client-address, %-unescaped. */
  value: string;
  /** USER/PLMN upper-cased, IPv4/IPv6 in their spec spelling, others as sent. */
  type: PapAddressType;
  ppg?: string;
}

export interface MappedAor {
  aor: string;
  kind: 'user' | 'plmn';
}

function invalid(message: string): AgentError {
  return new AgentError(ErrorCodes.ADDRESS_INVALID, message, 'address-value');
}

function normaliseType(type: string): PapAddressType {
  const upper = type.toUpperCase();
  if (upper === 'USER' || upper === 'PLMN') return upper;
  if (upper === 'IPV4') return 'IPv4';
  if (upper === 'IPV6') return 'IPv6';
  return type;
}

/** Parses an `address-value`; ADDRESS_INVALID (PAP 2002) when it does not follow the grammar. */
export function parsePapAddress(address: string): PapAddress {
  const match = /^WAPPUSH=(.+)\/TYPE=([A-Za-z0-9][A-Za-z0-9_.-]*)(?:@([^@\s/]+))?$/i.exec(address.trim());
  if (!match) throw invalid(`not a WAPPUSH=<address>/TYPE=<type>[@ppg] address: ${JSON.stringify(address.slice(0, 100))}`);
  let value: string;
  try {
    value = decodeURIComponent(match[1]);
  } catch {
    throw invalid('client-address has a malformed %-escape');
  }
  if (/[\u0000-\u001f\u007f\s]/.test(value)) throw invalid('client-address contains whitespace or control characters');
  return { raw: address, value, type: normaliseType(match[2]), ...(match[3] !== undefined ? { ppg: match[3] } : {}) };
}

/**
 * `+15551234567` → itself; `0015551234567` → `+15551234567`; a national number gets
 * `defaultCountryCode` after its single trunk `0` is dropped (`0401234567` with 358 → `+358401234567`).
 * Visual separators (space, `-`, `.`, `(`, `)`) are removed first (RFC 3966 §5.1.1).
 */
export function toE164(number: string, defaultCountryCode?: string): string {
  const digits = number.replace(/[\s\-.()]/g, '');
  let global: string;
  if (/^\+\d+$/.test(digits)) global = digits;
  else if (/^00\d+$/.test(digits)) global = `+${digits.slice(2)}`;
  else if (/^\d+$/.test(digits)) {
    if (defaultCountryCode === undefined) throw invalid(`national number ${number} and no addressing.defaultCountryCode`);
    global = `+${defaultCountryCode}${digits.replace(/^0/, '')}`;
  } else throw invalid(`not a telephone number: ${JSON.stringify(number)}`);
  if (!/^\+[1-9]\d{3,14}$/.test(global)) throw invalid(`not an E.164 number: ${global}`);
  return global;
}

/** RFC 3261 §25.1 `user`: unreserved / escaped / user-unreserved; everything else is %-escaped. */
function escapeSipUser(user: string): string {
  return Array.from(Buffer.from(user, 'utf8'))
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const HOSTPORT =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function plmnAor(number: string, profile: SipProfile): MappedAor {
  const e164 = toE164(number, profile.addressing.defaultCountryCode);
  const aor = profile.addressing.plmnForm === 'tel' ? `tel:${e164}` : `sip:${e164}@${profile.addressing.homeDomain};user=phone`;
  return { aor, kind: 'plmn' };
}

function userAor(value: string, profile: SipProfile): MappedAor {
  const scheme = /^(sips?|tel):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'tel') return plmnAor(value.slice(4).split(';')[0], profile);
  if (scheme !== undefined) {
    const rest = value.slice(scheme.length + 1);
    const at = rest.lastIndexOf('@');
    const host = (at < 0 ? '' : rest.slice(at + 1)).split(';')[0];
    if (at <= 0 || !HOSTPORT.test(host)) throw invalid(`SIP URI without user@host: ${JSON.stringify(value)}`);
    // The AOR is written into the Request-URI and the To header's <…> as is (RFC 3261 §25.1 characters).
    if (!SIP_URI_CHARS.test(rest))
      throw invalid(`SIP URI has characters a SIP header cannot carry: ${JSON.stringify(value.slice(0, 100))}`);
    return { aor: `${scheme}:${rest}`, kind: 'user' };
  }
  const at = value.lastIndexOf('@');
  const user = at < 0 ? value : value.slice(0, at);
  const host = at < 0 ? profile.addressing.homeDomain : value.slice(at + 1);
  if (user.length === 0 || !HOSTPORT.test(host)) throw invalid(`USER address ${JSON.stringify(value)} has no usable user@host`);
  return { aor: `sip:${escapeSipUser(user)}@${host}`, kind: 'user' };
}

/**
 * Maps a PAP address to the SIP AOR the MESSAGE goes to. TYPE=PLMN → `sip:+N@homeDomain;user=phone`
 * (RFC 3261 §19.1.6) or `tel:+N` per `addressing.plmnForm`; TYPE=USER → the escaped SIP/tel URI itself,
 * `user@host` → `sip:user@host`, a bare name → `sip:name@homeDomain`. Other types (IPv4, IPv6, WINA
 * bearer types) have no SIP AOR → ADDRESS_INVALID (PAP 2002).
 */
export function mapAddressToAor(address: string | PapAddress, profile: SipProfile): MappedAor {
  const parsed = typeof address === 'string' ? parsePapAddress(address) : address;
  if (parsed.type === 'PLMN') return plmnAor(parsed.value, profile);
  if (parsed.type === 'USER') return userAor(parsed.value, profile);
  throw invalid(`TYPE=${parsed.type} addresses cannot be reached over SIP`);
}

/** Formats an address-value (the reverse of {@link parsePapAddress}); USER values are %-escaped. */
export function formatPapAddress(address: Pick<PapAddress, 'value' | 'type' | 'ppg'>): string {
  const value = address.type === 'PLMN' ? address.value : encodeURIComponent(address.value);
  return `WAPPUSH=${value}/TYPE=${address.type}${address.ppg ? `@${address.ppg}` : ''}`;
}

/**
 * The address-value for an AOR when no original PAP address is at hand (e.g. an operator-initiated
 * hand-back): a `user=phone`/`tel:` number becomes TYPE=PLMN, anything else TYPE=USER with the escaped
 * URI. A hand-back of a PAP push keeps the PI's original string instead (`PushSubmission.addresses`).
 */
export function papAddressForAor(aor: string, ppg?: string): string {
  const phone = /^sips?:(\+\d+)@[^;]+(?:;.*)?;user=phone(?:;|$)/i.exec(aor) ?? /^tel:(\+\d+)(?:;|$)/i.exec(aor);
  return phone ? formatPapAddress({ value: phone[1], type: 'PLMN', ppg }) : formatPapAddress({ value: aor, type: 'USER', ppg });
}

/** How the hand-back finds a number when the hint is a number-routed bearer (config `ppg`). */
export interface HandBackAddressing {
  /** Bearers a PPG routes by telephone number (case-insensitive), e.g. `SMS`. */
  numberBearers: readonly string[];
  /** AOR → MSISDN, for users addressed by a SIP identity whose number the agent cannot derive. */
  msisdns: Readonly<Record<string, string>>;
  /** For national numbers in `msisdns` (the profile's `addressing.defaultCountryCode`). */
  defaultCountryCode?: string;
}

/**
 * The address-value a hand-back carries so the PPG can route it over `bearer`. A number-routed bearer
 * (an SMSC delivers to an MSISDN) needs `TYPE=PLMN`: the PI's own PLMN address when it sent one, else
 * the number in a `tel:` or `;user=phone` AOR, else the configured lookup. Without any of them there is
 * no address the PPG can use, and handing back `TYPE=USER` with an SMS hint only earns a refusal, so
 * this throws HAND_BACK_NOT_POSSIBLE ("no MSISDN for SMS hand-back"). Other bearers get the PI's address
 * unchanged.
 */
export function handBackAddress(original: string, aor: string | undefined, bearer: string, addressing: HandBackAddressing): string {
  const numberRouted = addressing.numberBearers.some((b) => b.toLowerCase() === bearer.trim().toLowerCase());
  if (!numberRouted) return original;
  let parsed: PapAddress | undefined;
  try {
    parsed = parsePapAddress(original);
  } catch {
    parsed = undefined;
  }
  if (parsed?.type === 'PLMN') return original;
  const ppg = parsed?.ppg;
  if (aor !== undefined) {
    const fromAor = papAddressForAor(aor, ppg);
    if (/\/TYPE=PLMN(?:@|$)/.test(fromAor)) return fromAor;
    const listed = addressing.msisdns[aor];
    if (listed !== undefined) {
      return formatPapAddress({ value: toE164(listed, addressing.defaultCountryCode), type: 'PLMN', ppg });
    }
  }
  throw new AgentError(ErrorCodes.HAND_BACK_NOT_POSSIBLE, `no MSISDN for ${bearer} hand-back`, 'address-value');
}
