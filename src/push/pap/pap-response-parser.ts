/**
 * Reads PAP answers the agent receives: the PPG's `push-response` to a hand-back, a PI's
 * `resultnotification-response` to a notification, a `badmessage-response` (PAP 2.0 §9.3, §9.9, §9.10).
 * Same safe reader as requests; the outcome is the `code` of `response-result` or of the element itself.
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import { parseContentType } from './content-type.js';
import { readPapDocument, type PapElement } from './pap-document.js';
import type { PapVersion } from './pap-types.js';

export interface PapResponse {
  /** The message element, e.g. `push-response`, `resultnotification-response`, `badmessage-response`. */
  kind: string;
  version: PapVersion;
  pushId?: string;
  code?: number;
  desc?: string;
  /** The message element as parsed, for anything else (progress notes, addresses, …). */
  element: PapElement;
}

/** Parses a PAP answer body; PAP_INVALID when it is not one, PAP_VERSION for an unsupported version. */
export function parsePapResponse(body: Buffer, contentType = 'application/xml'): PapResponse {
  const { root, version } = readPapDocument(body, parseContentType(contentType).params.charset);
  const element = root.children[0];
  if (!element || root.children.length !== 1) throw new AgentError(ErrorCodes.PAP_INVALID, '<pap> must hold exactly one message', 'pap');
  const result = element.children.find((child) => child.name === 'response-result') ?? element;
  const rawCode = result.attributes.code?.trim();
  const code = rawCode !== undefined && /^\d{4,5}$/.test(rawCode) ? Number(rawCode) : undefined;
  const pushId = element.attributes['push-id'];
  const desc = result.attributes.desc;
  return {
    kind: element.name,
    version,
    element,
    ...(pushId !== undefined ? { pushId } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(desc !== undefined ? { desc } : {}),
  };
}
