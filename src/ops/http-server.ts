/**
 * The agent's one HTTP listener (fastify): PAP intake, health and readiness. Bodies reach the push
 * path as raw Buffers (binary-safe multipart/related, PAP §8); size limits answer HTTP 413 and slow
 * clients are cut by the request timeout.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IntakeReply } from '../push/push-service.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  papPath: string;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  logger: Logger;
  handlePap(contentType: string, body: Buffer): Promise<IntakeReply>;
  /** Readiness checks: name → ok. */
  readiness(): Record<string, boolean>;
}

export interface HttpServer {
  readonly app: FastifyInstance;
  listen(): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    connectionTimeout: options.requestTimeoutMs,
    logger: false,
  });
  const log = options.logger.child({ module: 'http' });

  // Every body stays bytes; the PAP codec decides what it is.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post(options.papPath, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const result = await options.handlePap(request.headers['content-type'] ?? '', body);
    reply.code(result.httpStatus).headers(result.headers).type(result.contentType);
    return result.body;
  });

  app.get('/healthz', async () => ({ status: 'up' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = options.readiness();
    const ready = Object.values(checks).every(Boolean);
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not-ready', checks };
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) log.error({ err }, 'http handler failed');
    reply.code(status).type('application/json').send({ error: err.code ?? 'HTTP_ERROR', message: err.message });
  });

  return {
    app,
    async listen() {
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      log.info({ host: options.host, port, papPath: options.papPath }, 'HTTP listening');
      return { host: options.host, port };
    },
    async close() {
      await app.close();
    },
  };
}
