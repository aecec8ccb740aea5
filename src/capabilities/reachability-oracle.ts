/**
 * The port the push path asks (step 2 of a push): a verdict per user, and a place to report what our own
 * MESSAGE did. The push path knows nothing else about presence or registration; the capability layer
 * answers it (capability-oracle.ts) from the table and, when it knows nothing yet, by asking the watchers
 * for first evidence.
 */
export type Reachability = 'reachable' | 'unreachable' | 'unknown';

/** Stable ids of the rules that decide (reachability-policy.ts and source-policy.ts explain each). */
export type ReachabilityRule =
  | 'hold-down'
  | 'delivered'
  | 'presence-disabled'
  | 'noresource'
  | 'rejected'
  | 'no-presence'
  | 'first-notify-timeout'
  | 'nothing-published'
  | 'overriding-willingness-closed'
  | 'ims-network-down'
  | 'push-service-open'
  | 'push-service-blocked'
  | 'message-capable'
  | 'basic-open'
  | 'open-not-push-capable'
  | 'all-closed'
  | 'no-tuples'
  // Registration-state rules (source-policy.ts), when the profile's sources include `reg`:
  | 'reg-no-contact'
  | 'presence-veto'
  | 'reg-push-tag'
  | 'reg-registered'
  | 'reg-not-push-capable';

export interface ReachabilityVerdict {
  reachability: Reachability;
  /** Push application ids the client accepts, or 'any' when nothing says. */
  acceptedApps: string[] | 'any';
  /** The bearer to suggest to the PPG when SIP is not used (vocabulary: bearer-hint.ts). */
  bearerHint: string;
  /** Human-readable reason, logged and put in hand-back descriptions. */
  reason: string;
  /** Stable id of the rule that decided (metrics, logs, tests); absent only from stand-in oracles. */
  rule?: ReachabilityRule;
}

/**
 * A MESSAGE outcome as the push path saw it, with what it knew about the core meanwhile; the capability
 * layer decides from it who is to blame (failure-attribution.ts: a user is held down only on evidence
 * about the user).
 */
export interface DeliveryReport {
  /** The final SIP status, when one came. */
  status?: number;
  /** Set when no final status came: Timer F fired, or the transport (or the engine's connection) failed. */
  failure?: 'timeout' | 'transport';
  /**
   * True when the core was known alive from send to outcome (health `up` at both ends, no down period in
   * between). Absent → true: without an outbound proxy there is no core between us and the user.
   */
  coreAlive?: boolean;
}

export interface ReachabilityOracle {
  /** Decides for one AOR; may wait up to the sources' first-NOTIFY bounds for first evidence. */
  decide(aor: string): Promise<ReachabilityVerdict>;
  recordDelivery(aor: string, report: DeliveryReport): void;
}
