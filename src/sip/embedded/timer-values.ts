/** RFC 3261 §17.1.1.1 / Table 4 timer base values, injectable so tests can shrink them. */
export interface SipTimerValues {
  /** RTT estimate, default 500 ms. */
  t1Ms: number;
  /** Cap on non-INVITE request retransmission intervals, default 4 s. */
  t2Ms: number;
  /** Maximum time a message stays in the network, default 5 s. */
  t4Ms: number;
}

export const DEFAULT_TIMER_VALUES: SipTimerValues = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };

export function resolveTimerValues(overrides?: Partial<SipTimerValues>): SipTimerValues {
  return { ...DEFAULT_TIMER_VALUES, ...overrides };
}
