/**
 * What a PAP answer to one of the agent's POSTs means (pure; no I/O). The PAP code decides, not the HTTP
 * status: PPGs answer refusals inside HTTP 200/202 (PAP 2.0 §9.3, §9.10), so a 2xx alone acknowledges
 * nothing.
 *
 * - A hand-back is acknowledged only by a `push-response` for the same push-id whose `response-result`
 *   is 1000 or 1001. One exception: 2007 "Duplicate push ID" on a *repeated* attempt means an earlier
 *   copy of this very hand-back reached the PPG (its answer was lost or late), so it is acknowledged.
 * - A result notification is acknowledged by a `resultnotification-response` with a 1xxx code.
 * - A retry can help only for 4xxx (service failure / unavailable: PAP 2.0 status code table), an HTTP
 *   5xx/408/429, a network error or timeout, or an answer that is not PAP at all (a proxy's error page,
 *   a wrong URL: nothing was said about the push; the outbox give-up rule bounds these).
 * - Everything else — `badmessage-response`, 2xxx, 3xxx, 5xxx — is a refusal: sending the same bytes
 *   again cannot change the answer.
 */
import { describePapCode } from './pap-codes.js';
import { parsePapResponse } from './pap-response-parser.js';

export type PpgAnswerVerdict =
  | { verdict: 'acknowledged'; code: number; desc: string }
  | { verdict: 'retry'; error: string }
  | { verdict: 'refused'; code: number; desc: string };

export interface PpgAnswer {
  status: number;
  contentType?: string;
  body: Buffer;
}

const EXPECTED = { 'hand-back': 'push-response', 'result-notification': 'resultnotification-response' } as const;

/** A description as the other side wrote it, made safe for logs, the store and a PAP attribute. */
function cleanDesc(desc: string | undefined, code: number): string {
  const text = (desc ?? '')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, 200);
  return text === '' ? describePapCode(code) : text;
}

/**
 * Judges one answer. `previousAttempts` is how many earlier POSTs of the same item were made (a 2007 on
 * a repeat is our own earlier copy).
 */
export function judgePpgAnswer(kind: keyof typeof EXPECTED, pushId: string, previousAttempts: number, answer: PpgAnswer): PpgAnswerVerdict {
  const { status } = answer;
  if (status >= 500 || status === 408 || status === 429) return { verdict: 'retry', error: `HTTP ${status}` };
  let parsed: ReturnType<typeof parsePapResponse>;
  try {
    parsed = parsePapResponse(answer.body, answer.contentType ?? 'application/xml');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { verdict: 'retry', error: `HTTP ${status} without a PAP answer (${why.slice(0, 120)})` };
  }
  if (parsed.code === undefined) return { verdict: 'retry', error: `HTTP ${status}: <${parsed.kind}> without a code` };
  const code = parsed.code;
  const desc = cleanDesc(parsed.desc, code);
  if (parsed.kind === 'badmessage-response') {
    return code >= 4000 && code < 5000 ? { verdict: 'retry', error: `PAP ${code} ${desc}` } : { verdict: 'refused', code, desc };
  }
  if (parsed.kind !== EXPECTED[kind]) {
    return { verdict: 'retry', error: `HTTP ${status}: <${parsed.kind}> is not an answer to a ${kind}` };
  }
  if (parsed.pushId !== undefined ? parsed.pushId !== pushId : kind === 'hand-back') {
    return { verdict: 'retry', error: `HTTP ${status}: answer for push-id ${JSON.stringify((parsed.pushId ?? '(none)').slice(0, 80))}` };
  }
  const codeClass = Math.floor(code / 1000);
  if (kind === 'hand-back' ? code === 1000 || code === 1001 : codeClass === 1) return { verdict: 'acknowledged', code, desc };
  if (kind === 'hand-back' && code === 2007 && previousAttempts > 0) return { verdict: 'acknowledged', code, desc };
  if (codeClass === 4) return { verdict: 'retry', error: `PAP ${code} ${desc}` };
  return { verdict: 'refused', code, desc };
}
