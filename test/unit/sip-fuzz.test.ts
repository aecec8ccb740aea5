/**
 * Property tests of the SIP-facing codecs the embedded engine runs on every datagram and TCP chunk:
 * `decodeMessage` never throws (it returns a message or undefined), and the TCP `StreamFramer` never
 * throws, never hands out more bytes than it was given, frames the same messages however the stream is
 * chunked, and keeps its buffer within the limits (RFC 3261 §18.3 framing by Content-Length).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/sip/embedded/message-codec.js';
import { StreamFramer } from '../../src/sip/embedded/stream-framer.js';

const request = (n: number, body = 'hi') =>
  `MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-${n}\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c${n}\r\nCSeq: 1 MESSAGE\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const sipLines = fc
  .array(
    fc.constantFrom(
      'MESSAGE sip:a@b SIP/2.0',
      'NOTIFY sip:a@b SIP/2.0',
      'SIP/2.0 200 OK',
      'SIP/2.0 abc',
      'Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1',
      'Via: SIP/2.0/UDP [::1',
      'Via:',
      'v: SIP/2.0/TCP h:99999',
      'From: <sip:x@y>;tag=1',
      'f: x',
      'To: <sip:a@b',
      't: <>;tag=',
      'Call-ID: c',
      'i: ',
      'CSeq: 1 MESSAGE',
      'CSeq: -1',
      'CSeq: 1e99 X',
      'Content-Length: 3',
      'l: 99999999',
      'Content-Length: -5',
      'Content-Type: application/pidf+xml',
      'Subscription-State: terminated;reason=',
      'Event: presence;id=',
      'Max-Forwards: x',
      'X: \u0000',
      '',
      ' folded',
      '\t',
      'abc',
    ),
    { maxLength: 20 },
  )
  .chain((lines) => fc.constantFrom('\r\n', '\n').map((eol) => Buffer.from(`${lines.join(eol) + eol + eol}body`, 'latin1')));

describe('SIP codecs on random input', () => {
  it('decodeMessage never throws on random bytes and mangled SIP', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
          sipLines,
        ),
        (data) => {
          const decoded = decodeMessage(data);
          if (decoded) expect(decoded.message.method !== undefined || decoded.message.status !== undefined).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('StreamFramer: any chunking of a valid stream yields the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 50 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (bodies, cuts) => {
          const stream = Buffer.from(bodies.map((b, i) => `\r\n${request(i, b)}`).join(''), 'utf8');
          const framer = new StreamFramer({ maxHeaderBytes: 4096, maxBodyBytes: 4096 });
          const frames: Buffer[] = [];
          let at = 0;
          let c = 0;
          while (at < stream.length) {
            const size = cuts[c++ % cuts.length]!;
            const result = framer.push(stream.subarray(at, at + size));
            expect(result.error).toBeUndefined();
            frames.push(...result.frames);
            at += size;
          }
          expect(frames.map((f) => f.toString('utf8'))).toEqual(bodies.map((b, i) => request(i, b)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('StreamFramer: random bytes never throw, never yield more than given, stop at the limits', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a)),
            sipLines,
          ),
          { maxLength: 12 },
        ),
        (chunks) => {
          const framer = new StreamFramer({ maxHeaderBytes: 1024, maxBodyBytes: 1024 });
          let given = 0;
          let out = 0;
          let failed = false;
          for (const chunk of chunks) {
            given += chunk.length;
            const result = framer.push(chunk);
            out += result.frames.reduce((n, f) => n + f.length, 0);
            if (result.error) failed = true;
            else expect(failed).toBe(false); // once failed, always failed
          }
          expect(out).toBeLessThanOrEqual(given);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
