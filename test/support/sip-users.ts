/**
 * One-call helpers over the SIPp scenarios in test/sipp/: a user registers, publishes presence, receives
 * MESSAGE (a UAS on the Contact port) or sends one through the core. Each runs a real SIPp process.
 * A UA that registers and receives is two SIPp processes (SIPp cannot send and accept new requests at
 * once; docs/interop.md), so `registerUser` points the Contact at a UAS started by `startMessageUas`.
 */
import { runSipp, type SippHandle, type SippResult, type SippTransport } from './sipp.js';

/** Where the SIP core listens (a KamailioHandle fits). */
export interface SipCoreAddress {
  host: string;
  port: number;
}

/** Result of a scenario that ran to completion. */
export interface ScenarioRun {
  handle: SippHandle;
  result: SippResult;
}

async function runToEnd(handle: SippHandle, what: string, mustSucceed: boolean): Promise<ScenarioRun> {
  const result = await handle.done;
  if (mustSucceed && result.code !== 0) {
    throw new Error(`${what}: sipp exit ${result.code}\n${handle.errorsLog()}\n${handle.messagesLog()}`);
  }
  return { handle, result };
}

export interface RegisterOptions {
  user: string;
  /** Where this user's UAS listens. */
  contactPort: number;
  contactHost?: string;
  /** Adds `;transport=tcp` to the Contact when 'tcp'. */
  contactTransport?: 'udp' | 'tcp';
  /** Default 600; 0 un-registers. */
  expires?: number;
  /** AOR domain; default the core's host. */
  domain?: string;
  transport?: SippTransport;
}

/** REGISTER (test/sipp/register.xml); rejects unless the registrar answered 200. */
export async function registerUser(core: SipCoreAddress, o: RegisterOptions): Promise<ScenarioRun> {
  const handle = await runSipp({
    scenario: 'test/sipp/register.xml',
    remote: `${core.host}:${core.port}`,
    transport: o.transport,
    calls: 1,
    timeoutS: 10,
    keys: {
      user: o.user,
      domain: o.domain ?? core.host,
      contact_host: o.contactHost ?? '127.0.0.1',
      contact_port: String(o.contactPort),
      contact_params: o.contactTransport === 'tcp' ? ';transport=tcp' : '',
      expires: String(o.expires ?? 600),
    },
  });
  return runToEnd(handle, `REGISTER ${o.user}`, true);
}

export interface PublishOptions {
  user: string;
  /** `open` (default) or `closed`; with `bare: true` the closed PIDF without OMA/caps is sent. */
  basic?: 'open' | 'closed';
  /** Send publish-closed.xml: one closed tuple, no service-description, no caps. */
  bare?: boolean;
  /** OMA service-id; default `org.openmobilealliance:Push`. */
  serviceId?: string;
  /** Default 600. */
  expires?: number;
  domain?: string;
  transport?: SippTransport;
}

/** PUBLISH presence (test/sipp/publish.xml or publish-closed.xml); rejects unless answered 200. */
export async function publishPresence(core: SipCoreAddress, o: PublishOptions): Promise<ScenarioRun> {
  const keys: Record<string, string> = {
    user: o.user,
    domain: o.domain ?? core.host,
    expires: String(o.expires ?? 600),
  };
  if (!o.bare) {
    keys.basic = o.basic ?? 'open';
    keys.service_id = o.serviceId ?? 'org.openmobilealliance:Push';
  }
  const handle = await runSipp({
    scenario: o.bare ? 'test/sipp/publish-closed.xml' : 'test/sipp/publish.xml',
    remote: `${core.host}:${core.port}`,
    transport: o.transport,
    calls: 1,
    timeoutS: 10,
    keys,
  });
  return runToEnd(handle, `PUBLISH ${o.user}`, true);
}

export interface RegPublishOptions {
  user: string;
  /** Contact ports: the first contact has no feature tag, the second carries +g.oma.pusheventapp. */
  plainPort: number;
  taggedPort: number;
  /** The tag's value (a push application id); default `ua-wml`. */
  pushApp?: string;
  expires?: number;
  domain?: string;
}

/**
 * PUBLISH a reginfo document with two contacts, one with the push feature tag
 * (test/sipp/publish-reginfo.xml): a registrar that reports feature tags; rejects unless answered 200.
 */
export async function publishReginfo(core: SipCoreAddress, o: RegPublishOptions): Promise<ScenarioRun> {
  const handle = await runSipp({
    scenario: 'test/sipp/publish-reginfo.xml',
    remote: `${core.host}:${core.port}`,
    calls: 1,
    timeoutS: 10,
    keys: {
      user: o.user,
      domain: o.domain ?? core.host,
      contact_host: '127.0.0.1',
      port_plain: String(o.plainPort),
      port_tagged: String(o.taggedPort),
      push_app: o.pushApp ?? 'ua-wml',
      expires: String(o.expires ?? 600),
    },
  });
  return runToEnd(handle, `PUBLISH reg ${o.user}`, true);
}

export interface UasOptions {
  host?: string;
  port?: number;
  transport?: SippTransport;
  /** 200 (default), 480, or 'drop-first' (ignore the first copy, answer the retransmission). */
  answer?: 200 | 480 | 'drop-first';
  /** Exit after this many MESSAGEs (default: run until timeout or stop()). */
  calls?: number;
  /**
   * Answer a MESSAGE whose Call-ID belongs to a call already finished, as a new call. SIPp otherwise
   * remembers finished Call-IDs for 33 s (`-deadcall_wait`) and silently drops a request that reuses
   * one — as the agent's resend after a crash does (same Call-ID, From tag and CSeq by design).
   */
  answerRepeats?: boolean;
  timeoutS: number;
}

const UAS_SCENARIO = {
  200: 'test/sipp/uas-message.xml',
  480: 'test/sipp/uas-message-480.xml',
  'drop-first': 'test/sipp/uas-message-drop-first.xml',
} as const;

/** Start a MESSAGE UAS and resolve once its port is bound. */
export async function startMessageUas(o: UasOptions): Promise<SippHandle> {
  const answer = o.answer ?? 200;
  const handle = await runSipp({
    scenario: UAS_SCENARIO[answer],
    localHost: o.host,
    localPort: o.port,
    transport: o.transport,
    calls: o.calls,
    timeoutS: o.timeoutS,
    // -nr: without it SIPp answers/absorbs the retransmission itself and the second <recv> never matches.
    extraArgs: [...(answer === 'drop-first' ? ['-nr'] : []), ...(o.answerRepeats ? ['-deadcall_wait', '0'] : [])],
  });
  await handle.ready();
  return handle;
}

export interface SendMessageOptions {
  user: string;
  body: string;
  domain?: string;
  transport?: SippTransport;
  /** 'ok': only 200 passes (uac-message.xml); 'any': any usual final status (uac-message-any.xml). */
  expect?: 'ok' | 'any';
  timeoutS?: number;
}

/** Send one MESSAGE through the core from a SIPp UAC; resolves to the final status SIPp received. */
export async function sendMessage(core: SipCoreAddress, o: SendMessageOptions): Promise<ScenarioRun & { status: number | undefined }> {
  const handle = await runSipp({
    scenario: o.expect === 'any' ? 'test/sipp/uac-message-any.xml' : 'test/sipp/uac-message.xml',
    remote: `${core.host}:${core.port}`,
    transport: o.transport,
    calls: 1,
    timeoutS: o.timeoutS ?? 15,
    keys: { user: o.user, domain: o.domain ?? core.host, body: o.body },
  });
  const run = await runToEnd(handle, `MESSAGE to ${o.user}`, false);
  const final = handle.messages().find((m) => m.direction === 'received' && (m.status ?? 0) >= 200);
  return { ...run, status: final?.status };
}
