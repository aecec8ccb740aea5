/**
 * The HTTP client for outbox POSTs: one undici `Pool` of keep-alive connections per destination origin
 * (the PPG, each PI's notify URL), with its connect and answer timeouts kept by the pool itself — no
 * AbortController or timer per POST — and a deliberate, minimal header set: `Content-Type`,
 * `Content-Length`, `Host`, `Connection`, `User-Agent: sip-push-agent/<version>` and, for the PPG's own
 * origin only, `Authorization`. Nothing else: a PPG may copy request headers into the push it sends over
 * the air, so client defaults such as `accept`, `accept-language`, `sec-fetch-mode` or `accept-encoding`
 * (what `fetch()` adds) would cost SMS segments. Credentials go only to the configured PPG origin, never
 * to a PI's notify URL.
 */
import { setMaxListeners } from 'node:events';
import { Pool, errors } from 'undici';
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
  /** Connections per destination (the lane's concurrency). */
  maxSocketsPerOrigin: number;
  /** Pools at most (one per origin; the least recently used is closed past it). Default 64. */
  maxOrigins?: number;
  /** TCP (+ TLS) connect at most this long. Default 5000. */
  connectTimeoutMs?: number;
  /** Answer headers within this after the request went out, and no longer gap in the body. Default 10000. */
  requestTimeoutMs?: number;
}

export interface PpgHttpAnswer {
  status: number;
  contentType: string | undefined;
  /** At most `maxBytes` of the body. */
  body: Buffer;
}

export interface SendOptions {
  /** Overrides the pool's answer timeout for this POST. */
  timeoutMs?: number;
  /** At most this much of the answer body is kept (the connection is dropped past it). Default 65536. */
  maxBytes?: number;
  /** One signal for many POSTs (the dispatcher's stop), not one per POST. */
  signal?: AbortSignal;
}

/** Turns undici's error classes into the short reasons `last_error` and the logs show. */
function describe(err: unknown, timeoutMs: number, connectTimeoutMs: number): Error {
  if (err instanceof errors.HeadersTimeoutError) return new Error(`timed out after ${timeoutMs} ms waiting for the answer`);
  if (err instanceof errors.BodyTimeoutError) return new Error(`timed out after ${timeoutMs} ms reading the answer`);
  if (err instanceof errors.ConnectTimeoutError) return new Error(`timed out after ${connectTimeoutMs} ms connecting`);
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  return new Error(scrubSecrets(typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message));
}

export class PpgHttpClient {
  readonly #o: PpgHttpClientOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;

  constructor(options: PpgHttpClientOptions) {
    this.#o = options;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  #pool(url: URL): Pool {
    const origin = url.origin;
    const found = this.#pools.get(origin);
    if (found) {
      this.#pools.delete(origin);
      this.#pools.set(origin, found); // most recently used last
      return found;
    }
    const pool = new Pool(origin, {
      connections: this.#o.maxSocketsPerOrigin,
      connectTimeout: this.#connectTimeoutMs,
      headersTimeout: this.#requestTimeoutMs,
      bodyTimeout: this.#requestTimeoutMs,
      ...(url.protocol === 'https:' && this.#o.ca !== undefined ? { connect: { ca: this.#o.ca } } : {}),
    });
    this.#pools.set(origin, pool);
    const max = this.#o.maxOrigins ?? 64;
    while (this.#pools.size > max) {
      const [oldest, old] = this.#pools.entries().next().value as [string, Pool];
      this.#pools.delete(oldest);
      void old.close().catch(() => undefined); // lets its POSTs in flight finish
    }
    return pool;
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
   * POSTs `body`; resolves with the answer, rejects with the network or timeout error, the signal's
   * reason, or an {@link UnbuildableRequestError}. Error messages are scrubbed of credentials.
   */
  async send(
    rawUrl: string,
    contentType: string,
    body: Buffer,
    extraHeaders: Record<string, string>,
    o: SendOptions = {},
  ): Promise<PpgHttpAnswer> {
    const url = PpgHttpClient.destination(rawUrl);
    const headers: Record<string, string> = {
      ...extraHeaders,
      'Content-Type': contentType,
      'User-Agent': this.#o.userAgent,
    };
    if (this.#o.authorization !== undefined && url.origin === this.#o.authOrigin) headers.Authorization = this.#o.authorization;
    for (const [name, value] of Object.entries(headers)) {
      // Checked here so a bad header is "cannot be built" (never retried), whatever the library says.
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[^\t\x20-\x7e\x80-\xff]/.test(value)) {
        throw new UnbuildableRequestError(`header ${JSON.stringify(scrubSecrets(name))} has a character HTTP does not allow`);
      }
    }
    const timeoutMs = o.timeoutMs ?? this.#requestTimeoutMs;
    const maxBytes = o.maxBytes ?? 65536;
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.#pool(url).request({
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (err instanceof errors.InvalidArgumentError) throw new UnbuildableRequestError(scrubSecrets(err.message));
      throw describe(err, timeoutMs, this.#connectTimeoutMs);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        res.body.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= maxBytes) {
            res.body.destroy(); // enough for any PAP answer; the rest is not read
            resolve();
          }
        });
        res.body.once('end', resolve);
        res.body.once('error', reject);
      });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      throw describe(err, timeoutMs, this.#connectTimeoutMs);
    }
    const type = res.headers['content-type'];
    return {
      status: res.statusCode,
      contentType: Array.isArray(type) ? type[0] : type,
      body: Buffer.concat(chunks).subarray(0, maxBytes),
    };
  }

  /** A signal that may be shared by many POSTs at once (no listener-count warning). */
  static sharedSignal(controller: AbortController): AbortSignal {
    setMaxListeners(0, controller.signal);
    return controller.signal;
  }

  /** Closes every pool (kept-alive connections at once; POSTs in flight are aborted). */
  close(): void {
    for (const pool of this.#pools.values()) void pool.destroy().catch(() => undefined);
    this.#pools.clear();
  }
}
