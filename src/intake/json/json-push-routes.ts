/**
 * The JSON push API (docs/openapi.yaml) beside PAP, for integrators who do not speak PAP:
 *
 * - `POST /v1/pushes`          validate (zod) → same pipeline as PAP (`submit(…, 'json')`) → outcome JSON
 * - `GET  /v1/pushes/:pushId`  the push's state
 *
 * Outcomes mirror PAP: accepted (1001, HTTP 202), handed-back (3010 + bearer hint, HTTP 200), rejected
 * (4xx/5xx with the PAP code). Validation failures are 400 JSON_PUSH_INVALID naming the field.
 */
import type { FastifyInstance } from 'fastify';
import { AgentError, ErrorCodes } from '../../errors.js';
import type { PushSubmission } from '../../push/pap/pap-types.js';
import type { IntakeCaller, IntakeReply } from '../../push/push-service.js';
import type { PushRecord, PushSource } from '../../push/store/push-record.js';
import { sendError } from '../http/http-errors.js';
import { intakeCallerOf } from '../guard/intake-guard.js';
import { describeIntakeReply } from './intake-outcome.js';
import { mapJsonPush, parseJsonPushRequest } from './json-push-request.js';
import type { AgentMetrics } from '../../ops/metrics.js';
import { pushView } from './push-view.js';

export interface JsonPushDependencies {
  submit(push: PushSubmission, rawContentType: string, rawBody: Buffer, source: PushSource, caller: IntakeCaller): Promise<IntakeReply>;
  /** The push as `caller` may see it (its own PI's only): undefined reads exactly like an unknown push-id. */
  get(pushId: string, caller: IntakeCaller): PushRecord | undefined;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function registerJsonPushRoutes(app: FastifyInstance, deps: JsonPushDependencies, metrics?: AgentMetrics): void {
  app.post('/v1/pushes', async (request, reply) => {
    const contentType = request.headers['content-type'];
    if (contentType !== undefined && !JSON_TYPE.test(contentType)) {
      return sendError(reply, 415, ErrorCodes.JSON_PUSH_INVALID, 'Content-Type must be application/json', 'Content-Type');
    }
    const text = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return sendError(reply, 400, ErrorCodes.JSON_PUSH_INVALID, 'body is not valid JSON', '(body)');
    }
    let mapped: ReturnType<typeof mapJsonPush>;
    try {
      mapped = mapJsonPush(parseJsonPushRequest(raw));
    } catch (err) {
      if (err instanceof AgentError) return sendError(reply, 400, err.code, err.message, err.field);
      throw err;
    }
    const intake = await deps.submit(mapped.submission, mapped.contentType, mapped.body, 'json', intakeCallerOf(request));
    const result = describeIntakeReply(intake);
    metrics?.observeIntake('json', result.outcome, reply.elapsedTime / 1000);
    if (intake.headers['Retry-After'] !== undefined) reply.header('Retry-After', intake.headers['Retry-After']);
    return reply.code(result.httpStatus).send({
      pushId: mapped.submission.pushId,
      outcome: result.outcome,
      papCode: result.papCode,
      ...(result.bearerHint !== undefined ? { bearerHint: result.bearerHint } : {}),
      reason: result.reason,
    });
  });

  app.get<{ Params: { pushId: string } }>('/v1/pushes/:pushId', async (request, reply) => {
    const record = deps.get(request.params.pushId, intakeCallerOf(request));
    if (!record) return sendError(reply, 404, ErrorCodes.PUSH_NOT_FOUND, `no push ${request.params.pushId}`, 'pushId');
    return pushView(record);
  });
}
