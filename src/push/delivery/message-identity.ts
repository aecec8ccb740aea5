/**
 * The identity of a push's MESSAGE (RFC 3261 §8.1.1.3 From tag, §8.1.1.4 Call-ID, §8.1.1.5 CSeq), made
 * once at intake and stored with the push. Every copy of the MESSAGE — also one sent again after a
 * crash — carries the same three values, so a core or handset that keeps them (RFC 3261 §8.2.2.2
 * merged-request detection, an application's own de-duplication) can tell a repeat from a new push.
 */
import { randomHex } from '../../lib/random-pool.js';
import type { MessageIdentity } from '../store/push-record.js';

/**
 * A fresh identity: 96 random bits of Call-ID, 48 of From tag (RFC 3261 §19.3 asks for at least 32),
 * CSeq 1 (out of dialog: any value). One draw of 18 bytes from the pooled source gives both.
 */
export function newMessageIdentity(): MessageIdentity {
  const hex = randomHex(18);
  return { callId: `${hex.slice(0, 24)}@sip-push-agent`, fromTag: hex.slice(24), cseq: 1 };
}
