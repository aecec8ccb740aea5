/**
 * How the agent's push states read in PAP (PAP 2.x §statusquery-result / resultnotification-message
 * `message-state`, standards-digest §2.3) and which PAP code/description goes with each.
 */
import type { PushState } from './store/push-state.js';

export interface PapStateView {
  messageState: 'pending' | 'delivered' | 'undeliverable' | 'expired' | 'cancelled';
  code: number;
  desc: string;
}

/**
 * - delivered → `delivered` 1000;
 * - handed-back → `undeliverable` 3010: the PSA could not use SIP and the PPG took the push back for
 *   another bearer (the PPG, not this agent, delivers it from then on);
 * - expired → `expired` 4000 (deliver-before-timestamp passed before delivery);
 * - cancelled → `cancelled` 1000;
 * - anything not terminal → `pending` 1001.
 */
export function papStateView(state: PushState, reason?: string): PapStateView {
  switch (state) {
    case 'delivered':
      return { messageState: 'delivered', code: 1000, desc: 'Delivered over SIP' };
    case 'handed-back':
      return { messageState: 'undeliverable', code: 3010, desc: reason ?? 'Handed back to the PPG for another bearer' };
    case 'expired':
      return { messageState: 'expired', code: 4000, desc: reason ?? 'deliver-before-timestamp passed' };
    case 'cancelled':
      return { messageState: 'cancelled', code: 1000, desc: 'Cancelled' };
    default:
      return { messageState: 'pending', code: 1001, desc: `Pending (${state})` };
  }
}
