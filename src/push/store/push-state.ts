/**
 * The lifecycle of one accepted push (product.md §2: "every accepted push ends in exactly one terminal
 * state: delivered, handed back, expired or cancelled").
 *
 * ```
 *              ┌──────────────► delivering ──► delivered
 *   accepted ──┤   ▲ (resume        │
 *              │   └── after crash)─┤
 *              ├──────────────► handing-back ──► handed-back   (the PPG acknowledged the hand-back)
 *              ├──► expired  ◄──────┴─────────────┘            (PAP deliver-before-timestamp passed)
 *              └──► cancelled                                  (PAP cancel-message)
 * ```
 *
 * `cancelled` is reachable only from `accepted`: once a MESSAGE is on the wire (or the push is on its way
 * back to the PPG) the agent can no longer take it back, so a PAP cancel-message then answers PAP 2008
 * "Cancellation not possible" instead of lying (standards-digest.md §PAP status codes).
 */
export type PushState =
  | 'accepted'
  | 'delivering'
  | 'handing-back'
  | 'delivered'
  | 'handed-back'
  | 'expired'
  | 'cancelled';

/** Every state, in lifecycle order (handy for counters and exhaustive tables). */
export const PUSH_STATES: readonly PushState[] = [
  'accepted',
  'delivering',
  'handing-back',
  'delivered',
  'handed-back',
  'expired',
  'cancelled',
];

/** States a push never leaves. */
export const TERMINAL_STATES: ReadonlySet<PushState> = new Set<PushState>([
  'delivered',
  'handed-back',
  'expired',
  'cancelled',
]);

/**
 * The allowed edges. `delivering → accepted` exists for one reason: after a crash mid-delivery the agent
 * cannot know whether the MESSAGE left, so a resume puts the push back to `accepted` and decides again.
 */
export const PUSH_TRANSITIONS: Readonly<Record<PushState, readonly PushState[]>> = {
  accepted: ['delivering', 'handing-back', 'expired', 'cancelled'],
  delivering: ['delivered', 'handing-back', 'expired', 'accepted'],
  'handing-back': ['handed-back', 'expired'],
  delivered: [],
  'handed-back': [],
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
