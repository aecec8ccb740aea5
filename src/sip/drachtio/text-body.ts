import { AgentError } from '../../errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as the text drachtio can carry, or a refusal.
 *
 * drachtio-srf frames its wire protocol as UTF-8 text and keeps SIP bodies as JS strings
 * (docs/interop.md, "Bodies are text"), so only bytes that decode as UTF-8 and
 * encode back to the same bytes survive. NUL is refused too: the server's C string handling may cut the
 * body there. Anything else (WBXML, `application/vnd.wap.*c`, raw binary) is refused with
 * `BODY_NOT_CARRIED` instead of being corrupted. Pure.
 */
export function bodyAsCarriedText(body: Buffer | undefined, contentType: string | undefined): string | undefined {
  if (!body || body.length === 0) return undefined;
  const what = contentType ? `a ${contentType} body` : 'the body';
  if (body.includes(0)) {
    throw new AgentError('BODY_NOT_CARRIED', `drachtio engine carries UTF-8 text bodies only: ${what} contains NUL bytes`);
  }
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch (error) {
    throw new AgentError('BODY_NOT_CARRIED', `drachtio engine carries UTF-8 text bodies only: ${what} is not valid UTF-8`, undefined, {
      cause: error,
    });
  }
  return text;
}

/** A received body (a UTF-8 string on this path) as bytes; empty Buffer when there is none. */
export function bodyBytes(body: string | undefined): Buffer {
  return body ? Buffer.from(body, 'utf8') : Buffer.alloc(0);
}
