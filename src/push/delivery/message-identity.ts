/**
 * The identity of a push's MESSAGE (RFC 3261 §8.1.1.3 From tag, §8.1.1.4 Call-ID, §8.1.1.5 CSeq), made
 * once at intake and stored with the push. Every copy of the MESSAGE — also one sent again after a
 * crash — carries the same three values, so a core or handset that keeps them (RFC 3261 §8.2.2.2
 * merged-request detection, an application's own de-duplication) can tell a repeat from a new push.
 */
import { randomBytes } from 'node:crypto';
import type { MessageIdentity } from '../store/push-record.js';

/** A fresh identity: 96 random bits of Call-ID, 48 of From tag, CSeq 1 (out of dialog: any value). */
export function newMessageIdentity(): MessageIdentity {
  return {
    callId: `${randomBytes(12).toString('hex')}@sip-push-agent`,
    fromTag: randomBytes(6).toString('hex'),
    cseq: 1,
  };
}
