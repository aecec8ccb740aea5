/**
 * The JSON error body every ops route answers with: `{ error: <stable code>, message, field? }`
 * (codes from src/errors.ts; clients branch on `error`, never on `message`).
 */
import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../../errors.js';

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  field?: string;
}

export function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string, field?: string): FastifyReply {
  const body: ErrorBody = { error: code, message, ...(field !== undefined ? { field } : {}) };
  return reply.code(status).type('application/json').send(body);
}
