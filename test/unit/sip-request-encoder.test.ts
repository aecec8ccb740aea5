/**
 * The engine writes outgoing requests directly (request-encoder.ts); the bytes must be exactly what the
 * npm `sip` serializer wrote from the message object (`encodeMessage(toSipMessage(…))`), for any
 * request: binary bodies, no body, Route, a Max-Forwards override, repeated and odd header names,
 * IPv6 and port-less Via hosts — and what goes out must decode again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/sip/embedded/message-codec.js';
import { type OutgoingRequest, toSipMessage, topVia } from '../../src/sip/embedded/outgoing-request.js';
import { encodeRequest } from '../../src/sip/embedded/request-encoder.js';
import type { BoundAddress } from '../../src/sip/port.js';

const token = fc.string({ unit: fc.constantFrom(..."abcxyz019-._!%*+`'~".split('')), minLength: 1, maxLength: 12 });
const value = fc.string({ unit: fc.constantFrom(...'abc <>;=@:"*,/ é'.split('')), minLength: 1, maxLength: 30 });
const headerName = fc.oneof(
  fc.constantFrom(
    'accept-contact',
    'p-asserted-identity',
    'route',
    'max-forwards',
    'x-site',
    'subject',
    'call-info',
    'content-type',
    'expires',
  ),
  token.map((t) => `x-${t}`.toLowerCase()),
);
const request: fc.Arbitrary<OutgoingRequest> = fc.record({
  method: fc.constantFrom('MESSAGE', 'OPTIONS', 'SUBSCRIBE', 'PUBLISH'),
  requestUri: fc.constantFrom('sip:alice@127.0.0.1', 'sip:bob@[::1]:5080;transport=tcp', 'sips:carol@example.com'),
  from: value.map((v) => `"${v}" <sip:agent@127.0.0.2>;tag=abc`),
  to: fc.constantFrom('<sip:alice@127.0.0.1>', '<sip:bob@[::1]>;tag=x1'),
  callId: token.map((t) => `${t}@127.0.0.2`),
  cseq: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  headers: fc.array(fc.tuple(headerName, value), { maxLength: 6 }),
  contentType: fc.option(fc.constantFrom('application/vnd.wap.sic', 'text/plain; charset=utf-8'), { nil: undefined }),
  body: fc.option(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    { nil: undefined },
  ),
});
const local: fc.Arbitrary<BoundAddress> = fc.record({
  host: fc.constantFrom('127.0.0.2', '::1', 'agent.example.com'),
  port: fc.constantFrom(5060, 5070, 0),
  transport: fc.constantFrom('udp' as const, 'tcp' as const),
});
const branch = token.map((t) => `z9hG4bK${t}`);

describe('direct request encoder', () => {
  it('writes the bytes the sip serializer wrote, for any request', () => {
    fc.assert(
      fc.property(request, local, branch, (req, bound, br) => {
        const expected = encodeMessage(toSipMessage(req, topVia(bound, br)), req.body);
        expect(encodeRequest(req, bound, br).toString('latin1')).toBe(expected.toString('latin1'));
      }),
      { numRuns: 1000 },
    );
  });

  it('a MESSAGE it writes decodes with the body byte-exact and Content-Length in bytes', () => {
    const body = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x41, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0xc3, 0xa9]);
    const bytes = encodeRequest(
      {
        method: 'MESSAGE',
        requestUri: 'sip:alice@127.0.0.1',
        from: '"Push" <sip:agent@127.0.0.2>;tag=abc',
        to: '<sip:alice@127.0.0.1>',
        callId: 'c1@127.0.0.2',
        cseq: 1,
        headers: [
          ['route', '<sip:127.0.0.1:5060;lr>'],
          ['accept-contact', '*;+g.oma.pusheventapp="wml.ua"'],
        ],
        contentType: 'application/vnd.wap.sic',
        body,
      },
      { host: '127.0.0.2', port: 5070, transport: 'udp' },
      'z9hG4bKabc',
    );
    const decoded = decodeMessage(bytes);
    expect(decoded?.body.equals(body)).toBe(true);
    expect(decoded?.headers['content-length']).toEqual([String(body.length)]);
    expect(decoded?.headers.via).toEqual(['SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKabc;rport']);
    expect(decoded?.headers.route).toEqual(['<sip:127.0.0.1:5060;lr>']);
    expect(decoded?.headers['accept-contact']).toEqual(['*;+g.oma.pusheventapp="wml.ua"']);
  });
});
