/**
 * The bearer-hint vocabulary and how a presence document suggests a bearer other than SIP (pure).
 *
 * Vocabulary (the value of `quality-of-service bearer="…"` in a hand-back, and of the hint header):
 * - `SMS`      — WAP Push over SMS (WDP bearer name "SMS", docs/standards.md §2.6);
 * - `MMS`      — deliver as/with an MMS notification (operator convention; not a WDP bearer name);
 * - `OTA-HTTP` — OMA Push OTA over HTTP (PAP 2.x / Push OTA 2.x, TO-TCP/PO-TCP);
 * - `OTA-WSP`  — Push OTA over WSP/WDP on a packet bearer (WAP 1.x connectionless push);
 * - `SIP`      — SIP Push; a private token (no WDP/PAP name exists, docs/standards.md §2.6). The policy
 *                never *suggests* `SIP` for a hand-back; it only appears when a PI asks for it.
 *
 * The hint is always the best *non-SIP* bearer, so the same hint serves when SIP delivery fails later.
 */
import type { PresenceDocument, PresenceTuple } from './presence-snapshot.js';

export const BEARER_HINTS = ['SMS', 'MMS', 'OTA-HTTP', 'OTA-WSP', 'SIP'] as const;
export type BearerHint = (typeof BEARER_HINTS)[number];

/**
 * The hint as a metric label: its vocabulary spelling (case-insensitive match against
 * {@link BEARER_HINTS} and `extra`, e.g. the profile's default bearer), anything else `other`. A PI
 * names its own bearer; taken as a label it would make one time series per string it ever sent.
 */
export function bearerHintLabel(hint: string, extra: readonly string[] = []): string {
  const wanted = hint.toLowerCase();
  return [...BEARER_HINTS, ...extra].find((known) => known.toLowerCase() === wanted) ?? 'other';
}

/** Network ids (OMA `<op:network id>`) of circuit-switched networks, where WAP Push over SMS works. */
const CS_NETWORKS = /^(gsm|cs|umts-cs|2g|3g|geran|utran|cdma|1x|is-95|ansi-136)$/i;
/** Packet networks, where OTA-HTTP can reach the handset. */
const PACKET_NETWORKS = /^(gprs|ps|packet|packet-data|lte|eps|5gs|nr|wlan|wifi|wi-fi|internet)$/i;

/** What a single open service says about a non-SIP bearer: its service-id/description, then its contact. */
export function bearerOfTuple(tuple: PresenceTuple): BearerHint | undefined {
  const label = `${tuple.service?.serviceId ?? ''} ${tuple.service?.description ?? ''}`;
  if (/(^|[^a-z])sms|smsip/i.test(label)) return 'SMS';
  if (/(^|[^a-z])mms([^a-z]|$)/i.test(label)) return 'MMS';
  const scheme = tuple.contact?.split(':', 1)[0]?.toLowerCase();
  if (scheme === 'tel' || scheme === 'sms') return 'SMS';
  if (scheme === 'mms') return 'MMS';
  if (scheme === 'http' || scheme === 'https') return 'OTA-HTTP';
  return undefined;
}

/**
 * The hint a document supports, or undefined when it says nothing:
 * 1. an open, non-barred service advertising another bearer (highest contact priority first);
 * 2. an active non-IMS network in `<op:network-availability>` (CS → `SMS`, packet → `OTA-HTTP`).
 */
export function bearerHintFromPresence(doc: PresenceDocument): BearerHint | undefined {
  const open = doc.tuples
    .filter((t) => t.basic === 'open' && t.willingness !== 'closed' && t.barringState !== 'active')
    .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
  for (const tuple of open) {
    const hint = bearerOfTuple(tuple);
    if (hint) return hint;
  }
  for (const network of doc.devices.flatMap((d) => d.networks)) {
    if (network.state !== 'active') continue;
    if (CS_NETWORKS.test(network.id)) return 'SMS';
    if (PACKET_NETWORKS.test(network.id)) return 'OTA-HTTP';
  }
  return undefined;
}
