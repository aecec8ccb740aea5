import { readFileSync } from 'node:fs';
import type { AgentConfig } from '../config/config-schema.js';
import { PpgHttpClient } from '../push/outbox/ppg-http-client.js';
import { USER_AGENT } from '../version.js';

/**
 * The outbox's HTTP client from `config.ppg`: credentials (Basic or Bearer) only for the hand-back URL's
 * origin, an extra CA when configured (read once here; a missing file fails the start, naming the field).
 */
export function ppgHttpClient(config: AgentConfig): PpgHttpClient {
  const { auth, tls, concurrency, notifyConcurrency, handBackUrl } = config.ppg;
  let authorization: string | undefined;
  if (auth && 'token' in auth) authorization = `Bearer ${auth.token}`;
  else if (auth) authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
  let ca: Buffer | undefined;
  if (tls) {
    try {
      ca = readFileSync(tls.caPath);
    } catch (err) {
      throw new Error(`ppg.tls.caPath: cannot read ${tls.caPath}: ${(err as Error).message}`);
    }
  }
  return new PpgHttpClient({
    userAgent: USER_AGENT,
    ...(authorization !== undefined ? { authorization, authOrigin: new URL(handBackUrl).origin } : {}),
    ...(ca !== undefined ? { ca } : {}),
    maxSocketsPerOrigin: Math.max(concurrency, notifyConcurrency),
    requestTimeoutMs: config.ppg.requestTimeoutMs,
    connectTimeoutMs: Math.min(5000, config.ppg.requestTimeoutMs),
  });
}
