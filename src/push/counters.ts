/**
 * Every count the push flow keeps, in one place: read by /metrics on scrape and by the benchmarks'
 * signalling table. The flow's parts get this object and count into it. Failures the flow survives
 * (a store that fails under a command, a defect caught at intake or in a delivery job) are logged with
 * `{ err }` and counted in lib/internal-errors.ts under a `push:…` place, like every part's.
 */
import { bearerHintLabel } from '../capabilities/bearer-hint.js';

/** Plain counters (monotonic). */
export interface PushCounters {
  accepted: number;
  handedBackSync: number;
  handedBackAsync: number;
  delivered: number;
  expired: number;
  cancelled: number;
  rejected: number;
  messagesSent: number;
  overloaded: number;
  /** Synchronous 3010s because the engine cannot carry the content (binary over a text-only engine, size). */
  handedBackEngineLimit: number;
  /** Pushes ended `unconfirmed` (profile `delivery.whenUnconfirmed: report`). */
  unconfirmed: number;
  /** Unconfirmed MESSAGEs handed back anyway (profile `delivery.whenUnconfirmed: hand-back`). */
  unconfirmedHandedBack: number;
  /** Refused at intake because `limits.maxScheduled` pushes already wait for their deliver-after. */
  scheduleFull: number;
  /** Refused at intake (4001) because the store could not write (disk full or failing). */
  storeUnwritable: number;
  /** Synchronous hand-backs because the SIP core was down (also counted in handedBackSync). */
  coreDown: number;
}

/** How outbox items ended, by kind (hand-back / result-notification) and outcome. */
export interface OutboxOutcomeCount {
  kind: 'hand-back' | 'result-notification';
  outcome: 'acknowledged' | 'refused' | 'gave-up' | 'not-possible';
  count: number;
}

/** Hand-backs by bearer hint and mode (synchronous 3010 at intake, asynchronous after a SIP failure). */
export interface HandBackCount {
  /** The hint's vocabulary spelling, or `other` (bearerHintLabel): bounded, whatever PIs send. */
  hint: string;
  mode: 'sync' | 'async';
  count: number;
}

export class PushCounting {
  readonly counters: PushCounters = {
    accepted: 0,
    handedBackSync: 0,
    handedBackAsync: 0,
    delivered: 0,
    expired: 0,
    cancelled: 0,
    rejected: 0,
    messagesSent: 0,
    overloaded: 0,
    handedBackEngineLimit: 0,
    unconfirmed: 0,
    unconfirmedHandedBack: 0,
    scheduleFull: 0,
    storeUnwritable: 0,
    coreDown: 0,
  };
  private readonly handBacks = new Map<string, HandBackCount>();
  private readonly outboxOutcomes = new Map<string, OutboxOutcomeCount>();

  /** @param defaultBearer the profile's hand-back bearer: a hint label of its own even if unusual. */
  constructor(private readonly defaultBearer: string) {}

  handBackCounts(): HandBackCount[] {
    return [...this.handBacks.values()];
  }

  outboxOutcomeCounts(): OutboxOutcomeCount[] {
    return [...this.outboxOutcomes.values()];
  }

  outboxOutcome(kind: OutboxOutcomeCount['kind'], outcome: OutboxOutcomeCount['outcome']): void {
    const key = `${kind}|${outcome}`;
    const entry = this.outboxOutcomes.get(key);
    if (entry) entry.count += 1;
    else this.outboxOutcomes.set(key, { kind, outcome, count: 1 });
  }

  handBack(rawHint: string, mode: 'sync' | 'async'): void {
    const hint = bearerHintLabel(rawHint, [this.defaultBearer]);
    const key = `${mode}|${hint}`;
    const entry = this.handBacks.get(key);
    if (entry) entry.count += 1;
    else this.handBacks.set(key, { hint, mode, count: 1 });
    if (mode === 'sync') this.counters.handedBackSync += 1;
    else this.counters.handedBackAsync += 1;
  }
}
