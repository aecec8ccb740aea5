/**
 * How the agent's push states read in PAP (statusquery-result and resultnotification-message
 * `message-state`, PAP 2.0 §9.7/§9.8) and which PAP code/description goes with each.
 */
import type { MessageState } from '../pap/pap-codes.js';
import type { PushState } from '../store/push-state.js';

export interface PapStateView {
  messageState: MessageState;
  code: number;
  desc: string;
}

/** What the record adds to the state: the PPG's answer code and the bearer the push went back over. */
export interface PapStateDetail {
  papCode?: number;
  bearerHint?: string;
}

/**
 * - delivered → `delivered` 1000;
 * - handed-back → `unknown` with the PPG's acknowledging code (1000/1001): the push went back to the
 *   PPG for another bearer and the PPG took it. The agent does not know what the PPG made of it
 *   (`undeliverable` would claim a failure the PPG may well have repaired by SMS; `delivered` a success
 *   nobody saw; `pending` would promise a later notification the agent will never send), and PAP's
 *   `unknown` is the state for exactly that. The description says where the push went.
 * - hand-back-refused → `undeliverable` with the PPG's refusal code (2xxx/3xxx) and its description, or
 *   3010 when the agent could not write a hand-back the PPG could route (reason: "no MSISDN …");
 * - hand-back-abandoned → `unknown` 4000: the PPG never acknowledged the hand-back before the give-up
 *   rule stopped retrying; it may or may not have received a copy;
 * - expired → `expired` 4000 (deliver-before-timestamp passed before delivery);
 * - cancelled → `cancelled` 1000;
 * - unconfirmed → `unknown` 4000: the MESSAGE left but no final answer was seen, so the handset may or
 *   may not have it (PAP's `unknown` says exactly that; `timeout` would read as a deliver-before expiry;
 *   4000 "Service failure" because the agent could not establish the outcome);
 * - anything not terminal → `pending` 1001.
 */
export function papStateView(state: PushState, reason?: string, detail: PapStateDetail = {}): PapStateView {
  switch (state) {
    case 'delivered':
      return { messageState: 'delivered', code: 1000, desc: 'Delivered over SIP' };
    case 'handed-back': {
      const over = detail.bearerHint !== undefined ? ` for bearer ${detail.bearerHint}` : '';
      return {
        messageState: 'unknown',
        code: detail.papCode ?? 1001,
        desc: `Handed back to the PPG${over}; the PPG accepted it and owns the outcome`,
      };
    }
    case 'hand-back-refused':
      return { messageState: 'undeliverable', code: detail.papCode ?? 3010, desc: reason ?? 'The hand-back was refused' };
    case 'hand-back-abandoned':
      return { messageState: 'unknown', code: 4000, desc: reason ?? 'The PPG never acknowledged the hand-back' };
    case 'expired':
      return { messageState: 'expired', code: 4000, desc: reason ?? 'deliver-before-timestamp passed' };
    case 'cancelled':
      return { messageState: 'cancelled', code: 1000, desc: 'Cancelled' };
    case 'unconfirmed':
      return { messageState: 'unknown', code: 4000, desc: `Unconfirmed: ${reason ?? 'no final SIP answer seen'}` };
    default:
      return { messageState: 'pending', code: 1001, desc: `Pending (${state})` };
  }
}
