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
import type { AdmissionResult } from '../../push/admission/admission-result.js';
import { PapCode } from '../../push/pap/pap-codes.js';
import type { PushSubmission } from '../../push/pap/pap-types.js';
import type { IntakeCaller } from '../../push/push-settings.js';
import type { PushRecord, PushSource } from '../../push/store/push-record.js';
import { sendError } from '../http/http-errors.js';
import { intakeCallerOf } from '../guard/intake-guard.js';
import { jsonHttpStatusOf, papCodeOfResult, reasonOfResult } from '../pap/intake-reply.js';
import { mapJsonPush, parseJsonPushRequest } from './json-push-request.js';
import type { AgentMetrics } from '../../ops/metrics.js';
import { pushView } from './push-view.js';

export interface JsonPushDependencies {
  submit(push: PushSubmission, rawContentType: string, rawBody: Buffer, source: PushSource, caller: IntakeCaller): Promise<AdmissionResult>;
  /** The push as `caller` may see it (its own PI's only): undefined reads exactly like an unknown push-id. */
  get(pushId: string, caller: IntakeCaller): Promise<PushRecord | undefined>;
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
    const result = await deps.submit(mapped.submission, mapped.contentType, mapped.body, 'json', intakeCallerOf(request));
    metrics?.observeIntake('json', result.kind, reply.elapsedTime / 1000);
    const papCode = papCodeOfResult(result);
    if (papCode === PapCode.SERVICE_UNAVAILABLE) reply.header('Retry-After', '1');
    const httpStatus = result.kind === 'accepted' ? 202 : result.kind === 'handed-back' ? 200 : jsonHttpStatusOf(result.code);
    return reply.code(httpStatus).send({
      pushId: mapped.submission.pushId,
      outcome: result.kind,
      papCode,
      ...(result.kind === 'handed-back' ? { bearerHint: result.hint } : {}),
      reason: reasonOfResult(result),
    });
  });

  app.get<{ Params: { pushId: string } }>('/v1/pushes/:pushId', async (request, reply) => {
    const record = await deps.get(request.params.pushId, intakeCallerOf(request));
    if (!record) return sendError(reply, 404, ErrorCodes.PUSH_NOT_FOUND, `no push ${request.params.pushId}`, 'pushId');
    return pushView(record);
  });
}
