/**
 * Failure attribution (pure): which party a MESSAGE outcome speaks about, and so whether it may hold the
 * user down. A user is marked unreachable only on evidence about that user.
 *
 * - 2xx → `none`: delivered.
 * - 404, 410, 480, 604 → `user`: the core answered about this user (no such user, gone, not registered,
 *   does not exist anywhere; RFC 3261 §21.4.5, §21.4.11, §21.4.18, §21.6.3) → hold-down.
 * - A timeout — Timer F with no final answer, or a 408 the core generated because the next hop did not
 *   answer (RFC 3261 §21.4.9) — is `user` only while the core is known to be alive throughout the
 *   transaction (probes answered before and after, no down period in between): then the core forwarded
 *   the MESSAGE and the user's device stayed silent. Otherwise it is `core`: the core itself may have
 *   held or dropped the request (frozen, restarting), which says nothing about the user.
 * - A transport error (ICMP unreachable, connection refused or reset, engine disconnected) is `core`:
 *   RFC 3261 §8.1.3.1 treats it as a 503 from the next hop.
 * - 5xx → `core` (the server failed, not the user), never a hold-down.
 * - Any other final status (403, 415, 488, 600, 603, …) → `request`: about this request or policy, no
 *   hold-down (another content or another time may succeed).
 */

import type { DeliveryReport } from './reachability-oracle.js';

/** Who a delivery outcome speaks about. */
export type DeliveryBlame = 'none' | 'user' | 'core' | 'request';

export interface DeliveryAttribution {
  blame: DeliveryBlame;
  /** True when the outcome may hold the user down. */
  holdDown: boolean;
  /** One phrase for logs and the admin view. */
  why: string;
}

/** Final statuses that speak about the user whatever the core's health. */
const USER_STATUSES = new Set([404, 410, 480, 604]);

export function attributeDelivery(evidence: DeliveryReport): DeliveryAttribution {
  const { status, failure } = evidence;
  const coreAlive = evidence.coreAlive ?? true;
  if (failure === 'transport') return { blame: 'core', holdDown: false, why: 'transport error (treated as 503, RFC 3261 §8.1.3.1)' };
  if (failure === 'timeout' || status === 408) {
    const what = failure === 'timeout' ? 'no final response (Timer F)' : '408 from the core';
    return coreAlive
      ? { blame: 'user', holdDown: true, why: `${what} while the core was alive` }
      : { blame: 'core', holdDown: false, why: `${what} while the core was not known alive` };
  }
  if (status === undefined) return { blame: 'core', holdDown: false, why: 'no outcome' };
  if (status >= 200 && status < 300) return { blame: 'none', holdDown: false, why: `delivered (${status})` };
  if (USER_STATUSES.has(status)) return { blame: 'user', holdDown: true, why: `${status}: the core answered about the user` };
  if (status >= 500 && status < 600) return { blame: 'core', holdDown: false, why: `${status}: server failure` };
  return { blame: 'request', holdDown: false, why: `${status}: about the request, not the user` };
}
