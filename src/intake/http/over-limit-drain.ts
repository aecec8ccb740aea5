/**
 * A request refused with 413 may still be on its way: a chunked upload has no Content-Length to refuse
 * up front, and a client that declared one usually sends the body anyway. fastify marks the answer
 * `Connection: close` and Node closes the socket as soon as it is written; the bytes still arriving then
 * make the kernel reset the connection, and a client that is still writing sees EPIPE or ECONNRESET
 * instead of the 413 (measured: fetch with a 20 MB chunked body, every time).
 *
 * Instead the connection is kept while the rest of the body is read and thrown away, for at most
 * `maxMs` and `maxBytes` (config `http.overLimitDrain`); the client finishes its write and reads the
 * answer (RFC 9110 §15.5.14 413, RFC 9112 §9.6 on closing only once the client stopped sending). Past
 * either bound the socket is destroyed, so a client that never stops costs a bounded time and nothing
 * is kept in memory.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface OverLimitDrain {
  maxMs: number;
  maxBytes: number;
}

export function drainAfterRefusal(request: FastifyRequest, reply: FastifyReply, limits: OverLimitDrain): void {
  const raw = request.raw;
  const socket = raw.socket;
  if (raw.complete || !socket || socket.destroyed) return;
  // Without `Connection: close` Node keeps the socket after the answer; the body ends and the connection
  // is clean again (it may carry the next request), or a bound below cuts it.
  reply.removeHeader('connection');
  let bytes = 0;
  const cut = () => {
    cleanup();
    socket.destroy();
  };
  const timer = setTimeout(cut, limits.maxMs);
  timer.unref();
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) cut();
  };
  const cleanup = () => {
    clearTimeout(timer);
    raw.removeListener('data', onData);
    raw.removeListener('end', cleanup);
    raw.removeListener('error', cleanup);
    raw.removeListener('close', cleanup);
  };
  raw.on('data', onData);
  raw.once('end', cleanup);
  raw.once('error', cleanup);
  raw.once('close', cleanup);
  raw.resume();
}
