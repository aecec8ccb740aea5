/**
 * The SIP core's health as a small state machine fed by probe results (pure), in the manner of
 * Kamailio's dispatcher: `failuresToDown` consecutive failed probes take an `up` core `down`,
 * `successesToUp` consecutive answered probes bring a `down` core back `up`. Before the first probe
 * result the state is `unknown`: the first answer makes it `up`, `failuresToDown` failures make it `down`.
 */

export type CoreState = 'unknown' | 'up' | 'down';

export interface CoreHealthThresholds {
  failuresToDown: number;
  successesToUp: number;
}

export interface ProbeResult {
  ok: boolean;
  at: number;
  /** e.g. `200 OK`, `timeout`, `transport: ECONNREFUSED`. */
  detail: string;
}

export interface CoreHealthState {
  state: CoreState;
  /** When the state last changed (ms since the epoch). */
  since: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** How many times the core went `down` so far (a transaction spanning a change is not "known alive"). */
  downs: number;
  lastProbe?: ProbeResult;
}

export function initialCoreHealth(now: number): CoreHealthState {
  return { state: 'unknown', since: now, consecutiveFailures: 0, consecutiveSuccesses: 0, downs: 0 };
}

/** The state after one probe result. */
export function afterProbe(current: CoreHealthState, probe: ProbeResult, thresholds: CoreHealthThresholds): CoreHealthState {
  const next: CoreHealthState = {
    ...current,
    lastProbe: probe,
    consecutiveFailures: probe.ok ? 0 : current.consecutiveFailures + 1,
    consecutiveSuccesses: probe.ok ? current.consecutiveSuccesses + 1 : 0,
  };
  let state = current.state;
  if (probe.ok && (state === 'unknown' || (state === 'down' && next.consecutiveSuccesses >= thresholds.successesToUp))) state = 'up';
  if (!probe.ok && state !== 'down' && next.consecutiveFailures >= thresholds.failuresToDown) state = 'down';
  if (state !== current.state) {
    next.state = state;
    next.since = probe.at;
    if (state === 'down') next.downs += 1;
  }
  return next;
}
