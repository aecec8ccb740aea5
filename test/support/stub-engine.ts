/**
 * A SIP engine stand-in for unit tests of the push path (no sockets): every out-of-dialog request is
 * recorded in `sent` and answered by `answer` (200 OK by default); SUBSCRIBE is refused — a watcher test
 * uses a real engine. Only for pure logic; anything about the wire runs against Kamailio and SIPp.
 */
import type { EngineCapabilities, OutOfDialogRequest, SipEngine, SipFinalResponse } from '../../src/sip/port.js';

export type StubAnswer = (request: OutOfDialogRequest) => Promise<SipFinalResponse>;

export const answer200: StubAnswer = async () => ({ status: 200, reason: 'OK', headers: {}, body: Buffer.alloc(0) });

export function stubEngine(
  answer: StubAnswer = answer200,
  capabilities: EngineCapabilities = { binaryBodies: true },
): SipEngine & { sent: OutOfDialogRequest[] } {
  const sent: OutOfDialogRequest[] = [];
  return {
    name: 'embedded',
    connected: true,
    capabilities,
    sent,
    start: async () => undefined,
    stop: async () => undefined,
    localAddresses: () => [],
    request: (request) => {
      sent.push(request);
      return answer(request);
    },
    subscribe: () => Promise.reject(new Error('not used')),
    onIncomingRequest: () => undefined,
    stats: () => ({ requestsSent: {}, responsesReceived: {}, retransmissions: 0, transactionTimeouts: 0, requestsReceived: {} }),
  };
}
