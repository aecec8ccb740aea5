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
 * `cancelled` is reachable only from `accepted`: once a MESSAGE is on the wire (or the push is on its way
 * back to the PPG) the agent can no longer take it back, so a PAP cancel-message then answers PAP 2008
 * "Cancellation not possible" instead of lying.
 */
export type PushState =
  | 'accepted'
  | 'delivering'
  | 'handing-back'
  | 'delivered'
  | 'handed-back'
  | 'hand-back-refused'
  | 'hand-back-abandoned'
  | 'expired'
  | 'cancelled';

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
];

/** States a push never leaves. */
export const TERMINAL_STATES: ReadonlySet<PushState> = new Set<PushState>([
  'delivered',
  'handed-back',
  'hand-back-refused',
  'hand-back-abandoned',
  'expired',
  'cancelled',
]);

/**
 * The allowed edges. `delivering → accepted` exists for one reason: after a crash mid-delivery the agent
 * cannot know whether the MESSAGE left, so a resume puts the push back to `accepted` and decides again.
 */
export const PUSH_TRANSITIONS: Readonly<Record<PushState, readonly PushState[]>> = {
  accepted: ['delivering', 'handing-back', 'hand-back-refused', 'expired', 'cancelled'],
  delivering: ['delivered', 'handing-back', 'hand-back-refused', 'expired', 'accepted'],
  'handing-back': ['handed-back', 'hand-back-refused', 'hand-back-abandoned', 'expired'],
  delivered: [],
  'handed-back': [],
  'hand-back-refused': [],
  'hand-back-abandoned': [],
  expired: [],
  cancelled: [],
};

/** True when the push can never change state again. */
export function isTerminal(state: PushState): boolean {
  return TERMINAL_STATES.has(state);
}

/** True when `from → to` is an edge of the lifecycle above. Pure; no I/O. */
export function canTransition(from: PushState, to: PushState): boolean {
  return PUSH_TRANSITIONS[from].includes(to);
}

/** Narrows a string read from storage or the admin API to a {@link PushState}. */
export function isPushState(value: string): value is PushState {
  return (PUSH_STATES as readonly string[]).includes(value);
}
