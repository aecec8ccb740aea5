/**
 * What the `push`, `status` and `cancel` commands make of a PPG-side PAP answer: the element, push-id,
 * result code and description, message state, bearer hint; a one-line human summary; and the exit status
 * by PAP code class (PAP 2.0 §9.13: 1xxx success, 2xxx client error, 3xxx server error / not possible,
 * 4xxx service failure, 5xxx mobile client aborted). Pure: no I/O.
 */
import { readPapDocument, type PapElement } from '../push/pap/pap-document.js';

export interface PapAnswer {
  httpStatus: number;
  /** `push-response`, `badmessage-response`, `cancel-response`, `statusquery-response`, … */
  element?: string;
  pushId?: string;
  code?: number;
  desc?: string;
  /** statusquery-result `message-state`. */
  messageState?: string;
  /** `X-Push-Bearer-Hint` (set with PAP 3010). */
  bearerHint?: string;
}

/**
 * Exit statuses of the client commands (README "CLI"): the PAP code's class, or 1 when there is no PAP
 * answer at all (agent unreachable, timeout, or an HTTP error without a PAP body such as 401).
 */
export const EXIT = { ok: 0, noPapAnswer: 1, clientError: 2, serverError: 3, serviceFailure: 4, clientAborted: 5, usage: 64 } as const;

export function exitStatusFor(answer: Pick<PapAnswer, 'code'>): number {
  const cls = answer.code === undefined ? 0 : Math.floor(answer.code / 1000);
  return [EXIT.noPapAnswer, EXIT.ok, EXIT.clientError, EXIT.serverError, EXIT.serviceFailure, EXIT.clientAborted][cls] ?? EXIT.noPapAnswer;
}

/** The result element of each answer (push-response carries progress-notes before its response-result). */
const RESULT_OF: Record<string, string | undefined> = {
  'push-response': 'response-result',
  'cancel-response': 'cancel-result',
  'statusquery-response': 'statusquery-result',
};

/** Reads an HTTP answer body; a body that is not PAP XML leaves only the HTTP status. */
export function readPapAnswer(httpStatus: number, body: Buffer, contentType: string | null, bearerHint: string | null): PapAnswer {
  const answer: PapAnswer = { httpStatus, ...(bearerHint ? { bearerHint } : {}) };
  if (!/xml/i.test(contentType ?? '') || body.length === 0) return answer;
  let root: PapElement;
  try {
    root = readPapDocument(body, /charset="?([\w-]+)/i.exec(contentType ?? '')?.[1]).root;
  } catch {
    return answer;
  }
  const element = root.name === 'pap' ? root.children[0] : root;
  if (!element) return answer;
  const resultName = RESULT_OF[element.name];
  const result = resultName ? element.children.find((c) => c.name === resultName) : element; // badmessage-response: on itself
  const code = Number(result?.attributes.code);
  return {
    ...answer,
    element: element.name,
    ...(element.attributes['push-id'] !== undefined ? { pushId: element.attributes['push-id'] } : {}),
    ...(Number.isInteger(code) ? { code } : {}),
    ...(result?.attributes.desc !== undefined ? { desc: result.attributes.desc } : {}),
    ...(result?.attributes['message-state'] !== undefined ? { messageState: result.attributes['message-state'] } : {}),
  };
}

/** One line for a person: `1001 accepted (push-id p1)`, `3010 handed back, hint SMS (push-id p2)`, … */
export function summarize(a: PapAnswer): string {
  const id = a.pushId !== undefined ? ` (push-id ${a.pushId})` : '';
  if (a.code === undefined) return `HTTP ${a.httpStatus} without a PAP answer`;
  const desc = a.desc ? `: ${a.desc}` : '';
  switch (a.element) {
    case 'push-response':
      if (a.code === 1001) return `1001 accepted${id}`;
      if (a.code === 3010 && a.bearerHint) return `3010 handed back, hint ${a.bearerHint}${id}`;
      return `${a.code}${desc}${id}`;
    case 'statusquery-response':
      return `${a.pushId ?? '?'}: ${a.messageState ?? 'unknown'} (${a.code}${desc})`;
    case 'cancel-response':
      return `${a.code === 1001 ? `${a.code} cancelled` : `${a.code}${desc}`}${id}`;
    case 'badmessage-response':
      return `${a.code} bad message${desc}`;
    default:
      return `${a.code}${desc}${id}`;
  }
}
