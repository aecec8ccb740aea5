import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, rawHeaders } from '../../src/sip/embedded/message-codec.js';
import { StreamFramer } from '../../src/sip/embedded/stream-framer.js';
import { toSipMessage, topVia } from '../../src/sip/embedded/outgoing-request.js';
import { buildResponse, missingMandatoryHeader } from '../../src/sip/embedded/response-builder.js';

const binary = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x41, 0x0d, 0x0a, 0x0d, 0x0a, 0x00]);

function sampleRequest(body: Buffer): Buffer {
  return encodeMessage(
    toSipMessage(
      {
        method: 'MESSAGE',
        requestUri: 'sip:alice@127.0.0.1',
        from: '<sip:agent@127.0.0.2>;tag=abc',
        to: '<sip:alice@127.0.0.1>',
        callId: 'call-1@127.0.0.2',
        cseq: 1,
        headers: [['accept-contact', '*;+g.oma.pusheventapp="wml.ua"']],
        contentType: 'application/vnd.wap.sic',
        body,
      },
      topVia({ host: '127.0.0.2', port: 5070, transport: 'udp' }, 'z9hG4bKtest'),
    ),
    body,
  );
}

describe('message codec', () => {
  it('header names that are also Object.prototype members are ordinary headers (no prototype lookup, no pollution)', () => {
    const block = 'NOTIFY sip:a@b SIP/2.0\r\n__proto__: x\r\nconstructor: y\r\ntoString: z\r\ni: call-1';
    const headers = rawHeaders(block);
    expect(Object.getPrototypeOf(headers) === Object.prototype || Object.getPrototypeOf(headers) === null).toBe(true);
    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toEqual(['x']);
    expect(Object.hasOwn(headers, 'constructor') && headers.constructor).toEqual(['y']);
    expect(headers.tostring).toEqual(['z']);
    expect(headers['call-id']).toEqual(['call-1']);
    expect(Object.keys(headers).sort()).toEqual(['__proto__', 'call-id', 'constructor', 'tostring']);
  });

  it('round-trips a binary body byte-exact, Content-Length in bytes', () => {
    const wire = sampleRequest(binary);
    const text = wire.toString('latin1');
    expect(text).toContain(`Content-Length: ${binary.length}\r\n`);
    expect(text).toContain('Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKtest;rport\r\n');
    expect(text).toContain('Max-Forwards: 70\r\n');
    expect(text).not.toMatch(/^Contact:/im);
    const decoded = decodeMessage(wire)!;
    expect(decoded.body.equals(binary)).toBe(true);
    expect(decoded.headers['accept-contact']).toEqual(['*;+g.oma.pusheventapp="wml.ua"']);
    expect(decoded.message.headers.cseq).toEqual({ seq: 1, method: 'MESSAGE' });
  });

  it('discards a datagram whose body is shorter than Content-Length, and junk', () => {
    const wire = sampleRequest(binary);
    expect(decodeMessage(wire.subarray(0, wire.length - 1))).toBeUndefined();
    expect(decodeMessage(Buffer.from('hello world'))).toBeUndefined();
    expect(decodeMessage(Buffer.from('\x00\xff\r\n\r\n'))).toBeUndefined();
  });

  it('names the missing mandatory header, and builds a tagged 400 with received/rport', () => {
    const text = sampleRequest(Buffer.alloc(0))
      .toString('latin1')
      .replace(/Call-ID: [^\r]*\r\n/, '');
    const decoded = decodeMessage(Buffer.from(text, 'latin1'))!;
    expect(missingMandatoryHeader(decoded)).toBe('Missing Call-ID');
    const ok = decodeMessage(sampleRequest(Buffer.alloc(0)))!;
    expect(missingMandatoryHeader(ok)).toBeUndefined();
    const response = buildResponse(ok, { host: '127.0.0.9', port: 4000, transport: 'udp' }, { status: 200 }, 'tt').toString('latin1');
    expect(response).toMatch(/^SIP\/2.0 200 OK\r\n/);
    expect(response).toContain('received=127.0.0.9');
    expect(response).toContain('rport=4000');
    expect(response).toMatch(/To: .*;tag=tt/);
  });
});

describe('StreamFramer (RFC 3261 §18.3)', () => {
  const limits = { maxHeaderBytes: 4096, maxBodyBytes: 1024 };

  it('cuts messages split across and packed into chunks, skipping CRLF keep-alives', () => {
    const one = sampleRequest(binary);
    const stream = Buffer.concat([Buffer.from('\r\n\r\n'), one, one]);
    const framer = new StreamFramer(limits);
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) frames.push(...framer.push(stream.subarray(i, i + 7)).frames);
    expect(frames).toHaveLength(2);
    expect(frames.every((f) => f.equals(one))).toBe(true);
  });

  it('reports a flood for oversized headers or bodies and stays failed', () => {
    const framer = new StreamFramer(limits);
    expect(framer.push(Buffer.alloc(5000, 0x41)).error).toBe('flood');
    expect(framer.push(sampleRequest(binary)).error).toBe('flood');
    const big = new StreamFramer(limits);
    expect(big.push(sampleRequest(Buffer.alloc(2000))).error).toBe('flood');
  });

  it('refuses a stream message without Content-Length', () => {
    const framer = new StreamFramer(limits);
    expect(framer.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n')).error).toBe('no-content-length');
  });
});
