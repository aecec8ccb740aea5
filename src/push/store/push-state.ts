/**
 * The lifecycle of one accepted push: every accepted push ends in exactly one terminal state.
 *
 * ```
 *              ┌──────────────► delivering ──► delivered
 *   accepted ──┤   ▲ (resume        │
 *              │   └── after crash)─┤
 *              ├──────────────► handing-back ──► handed-back          (the PPG acknowledged: PAP 1000/1001)
 *              │                    │   │  └───► hand-back-refused    (the PPG refused it: PAP 2xxx/3xxx)
 *              │                    │   └──────► hand-back-abandoned  (the give-up rule: too old / too many tries)
 *              ├──► hand-back-refused (from accepted/delivering: no hand-back the PPG could route, e.g. no MSISDN)
 *              ├──► expired  ◄──────┴─────────────┘                   (PAP deliver-before-timestamp passed)
 *              └──► cancelled                                         (PAP cancel-message)
 * ```
 *
 * `unconfirmed`: the MESSAGE may have reached the handset but its final answer was never seen (Timer F,
 * a 408, a transport loss after it left, or a failure answer to a copy re-sent after a crash). With the
 * profile's `delivery.whenUnconfirmed: report` the push ends here and the PI learns `unknown`; with
 * `hand-back` it goes to `handing-back` instead (a possible duplicate over two bearers).
 *
 * `cancelled` is reachable only from `accepted`: once a MESSAGE is on the wire (or the push is on its way
 * back to the PPG) the agent can no longer take it back, so a PAP cancel-message then answers PAP 2008
 * "Cancellation not possible" instead of lying.
 */
import { AgentError, ErrorCodes } from '../../errors.js';
export type PushState =
  | 'accepted'
  | 'delivering'
  | 'handing-back'
  | 'delivered'
  | 'handed-back'
  | 'hand-back-refused'
  | 'hand-back-abandoned'
  | 'expired'
  | 'cancelled'
  | 'unconfirmed';

/** Every state, in lifecycle order (handy for counters and exhaustive tables). */
export const PUSH_STATES: readonly PushState[] = [
  'accepted',
  'delivering',
  'handing-back',
  'delivered',
  'handed-back',
  'hand-back-refused',
  'hand-back-abandoned',
  'expired',
  'cancelled',
  'unconfirmed',
];

/** States a push never leaves. */
export const TERMINAL_STATES: ReadonlySet<PushState> = new Set<PushState>([
  'delivered',
  'handed-back',
  'hand-back-refused',
  'hand-back-abandoned',
  'expired',
  'cancelled',
  'unconfirmed',
]);

/**
 * The allowed edges. `delivering → accepted` exists for one reason: after a crash mid-delivery the agent
 * cannot know whether the MESSAGE left, so a resume puts the push back to `accepted` and decides again.
 */
export const PUSH_TRANSITIONS: Readonly<Record<PushState, readonly PushState[]>> = {
  accepted: ['delivering', 'handing-back', 'hand-back-refused', 'expired', 'cancelled'],
  delivering: ['delivered', 'handing-back', 'hand-back-refused', 'expired', 'accepted', 'unconfirmed'],
  'handing-back': ['handed-back', 'hand-back-refused', 'hand-back-abandoned', 'expired'],
  delivered: [],
  'handed-back': [],
  'hand-back-refused': [],
  'hand-back-abandoned': [],
  expired: [],
  cancelled: [],
  unconfirmed: [],
};

/** True when the push can never change state again. */
export function isTerminal(state: PushState): boolean {
  return TERMINAL_STATES.has(state);
}

/** True when `from → to` is an edge of the lifecycle above. Pure; no I/O. */
export function canTransition(from: PushState, to: PushState): boolean {
  return PUSH_TRANSITIONS[from].includes(to);
}

/**
 * The check every store makes before a state change, so all of them refuse the same moves the same way:
 * `PUSH_STATE_CONFLICT` when the caller's compare-and-set guard names other states, or when `from → to`
 * is not an edge of the lifecycle.
 */
export function assertTransition(
  pushId: string,
  from: PushState,
  to: PushState,
  expectedFrom: PushState | readonly PushState[] | undefined,
): void {
  const expected = expectedFrom === undefined ? undefined : [expectedFrom].flat();
  if (expected && !expected.includes(from)) {
    throw new AgentError(ErrorCodes.PUSH_STATE_CONFLICT, `push ${pushId} is ${from}, expected ${expected.join('|')}`, 'state');
  }
  if (!canTransition(from, to)) {
    throw new AgentError(ErrorCodes.PUSH_STATE_CONFLICT, `push ${pushId}: ${from} → ${to} is not allowed`, 'state');
  }
}

/** Narrows a string read from storage or the admin API to a {@link PushState}. */
export function isPushState(value: string): value is PushState {
  return (PUSH_STATES as readonly string[]).includes(value);
}
