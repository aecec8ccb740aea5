/**
 * The HTTP client for outbox POSTs: `node:http`/`node:https` with one keep-alive agent per destination
 * origin, and a deliberate, minimal header set — `Content-Type`, `Content-Length`, `Host`, `Connection`,
 * `User-Agent: sip-push-agent/<version>` and, for the PPG's own origin only, `Authorization`. Nothing
 * else: a PPG may copy request headers into the push it sends over the air, so client defaults such as
 * `accept`, `accept-language`, `sec-fetch-mode` or `accept-encoding` (what `fetch()` adds) would cost
 * SMS segments. Credentials go only to the configured PPG origin, never to a PI's notify URL.
 */
import http from 'node:http';
import https from 'node:https';
import { scrubSecrets } from './scrub.js';

/** A request the client cannot even build (bad URL, credentials in the URL, bad header): retrying is useless. */
export class UnbuildableRequestError extends Error {
  override readonly name = 'UnbuildableRequestError';
}

export interface PpgHttpClientOptions {
  /** `sip-push-agent/<version>`. */
  userAgent: string;
  /** An `Authorization` value sent only to `authOrigin` (the hand-back URL's origin). */
  authorization?: string;
  authOrigin?: string;
  /** Extra trusted CA certificates (PEM) for https destinations. */
  ca?: string | Buffer;
  /** Sockets per destination (the lane's concurrency). */
  maxSocketsPerOrigin: number;
  /** Kept-alive agents at most (one per origin; the least recently used is closed past it). */
  maxOrigins?: number;
}

export interface PpgHttpAnswer {
  status: number;
  contentType: string | undefined;
  /** At most `maxBytes` of the body. */
  body: Buffer;
}

export class PpgHttpClient {
  readonly #o: PpgHttpClientOptions;
  readonly #agents = new Map<string, http.Agent>();

  constructor(options: PpgHttpClientOptions) {
    this.#o = options;
  }

  #agent(url: URL): http.Agent {
    const origin = url.origin;
    const found = this.#agents.get(origin);
    if (found) {
      this.#agents.delete(origin);
      this.#agents.set(origin, found); // most recently used last
      return found;
    }
    const options = { keepAlive: true, maxSockets: this.#o.maxSocketsPerOrigin, maxFreeSockets: this.#o.maxSocketsPerOrigin };
    const agent =
      url.protocol === 'https:'
        ? new https.Agent({ ...options, ...(this.#o.ca !== undefined ? { ca: this.#o.ca } : {}) })
        : new http.Agent(options);
    this.#agents.set(origin, agent);
    const max = this.#o.maxOrigins ?? 64;
    while (this.#agents.size > max) {
      const [oldest, old] = this.#agents.entries().next().value as [string, http.Agent];
      this.#agents.delete(oldest);
      old.destroy();
    }
    return agent;
  }

  /** Parses and checks a destination; UnbuildableRequestError when no request can be made to it. */
  static destination(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UnbuildableRequestError('not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnbuildableRequestError(`unsupported scheme ${url.protocol}`);
    if (url.username !== '' || url.password !== '') {
      throw new UnbuildableRequestError('the URL carries credentials (refused; configure ppg.auth instead)');
    }
    return url;
  }

  /**
   * POSTs `body`; resolves with the answer, rejects with the network error, the abort reason, or an
   * {@link UnbuildableRequestError}. Error messages are scrubbed of credentials.
   */
  post(
    rawUrl: string,
    contentType: string,
    body: Buffer,
    extraHeaders: Record<string, string>,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<PpgHttpAnswer> {
    return new Promise((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        const url = PpgHttpClient.destination(rawUrl);
        const headers: Record<string, string | number> = {
          ...extraHeaders,
          'Content-Type': contentType,
          'Content-Length': body.length,
          'User-Agent': this.#o.userAgent,
        };
        if (this.#o.authorization !== undefined && url.origin === this.#o.authOrigin) headers.Authorization = this.#o.authorization;
        const send = url.protocol === 'https:' ? https.request : http.request;
        req = send(url, { method: 'POST', headers, agent: this.#agent(url), signal });
      } catch (err) {
        // http.request validates the URL and every header synchronously (ERR_INVALID_CHAR, …).
        const message = err instanceof Error ? err.message : String(err);
        reject(err instanceof UnbuildableRequestError ? err : new UnbuildableRequestError(scrubSecrets(message)));
        return;
      }
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= maxBytes) return;
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).subarray(0, maxBytes),
          }),
        );
        res.on('error', (err) => reject(new Error(scrubSecrets(err.message))));
      });
      req.on('error', (err) => {
        if (signal.aborted) reject(signal.reason);
        else reject(new Error(scrubSecrets(err.message)));
      });
      req.end(body);
    });
  }

  /** Closes every kept-alive connection. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
