/**
 * The HTTP side of the client commands: where to POST (a credential written in the URL is moved into the
 * Authorization header and never shown), which credentials (HTTP Basic from --user/--password, or a
 * bearer token; the intake takes both), and one POST that yields a {@link PapAnswer}.
 */
import { readPapAnswer, type PapAnswer } from './pap-answer.js';

export interface Credentials {
  user?: string;
  password?: string;
  token?: string;
}

export interface Target {
  /** The URL to POST to, without any user:password part. */
  url: string;
  /** Safe to print: the same URL (it has no credentials any more). */
  shown: string;
  headers: Record<string, string>;
}

/** Throws an Error with a message fit to print (never containing the credential). */
export function resolveTarget(rawUrl: string, creds: Credentials): Target {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new Error('--url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must be http: or https:, not ${url.protocol}`);
  const user = creds.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = creds.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  url.username = '';
  url.password = '';
  const headers: Record<string, string> = {};
  if (creds.token !== undefined && user !== undefined) throw new Error('give either --token or --user/--password, not both');
  if (creds.token !== undefined) headers.authorization = `Bearer ${creds.token}`;
  else if (user !== undefined) headers.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
  return { url: url.href, shown: url.href, headers };
}

/** POSTs one PAP request; rejects with a printable message when no HTTP answer arrives. */
export async function postPap(
  target: Target,
  request: { contentType: string; body: Buffer },
  timeoutMs: number,
): Promise<PapAnswer & { raw: string }> {
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': request.contentType },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new Error(`cannot reach the agent at ${target.shown}: ${why}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  const answer = readPapAnswer(response.status, body, response.headers.get('content-type'), response.headers.get('x-push-bearer-hint'));
  return { ...answer, raw: body.toString('utf8') };
}
