/**
 * The PAP result notification (PAP 2.0 §9.8 resultnotification-message) owed for a terminal state,
 * as an outbox item committed with that state. Pure: the record, the new state and the settings in,
 * the item (or none) out.
 */
import type { NewOutboxItem } from '../outbox/outbox-item.js';
import { buildResultNotification } from '../pap/pap-builder.js';
import type { PushSummary } from '../store/push-record.js';
import { isTerminal, type PushState } from '../store/push-state.js';
import { papStateView } from './pap-state-view.js';

/** What a terminal transition records (and what the notification reports). */
export type TerminalDetail = { reason?: string; sipStatus?: number; bearerHint?: string; papCode?: number };

export interface NotificationSettings {
  /** The PPG notifies the PI for pushes it took back (config `ppg.sendsResultNotifications`). */
  ppgNotifiesHandedBack: boolean;
  senderName: string | undefined;
  now: number;
}

/**
 * Exactly one party notifies the PI per push: the agent for every outcome it owns (delivered, expired,
 * cancelled, a refused or abandoned hand-back), and for handed-back unless the PPG is configured to
 * notify (the hand-back then carried the PI's notify URL instead). None when the PI asked for none.
 */
export function resultNotificationFor(
  record: PushSummary,
  to: PushState,
  detail: TerminalDetail,
  settings: NotificationSettings,
): NewOutboxItem | undefined {
  if (!isTerminal(to)) throw new Error(`a result notification needs a terminal state, got ${to}`);
  if (to === 'handed-back' && settings.ppgNotifiesHandedBack) return undefined;
  if (!record.notifyTo) return undefined;
  const view = papStateView(to, detail.reason, { papCode: detail.papCode, bearerHint: detail.bearerHint ?? record.bearerHint });
  return {
    kind: 'result-notification',
    url: record.notifyTo,
    contentType: 'application/xml',
    body: Buffer.from(
      buildResultNotification({
        pushId: record.pushId,
        address: record.address,
        messageState: view.messageState,
        code: view.code,
        desc: view.desc,
        eventTime: new Date(settings.now),
        receivedTime: new Date(record.createdAt),
        senderName: settings.senderName,
      }),
      'utf8',
    ),
  };
}
