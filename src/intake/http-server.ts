/**
 * The agent's one HTTP listener (fastify): PAP intake, health and readiness, `/metrics`, the admin API
 * (admin-routes.ts), the JSON push API (json-push-routes.ts) and its OpenAPI description. Bodies reach
 * the push path as raw Buffers (binary-safe multipart/related, PAP §8); size limits answer HTTP 413 and
 * slow clients are cut by the request timeout.
 */
import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCodes, isErrorCode } from '../errors.js';
import { buildBadMessageResponse } from '../push/pap/pap-builder.js';
import { PapCode } from '../push/pap/pap-codes.js';
import type { IntakeCaller } from '../push/push-settings.js';
import { registerAdminRoutes, type AdminDependencies } from './admin/admin-routes.js';
import { sendError } from './http/http-errors.js';
import { registerBodyDeadline } from './http/body-deadline.js';
import { intakeCallerOf, registerIntakeGuard, type IntakeGuardOptions } from './guard/intake-guard.js';
import type { PapAnswer } from './pap/pap-endpoint.js';
import { registerJsonPushRoutes, type JsonPushDependencies } from './json/json-push-routes.js';
import { drainAfterRefusal, type OverLimitDrain } from './http/over-limit-drain.js';
import type { AgentMetrics } from '../ops/metrics.js';
import { createMetricsServer, registerMetricsRoute } from './admin/metrics-route.js';

/** docs/openapi.yaml, served at `GET /openapi.yaml`. */
export const OPENAPI_FILE = new URL('../../docs/openapi.yaml', import.meta.url);

export interface HttpServerOptions {
  host: string;
  port: number;
  papPath: string;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** After a 413, how long and how much of the rest of the body is read and discarded (over-limit-drain.ts). */
  overLimitDrain?: OverLimitDrain;
  logger: Logger;
  handlePap(contentType: string, body: Buffer, caller: IntakeCaller): Promise<PapAnswer>;
  /** Readiness checks: name → ok. */
  readiness(): Record<string, boolean>;
  /** Served at `/metrics`; the PAP and JSON routes record intake latency into it. */
  metrics?: AgentMetrics;
  /** Where `/metrics` is served (config `metrics`): a listener of its own, a bearer token. Default: here, open. */
  metricsServing?: { listen?: { host: string; port: number }; token?: string };
  /** The admin API; absent → no `/admin` routes at all. */
  admin?: AdminDependencies;
  /** The JSON push API (`/v1/pushes`); absent → not served. */
  jsonPushes?: JsonPushDependencies;
  /** Per-PI authentication and rate limit on the PAP route and `/v1/pushes` (intake-guard.ts). */
  intakeGuard?: IntakeGuardOptions;
  /** PEM certificate chain and key: serve HTTPS (config `http.tls`). */
  tls?: { cert: Buffer; key: Buffer };
}

export interface HttpServer {
  readonly app: FastifyInstance;
  /** Every route the intake listener serves (method, path in fastify form), HEAD excluded. */
  routes(): { method: string; url: string }[];
  /** The metrics listener's address once listening, when `/metrics` has a port of its own. */
  metricsAddress(): { host: string; port: number } | undefined;
  listen(): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  // Node checks requestTimeout only every connectionsCheckingInterval (30 s by default): check often
  // enough that a client trickling its request is cut close to the configured bound.
  const server = { connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(options.requestTimeoutMs / 4))) };
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    connectionTimeout: options.requestTimeoutMs,
    logger: false,
    ...(options.tls ? { https: { ...server, ...options.tls } } : { http: server }),
  }) as unknown as FastifyInstance;
  const log = options.logger.child({ module: 'http' });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  if (options.intakeGuard) registerIntakeGuard(app, options.papPath, options.intakeGuard);
  registerBodyDeadline(app, options.requestTimeoutMs, log);

  // Every body stays bytes; the PAP codec decides what it is.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post(options.papPath, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const result = await options.handlePap(request.headers['content-type'] ?? '', body, intakeCallerOf(request));
    options.metrics?.observeIntake('pap', result.outcome, reply.elapsedTime / 1000);
    reply.code(result.httpStatus).headers(result.headers).type(result.contentType);
    return result.body;
  });

  const metrics = options.metrics;
  const metricsListen = options.metricsServing?.listen;
  const metricsApp = metrics && metricsListen ? createMetricsServer(metrics, options.metricsServing?.token) : undefined;
  if (metrics && !metricsListen) registerMetricsRoute(app, metrics, options.metricsServing?.token);
  if (options.admin) registerAdminRoutes(app, options.admin, log);
  if (options.jsonPushes) registerJsonPushRoutes(app, options.jsonPushes, options.metrics);

  let openapi: Promise<string> | undefined;
  app.get('/openapi.yaml', async (_request, reply) => {
    openapi ??= readFile(OPENAPI_FILE, 'utf8');
    try {
      const text = await openapi;
      reply.type('application/yaml; charset=utf-8');
      return text;
    } catch {
      openapi = undefined;
      return sendError(reply, 404, ErrorCodes.NOT_FOUND, 'docs/openapi.yaml is not installed');
    }
  });

  app.get('/healthz', async () => ({ status: 'up' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = options.readiness();
    const ready = Object.values(checks).every(Boolean);
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not-ready', checks };
  });

  // Unknown routes answer in the same shape as every other ops error (docs/openapi.yaml `Error`).
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) log.error({ err }, 'http handler failed');
    if (status === 413) drainAfterRefusal(request, reply, options.overLimitDrain ?? { maxMs: 5000, maxBytes: 64 * 1024 * 1024 });
    if (status === 413 && request.routeOptions.url === options.papPath) {
      // PAP clients read PAP: a body over the limit is a bad message (PAP 2000) as well as HTTP 413.
      const body = buildBadMessageResponse({
        code: PapCode.BAD_REQUEST,
        desc: `request body over ${options.bodyLimitBytes} bytes`,
        badMessageFragment: '',
      });
      reply.code(413).type('application/xml').send(body);
      return;
    }
    // Fastify's own refusals (its `FST_…` codes) answer with a catalogue code like every other error.
    const fallback =
      status === 413 ? ErrorCodes.BODY_TOO_LARGE : status >= 500 ? ErrorCodes.INTERNAL_ERROR : ErrorCodes.HTTP_REQUEST_INVALID;
    const code = isErrorCode(err.code) ? err.code : fallback;
    const message = status === 413 ? `request body over ${options.bodyLimitBytes} bytes` : err.message;
    sendError(reply, status, code, message);
  });

  let metricsAddress: { host: string; port: number } | undefined;
  return {
    app,
    routes: () => [...routes],
    metricsAddress: () => metricsAddress,
    async listen() {
      if (metricsApp && metricsListen) {
        await metricsApp.listen({ host: metricsListen.host, port: metricsListen.port });
        const bound = metricsApp.server.address();
        metricsAddress = { host: metricsListen.host, port: typeof bound === 'object' && bound ? bound.port : metricsListen.port };
        log.info(metricsAddress, 'metrics listening');
      }
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      log.info({ host: options.host, port, papPath: options.papPath }, 'HTTP listening');
      return { host: options.host, port };
    },
    async close() {
      await app.close();
      await metricsApp?.close();
    },
  };
}
