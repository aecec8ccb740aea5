/**
 * `GET /metrics` (Prometheus text format), on the intake listener or on a listener of its own, and
 * optionally behind the admin bearer token (config `metrics`): a scrape reveals traffic volumes and
 * user counts, which an operator may not want open to every PI that reaches the intake.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { ErrorCodes } from '../../errors.js';
import { bearerMatches } from '../guard/bearer-auth.js';
import { sendError } from '../http/http-errors.js';
import type { AgentMetrics } from '../../ops/metrics.js';

/** Registers `/metrics`; with `token`, a scrape needs `Authorization: Bearer <token>` (RFC 6750 §2.1). */
export function registerMetricsRoute(app: FastifyInstance, metrics: AgentMetrics, token?: string): void {
  app.get('/metrics', async (request, reply) => {
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      reply.header('WWW-Authenticate', 'Bearer realm="sip-push-agent metrics"');
      return sendError(reply, 401, ErrorCodes.ADMIN_UNAUTHORIZED, 'missing or wrong bearer token');
    }
    const { contentType, body } = await metrics.scrape();
    reply.type(contentType);
    return body;
  });
}

/** A listener that serves `/metrics` only (everything else: 404 in the ops error shape). */
export function createMetricsServer(metrics: AgentMetrics, token?: string): FastifyInstance {
  const app = Fastify({ logger: false }) as unknown as FastifyInstance;
  registerMetricsRoute(app, metrics, token);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`),
  );
  return app;
}
