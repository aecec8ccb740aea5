/**
 * Tests assert on stable error codes (src/errors.ts), never on message text. These return the
 * `AgentError` code a call failed with, or undefined when it did not fail; any other error is rethrown,
 * so a crash never passes for an expected refusal.
 */
import { AgentError } from '../../src/errors.js';

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AgentError) return err.code;
    throw err;
  }
  return undefined;
}

export async function codeOfAsync(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AgentError) return err.code;
    throw err;
  }
  return undefined;
}

/** The `AgentError` a call failed with (for its `field` and message); fails the test when it did not fail. */
export function agentErrorOf(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AgentError) return err;
    throw err;
  }
  throw new Error('expected an AgentError');
}
