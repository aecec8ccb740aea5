/**
 * A deadline for the request body. Node's `requestTimeout` stops watching a request once its headers are
 * in (measured: a client trickling one body byte every 100 ms was never cut), so a slow-loris on the
 * body would hold a connection and a parser for ever. From the moment the headers are parsed the body
 * has `ms` to arrive completely; otherwise the connection is destroyed (no answer: the client is not
 * reading one). Requests without a body pass `preValidation` at once and are unaffected.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

export function registerBodyDeadline(app: FastifyInstance, ms: number, logger: Logger): void {
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const clear = async (request: FastifyRequest) => {
    clearTimeout(timers.get(request));
    timers.delete(request);
  };
  app.addHook('onRequest', async (request) => {
    const timer = setTimeout(() => {
      logger.info({ ip: request.ip, url: request.url, deadlineMs: ms }, 'request body too slow: connection cut');
      request.raw.socket?.destroy();
    }, ms);
    timer.unref();
    timers.set(request, timer);
  });
  app.addHook('preValidation', clear);
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}
