/**
 * Checks of a push's own fields that need no state: pure. PAP has no code of its own for an impossible
 * delivery window: it is refused at once with the field named (PAP 2000), rather than 1001 followed by
 * `expired`.
 */
import type { PushSubmission } from '../pap/pap-types.js';

/** Why the delivery window cannot be met (already past, or empty), if so. */
export function windowProblem(push: Pick<PushSubmission, 'deliverBefore' | 'deliverAfter'>, now: number): string | undefined {
  const before = push.deliverBefore?.getTime();
  const after = push.deliverAfter?.getTime();
  if (before !== undefined && before <= now) return `deliver-before-timestamp ${push.deliverBefore?.toISOString()} is already past`;
  if (before !== undefined && after !== undefined && before <= after)
    return 'deliver-before-timestamp is not later than deliver-after-timestamp';
  return undefined;
}
