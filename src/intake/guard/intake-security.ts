/**
 * Builds the intake's security pieces from the validated config (composition-root helpers, so agent.ts
 * stays a list of parts): the per-PI guard (intake-guard.ts) and the HTTPS key material.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AgentConfig } from '../../config/config-schema.js';
import { AgentError, ErrorCodes } from '../../errors.js';
import { IntakeAuthenticator } from './intake-auth.js';
import type { IntakeGuardOptions } from './intake-guard.js';
import { NotifyAllowList } from './notify-allow-list.js';
import { TokenBucketLimiter } from './token-bucket.js';

export function intakeGuardFromConfig(config: AgentConfig, logger: Logger): IntakeGuardOptions {
  const auth = new IntakeAuthenticator(config.intake.auth?.users ?? []);
  if (auth.open) logger.warn('intake is open: any client that reaches the HTTP port may push (set intake.auth.users)');
  const rate = config.intake.rateLimit;
  return {
    auth,
    limiter: rate ? new TokenBucketLimiter({ perSecond: rate.perSecond, burst: rate.burst }) : undefined,
    logger,
    adminToken: config.admin.token,
  };
}

/** The notify-destination allow-list (notify-allow-list.ts) from `intake` and `ppg.handBackUrl`. */
export function notifyAllowListFromConfig(config: AgentConfig): NotifyAllowList {
  return new NotifyAllowList({
    handBackUrl: config.ppg.handBackUrl,
    defaultPrefixes: config.intake.notifyPrefixes,
    users: config.intake.auth?.users,
  });
}

/** Reads `http.tls` files; a missing or unreadable file stops start-up naming the field. */
export function tlsFromConfig(config: AgentConfig): { cert: Buffer; key: Buffer } | undefined {
  const tls = config.http.tls;
  if (!tls) return undefined;
  const read = (path: string, field: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new AgentError(ErrorCodes.CONFIG_INVALID, `cannot read ${field} ${path}: ${(err as Error).message}`, field, { cause: err });
    }
  };
  return { cert: read(tls.certPath, 'http.tls.certPath'), key: read(tls.keyPath, 'http.tls.keyPath') };
}
