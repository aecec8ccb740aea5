/**
 * What the push flow is configured with and who calls it: the PI behind a command, the PPG behind the
 * agent, the SIP core's health. Plain data; the composition root (agent.ts) fills it from the config.
 */
import type { LevelWithSilent, Logger } from 'pino';
import type { ReachabilityOracle } from '../capabilities/reachability-oracle.js';
import type { SipProfile } from '../profiles/schema.js';
import type { SipEngine } from '../sip/port.js';
import type { HandBackAddressing } from './address.js';
import type { PpgPapVersion } from './pap/hand-back-push.js';
import type { PushStorePort } from './store/push-store-port.js';

/** Who sent a command (push, cancel, status query, read), as the intake authenticated it. */
export interface IntakeCaller {
  /** The PI: its intake user name, or `anonymous` when the intake is open. */
  pi: string;
  /** Presented the admin token: may read and cancel any PI's push. */
  admin?: boolean;
}

/** Every caller of an open intake (no `intake.auth.users`): one PI, since nothing tells callers apart. */
export const ANONYMOUS_CALLER: IntakeCaller = Object.freeze({ pi: 'anonymous' });

/** What the push path reads of the SIP core's health (src/core-health/). */
export interface CoreHealthView {
  readonly state: 'unknown' | 'up' | 'down';
  /** Increases whenever the core goes down: a transaction that saw it change was not "known alive". */
  readonly downs: number;
}

/** What the agent knows about the PPG it hands back to (config `ppg`). */
export interface PpgSettings extends HandBackAddressing {
  papVersion: PpgPapVersion;
  /** The PPG notifies the PI for pushes it took back; the agent then does not. */
  sendsResultNotifications: boolean;
  network?: string;
}

export const DEFAULT_PPG: PpgSettings = { papVersion: '1.0', sendsResultNotifications: false, numberBearers: ['SMS'], msisdns: {} };

export interface PushCoreOptions {
  store: PushStorePort;
  engine: SipEngine;
  oracle: ReachabilityOracle;
  profile: SipProfile;
  logger: Logger;
  handBackUrl: string;
  policy: 'presence-aware' | 'always-sip';
  maxInFlight: number;
  maxQueued: number;
  /** Most pushes waiting for a future deliver-after at once; past it intake answers PAP 4001. */
  maxScheduled?: number;
  senderName?: string;
  /** How hand-backs are written for the PPG behind the agent (config `ppg`); defaults in {@link DEFAULT_PPG}. */
  ppg?: Partial<PpgSettings>;
  now?: () => number;
  /**
   * May `pi` have result notifications POSTed to `url` (its `ppg-notify-requested-to`)? Absent: any URL.
   * The agent POSTs to that URL and retries until acknowledged, so an open choice lets a PI aim the
   * agent at any host it can reach (the composition root passes the configured allow-list).
   */
  notifyAllowed?: (pi: string, url: string) => boolean;
  /** Called after a hand-back or result notification was queued in the outbox (the composition root kicks the dispatcher). */
  onOutboxQueued?: () => void;
  /** Level of the one line logged per outcome (config `log.outcomes`, default `info`). */
  outcomeLogLevel?: LevelWithSilent;
  /** The SIP core's health; absent → always assumed up (no probing). */
  coreHealth?: CoreHealthView;
}

/** Bearers that mean "SIP is fine" when a PI sets `bearer-required="true"`. */
const SIP_BEARERS = new Set(['sip', 'ims', 'any']);

/** The PI's own bearer when it named a non-SIP one, else `fallback` (presence or profile default). */
export function hintFor(requested: string | undefined, fallback: string): string {
  return requested && !SIP_BEARERS.has(requested.toLowerCase()) ? requested : fallback;
}

/** Does the PI insist (PAP 2.0 quality-of-service bearer-required) on a bearer other than SIP? */
export function requiresOtherBearer(requested: string | undefined, required: boolean | undefined): requested is string {
  return Boolean(required && requested && !SIP_BEARERS.has(requested.toLowerCase()));
}
