import { describe, expect, it } from 'vitest';
import { parseHostports } from '../../src/sip/drachtio/drachtio-engine.js';
import { fromSrfHeaders, toSrfHeaders, uriOf } from '../../src/sip/drachtio/srf-headers.js';
import { bodyAsCarriedText, bodyBytes } from '../../src/sip/drachtio/text-body.js';
import { codeOf } from '../support/error-code.js';

describe('drachtio body guard', () => {
  it('passes UTF-8 text through unchanged (multi-byte included)', () => {
    const text = 'grüße ✓ 😀 <si/>';
    const carried = bodyAsCarriedText(Buffer.from(text, 'utf8'), 'text/plain');
    expect(carried).toBe(text);
    expect(bodyBytes(carried).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('refuses invalid UTF-8 and NUL with BODY_NOT_CARRIED', () => {
    expect(codeOf(() => bodyAsCarriedText(Buffer.from([0x41, 0xff, 0x42]), 'application/vnd.wap.sic'))).toBe('BODY_NOT_CARRIED');
    expect(codeOf(() => bodyAsCarriedText(Buffer.from([0xc3]), undefined))).toBe('BODY_NOT_CARRIED');
    expect(codeOf(() => bodyAsCarriedText(Buffer.from('a\u0000b', 'utf8'), 'text/plain'))).toBe('BODY_NOT_CARRIED');
  });

  it('treats an empty or missing body as no body', () => {
    expect(bodyAsCarriedText(undefined, 'text/plain')).toBeUndefined();
    expect(bodyAsCarriedText(Buffer.alloc(0), 'text/plain')).toBeUndefined();
    expect(bodyBytes(undefined).length).toBe(0);
  });
});

describe('srf header mapping', () => {
  it('joins repeated values, drops reserved headers, keeps engine-set ones', () => {
    const out = toSrfHeaders({ 'Accept-Contact': ['*;a', '*;b'], Via: 'x', 'Call-ID': 'y' }, { From: '<sip:a@b>', To: undefined });
    expect(out).toEqual({ 'Accept-Contact': '*;a, *;b', From: '<sip:a@b>' });
  });

  it('lower-cases received header names into arrays', () => {
    expect(fromSrfHeaders({ 'Content-Type': 'text/plain', expires: '60' })).toEqual({ 'content-type': ['text/plain'], expires: ['60'] });
  });

  it('extracts the URI from name-addr and addr-spec', () => {
    expect(uriOf('"Al" <sip:al@x;transport=tcp>;tag=1')).toBe('sip:al@x;transport=tcp');
    expect(uriOf('sip:bo@y;tag=2')).toBe('sip:bo@y');
    expect(uriOf(undefined)).toBe('');
  });

  it('parses the hostports drachtio-server reports on connect', () => {
    expect(parseHostports('udp/127.0.0.3:5062,tcp/127.0.0.3:5062,tls/1.2.3.4:5061')).toEqual([
      { transport: 'udp', host: '127.0.0.3', port: 5062 },
      { transport: 'tcp', host: '127.0.0.3', port: 5062 },
    ]);
    expect(parseHostports(undefined)).toEqual([]);
  });
});
