/**
 * The intake's front door, as fastify hooks on the PAP route and the JSON push API: per-PI
 * authentication (intake-auth.ts) before any body is read, then the per-PI rate limit (token-bucket.ts).
 * The authenticated caller ({@link intakeCallerOf}) goes with the request to the push path, which
 * records it with each push and answers status query, read and cancel only for the caller's own pushes.
 * The admin token (`admin.token`) is taken here too, as a caller that may read and cancel any push.
 *
 * - Missing or wrong credentials → HTTP 401 with `WWW-Authenticate` for Basic and Bearer (RFC 7235 §3.1),
 *   JSON error `INTAKE_UNAUTHORIZED`. Logged with the source address only, never the header.
 * - Over the PI's rate → PAP 4001 "Service unavailable" (PAP §9.13) with **HTTP 429** and `Retry-After`
 *   (RFC 6585 §4). 429, not 503: it tells the PPG that *this PI* is over its share, while 503 (also PAP
 *   4001) means the agent as a whole is overloaded or shutting down. Both carry Retry-After; a PPG that
 *   only reads the PAP code sees 4001 either way.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCodes } from '../../errors.js';
import { PapCode } from '../../push/pap/pap-codes.js';
import { buildPushResponse } from '../../push/pap/pap-builder.js';
import { ANONYMOUS_CALLER, type IntakeCaller } from '../../push/push-settings.js';
import { bearerMatches } from './bearer-auth.js';
import { sendError } from '../http/http-errors.js';
import { INTAKE_CHALLENGE, type IntakeAuthenticator } from './intake-auth.js';
import type { TokenBucketLimiter } from './token-bucket.js';

export interface IntakeGuardOptions {
  auth: IntakeAuthenticator;
  /** Absent: no rate limit. */
  limiter?: TokenBucketLimiter;
  logger: Logger;
  senderName?: string;
  /** `admin.token`: presented as `Authorization: Bearer`, the caller may read and cancel any PI's push. */
  adminToken?: string;
}

const ADMIN_CALLER: IntakeCaller = Object.freeze({ pi: 'admin', admin: true });
const callers = new WeakMap<FastifyRequest, IntakeCaller>();

/** The caller the guard authenticated for `request`; the anonymous PI when no guard is registered. */
export function intakeCallerOf(request: FastifyRequest): IntakeCaller {
  return callers.get(request) ?? ANONYMOUS_CALLER;
}

/** The push-id of a PAP push-message, read from the first bytes only (for the 4001 answer). */
function pushIdOf(body: unknown): string {
  if (!Buffer.isBuffer(body)) return '';
  const match = /push-id\s*=\s*["']([^"'<>&]{1,200})["']/.exec(body.subarray(0, 16 * 1024).toString('latin1'));
  return match?.[1] ?? '';
}

/**
 * Registers the hooks; call before the intake routes are added. `papPath` answers in PAP, the JSON API
 * (`/v1/pushes…`) in JSON.
 */
export function registerIntakeGuard(app: FastifyInstance, papPath: string, options: IntakeGuardOptions): void {
  const log = options.logger.child({ component: 'intake-guard' });
  const isIntake = (url: string | undefined) => url === papPath || (url ?? '').startsWith('/v1/pushes');
  const piOf = new WeakMap<FastifyRequest, string>();

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (!isIntake(url)) return;
    const authorization = request.headers.authorization;
    if (options.adminToken !== undefined && bearerMatches(authorization, options.adminToken)) {
      callers.set(request, ADMIN_CALLER);
      piOf.set(request, ADMIN_CALLER.pi);
      return;
    }
    const pi = options.auth.authenticate(authorization);
    if (pi === undefined) {
      log.warn({ ip: request.ip, url, scheme: request.headers.authorization?.split(' ')[0] }, 'intake: authentication failed');
      reply.header('WWW-Authenticate', INTAKE_CHALLENGE);
      await sendError(reply, 401, ErrorCodes.INTAKE_UNAUTHORIZED, 'intake needs the Basic or Bearer credentials of a configured PI');
      return reply;
    }
    callers.set(request, options.auth.open ? ANONYMOUS_CALLER : { pi });
    // The rate limit tells open-intake callers apart by address; ownership cannot (NAT, PPG clusters).
    piOf.set(request, options.auth.open ? `anonymous@${request.ip}` : pi);
  });

  const limiter = options.limiter;
  if (!limiter) return;
  app.addHook('preHandler', async (request, reply) => {
    const pi = piOf.get(request);
    if (pi === undefined) return;
    const taken = limiter.take(pi);
    if (taken.ok) return;
    log.info({ pi, url: request.routeOptions.url }, 'intake: rate limit reached');
    reply.header('Retry-After', String(taken.retryAfterSeconds));
    if (request.routeOptions.url !== papPath) {
      await sendError(reply, 429, ErrorCodes.INTAKE_RATE_LIMITED, `rate limit reached for ${pi}; retry after ${taken.retryAfterSeconds} s`);
      return reply;
    }
    const body = buildPushResponse({
      pushId: pushIdOf(request.body),
      code: PapCode.SERVICE_UNAVAILABLE,
      desc: `Rate limit reached for this PI; retry after ${taken.retryAfterSeconds} s`,
      replyTime: new Date(),
      senderName: options.senderName ?? 'sip-push-agent',
    });
    await reply.code(429).type('application/xml').send(body);
    return reply;
  });
}
