/**
 * What the push path needs from the layer below (presence watcher + capability table): a decision per
 * user, and a place to report delivery outcomes. The push path knows nothing else about presence.
 */
export type Reachability = 'reachable' | 'unreachable' | 'unknown';

export interface ReachabilityVerdict {
  reachability: Reachability;
  /** Push application ids the client accepts, or 'any' when presence does not say. */
  acceptedApps: string[] | 'any';
  /** The bearer to suggest to the PPG when SIP is not used (vocabulary: docs/architecture.md). */
  bearerHint: string;
  /** Human-readable reason, logged and put in hand-back descriptions. */
  reason: string;
}

/**
 * A SIP delivery result fed back into the table, with what the push path knew about the core meanwhile;
 * the layer below decides from it who is to blame (a user is held down only on evidence about the user).
 */
export interface DeliveryReport {
  /** The final SIP status, when one came. */
  status?: number;
  /** No final status: Timer F fired, or the transport (or the engine's connection) failed. */
  failure?: 'timeout' | 'transport';
  /** The core was known alive from send to outcome; absent → no core health known (assumed alive). */
  coreAlive?: boolean;
}

export interface ReachabilityOracle {
  /** Decides for one AOR; may wait up to the profile's firstNotifyWaitMs for a first NOTIFY. */
  decide(aor: string): Promise<ReachabilityVerdict>;
  recordDelivery(aor: string, report: DeliveryReport): void;
}
