/**
 * The PAP route's translator: a PAP request body (push-message, cancel-message, statusquery-message,
 * PAP 2.0 §9) becomes a command for the push core, and the core's typed result becomes the PAP answer
 * (push-response §9.3, cancel-response §9.5, statusquery-response §9.7, badmessage-response §9.10)
 * with its HTTP status and headers.
 */
import { AgentError, papHttpStatusOf } from '../../errors.js';
import type { AdmissionResult } from '../../push/admission/admission-result.js';
import type { CancelResult } from '../../push/commands/cancel.js';
import type { StatusResult } from '../../push/commands/status-query.js';
import { PapCode, papCodeForError } from '../../push/pap/pap-codes.js';
import { buildBadMessageResponse, buildCancelResponse, buildPushResponse, buildStatusQueryResponse } from '../../push/pap/pap-builder.js';
import { parsePapRequest } from '../../push/pap/pap-parser.js';
import type { PapVersion, PushSubmission } from '../../push/pap/pap-types.js';
import type { PushSource } from '../../push/store/push-record.js';
import { ANONYMOUS_CALLER, type IntakeCaller } from '../../push/push-settings.js';
import {
  BEARER_HINT_HEADER,
  papCodeOfResult,
  papDescOfResult,
  papHttpStatusOfResult,
  type IntakeOutcome,
  type IntakeReply,
} from './intake-reply.js';

/** The commands the PAP route sends to the push core. */
export interface PapCommands {
  submit(push: PushSubmission, rawContentType: string, rawBody: Buffer, source: PushSource, caller: IntakeCaller): Promise<AdmissionResult>;
  cancel(pushId: string, caller: IntakeCaller): Promise<CancelResult>;
  statusQuery(pushId: string, caller: IntakeCaller): Promise<StatusResult>;
  /** Counts a request refused before it became a command (unparseable PAP). */
  countBadRequest(): void;
}

/** A PAP answer and what it meant (the metrics' outcome label). */
export type PapAnswer = IntakeReply & { outcome: IntakeOutcome };

const XML = 'application/xml';

export class PapEndpoint {
  constructor(
    private readonly core: PapCommands,
    private readonly options: { senderName?: string; now?: () => number } = {},
  ) {}

  /** Handles one PAP request body from `caller`. Never throws. */
  async handlePap(contentType: string, body: Buffer, caller: IntakeCaller = ANONYMOUS_CALLER): Promise<PapAnswer> {
    let request: ReturnType<typeof parsePapRequest>;
    try {
      request = parsePapRequest(contentType, body);
    } catch (err) {
      this.core.countBadRequest();
      return { ...badMessage(err, body), outcome: 'rejected' };
    }
    switch (request.kind) {
      case 'push': {
        const result = await this.core.submit(request.push, contentType, body, 'pap', caller);
        return { ...this.pushResponse(request.push, result), outcome: result.kind };
      }
      case 'cancel':
        return { ...(await this.cancel(request.pushId, request.papVersion, caller)), outcome: 'rejected' };
      case 'statusquery':
        return { ...(await this.statusQuery(request.pushId, request.papVersion, caller)), outcome: 'rejected' };
    }
  }

  /** PAP cancel-message → cancel-response. */
  async cancel(pushId: string, version: PapVersion = '2.0', caller: IntakeCaller = ANONYMOUS_CALLER): Promise<IntakeReply> {
    return cancelResponse(pushId, version, await this.core.cancel(pushId, caller));
  }

  /** PAP statusquery-message → statusquery-response. */
  async statusQuery(pushId: string, version: PapVersion = '2.0', caller: IntakeCaller = ANONYMOUS_CALLER): Promise<IntakeReply> {
    return this.statusResponse(pushId, version, await this.core.statusQuery(pushId, caller));
  }

  /** The push-response for an admission result (progress note only when the PI asked for them). */
  pushResponse(push: Pick<PushSubmission, 'pushId' | 'papVersion' | 'progressNotesRequested'>, result: AdmissionResult): IntakeReply {
    const now = this.options.now ?? Date.now;
    const code = papCodeOfResult(result);
    const progressNote = result.kind === 'rejected' ? undefined : result.progressNote;
    return {
      httpStatus: papHttpStatusOfResult(result),
      contentType: XML,
      headers: {
        ...(code === PapCode.SERVICE_UNAVAILABLE ? { 'Retry-After': '1' } : {}),
        ...(result.kind === 'handed-back' ? { [BEARER_HINT_HEADER]: result.hint } : {}),
      },
      body: buildPushResponse({
        pushId: push.pushId,
        code,
        desc: papDescOfResult(result),
        version: push.papVersion,
        replyTime: new Date(now()),
        senderName: this.options.senderName,
        progressNote: progressNote && push.progressNotesRequested ? { ...progressNote, time: new Date(now()) } : undefined,
      }),
    };
  }

  private statusResponse(pushId: string, version: PapVersion, result: StatusResult): IntakeReply {
    const results =
      result.kind === 'found'
        ? [{ address: result.address, ...result.view, eventTime: result.eventTime }]
        : result.kind === 'not-found'
          ? [{ messageState: 'unknown' as const, code: PapCode.PUSH_ID_NOT_FOUND }]
          : [{ messageState: 'unknown' as const, code: PapCode.SERVICE_UNAVAILABLE, desc: result.reason }];
    return {
      httpStatus: result.kind === 'store-failed' ? 503 : 200,
      headers: result.kind === 'store-failed' ? { 'Retry-After': '1' } : {},
      contentType: XML,
      body: buildStatusQueryResponse({ pushId, version, results, senderName: this.options.senderName }),
    };
  }
}

function cancelResponse(pushId: string, version: PapVersion, result: CancelResult): IntakeReply {
  let code: number = PapCode.OK;
  let desc: string | undefined;
  let httpStatus = 200;
  if (result.kind === 'not-found') code = PapCode.PUSH_ID_NOT_FOUND;
  else if (result.kind === 'not-possible') {
    code = PapCode.CANCELLATION_NOT_POSSIBLE;
    if (result.state !== undefined) desc = `Cancellation not possible: push is ${result.state}`;
  } else if (result.kind === 'store-failed') {
    code = PapCode.SERVICE_UNAVAILABLE;
    desc = result.reason;
    httpStatus = papHttpStatusOf('STORE_UNWRITABLE', 503);
  }
  const address = result.kind === 'not-found' ? undefined : result.address;
  return {
    httpStatus,
    headers: httpStatus === 503 ? { 'Retry-After': '1' } : {},
    contentType: XML,
    body: buildCancelResponse({ pushId, version, results: [{ code, desc, addresses: address !== undefined ? [address] : undefined }] }),
  };
}

/** PAP 2.0 §9.10: an unparseable request answers badmessage-response with the offending fragment. */
function badMessage(err: unknown, body: Buffer): IntakeReply {
  const code = err instanceof AgentError ? papCodeForError(err.code) : PapCode.BAD_REQUEST;
  const papCode = code === PapCode.VERSION_NOT_SUPPORTED ? code : code === PapCode.NOT_IMPLEMENTED ? code : PapCode.BAD_REQUEST;
  return {
    httpStatus: 400,
    headers: {},
    contentType: XML,
    body: buildBadMessageResponse({ code: papCode, desc: (err as Error).message, badMessageFragment: body.subarray(0, 256) }),
  };
}
