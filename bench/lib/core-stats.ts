/**
 * SIP messages on the core, from Kamailio's own statistics: what it received (requests + replies) and
 * what it sent (forwarded requests and replies, stateless and transaction-generated replies, and the
 * requests it originated itself — the presence NOTIFYs). Counts are per datagram (retransmissions too).
 */
import type { KamailioHandle } from '../../test/support/kamailio.js';

export interface CoreCounts {
  /** Every SIP message in or out of the core. */
  total: number;
  requestsIn: number;
  repliesIn: number;
  messageIn: number;
  subscribeIn: number;
  /** NOTIFYs and other requests Kamailio originated (tm UAC transactions). */
  originated: number;
}

export async function coreCounts(k: KamailioHandle): Promise<CoreCounts> {
  const s = await k.stats();
  const v = (name: string) => s[name] ?? 0;
  const requestsIn = v('core:rcv_requests');
  const repliesIn = v('core:rcv_replies');
  const sent = v('core:fwd_requests') + v('core:fwd_replies') + v('sl:sent_replies') + v('tmx:rpl_generated') + v('tmx:UAC_transactions');
  return {
    total: requestsIn + repliesIn + sent,
    requestsIn,
    repliesIn,
    messageIn: v('core:rcv_requests_message'),
    subscribeIn: v('core:rcv_requests_subscribe'),
    originated: v('tmx:UAC_transactions'),
  };
}

export function diffCounts(after: CoreCounts, before: CoreCounts): CoreCounts {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof CoreCounts)[]) out[key] = after[key] - before[key];
  return out;
}
