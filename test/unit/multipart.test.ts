import { describe, expect, it } from 'vitest';
import { buildMultipartRelated, isValidBoundary, parseMultipartRelated } from '../../src/push/pap/multipart.js';
import { parseContentType } from '../../src/push/pap/content-type.js';
import { codeOf } from '../support/error-code.js';

const nasty = Buffer.from([0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x0a, 0x2d, 0x2d, 0x78, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0xfe]);

describe('parseContentType', () => {
  it('reads quoted and bare parameters, lower-casing names but not values', () => {
    const parsed = parseContentType('Multipart/Related; Boundary="a \\"b\\" c"; type=application/xml; START=<x@y>');
    expect(parsed.mediaType).toBe('multipart/related');
    expect(parsed.params).toEqual({ boundary: 'a "b" c', type: 'application/xml', start: '<x@y>' });
  });
  it('ignores a __proto__ parameter instead of polluting the object', () => {
    const parsed = parseContentType('text/plain; __proto__=x; a=1');
    expect(Object.getPrototypeOf(parsed.params)).toBe(Object.prototype);
    expect(parsed.params).toEqual({ a: '1' });
  });
});

describe('parseMultipartRelated', () => {
  it('keeps binary bodies byte-exact (NUL, CR LF, --, 0xFF)', () => {
    const body = Buffer.concat([
      Buffer.from('--b1\r\nContent-Type: application/xml\r\n\r\n<pap/>\r\n--b1\r\nContent-Type: application/vnd.wap.sic\r\n\r\n'),
      nasty,
      Buffer.from('\r\n--b1--\r\n'),
    ]);
    const parsed = parseMultipartRelated('multipart/related; boundary=b1; type="application/xml"', body);
    expect(parsed.type).toBe('application/xml');
    expect(parsed.parts).toHaveLength(2);
    expect(parsed.parts[0].body.toString()).toBe('<pap/>');
    expect(parsed.parts[1].headers['content-type']).toBe('application/vnd.wap.sic');
    expect(parsed.parts[1].body.equals(nasty)).toBe(true);
  });

  it('tolerates preamble, epilogue, bare LF, transport padding and folded headers', () => {
    const body = Buffer.from(
      'preamble line\n--xyz  \nContent-Type: text/plain;\n  charset=us-ascii\nX-A: 1\nX-A: 2\n\nhello\n--xyz--\nepilogue',
    );
    const parsed = parseMultipartRelated('multipart/related; boundary="xyz"', body);
    expect(parsed.parts).toHaveLength(1);
    expect(parsed.parts[0].headers['content-type']).toBe('text/plain; charset=us-ascii');
    expect(parsed.parts[0].headers['x-a']).toBe('1, 2');
    expect(parsed.parts[0].body.toString()).toBe('hello');
  });

  it('does not take a longer boundary-prefixed line for a delimiter', () => {
    const body = Buffer.from('--ab\r\n\r\nline\r\n--abc not a delimiter\r\n--ab--');
    const parsed = parseMultipartRelated('multipart/related; boundary=ab', body);
    expect(parsed.parts[0].headers).toEqual({});
    expect(parsed.parts[0].body.toString()).toBe('line\r\n--abc not a delimiter');
  });

  it('reads the start parameter', () => {
    const parsed = parseMultipartRelated(
      'multipart/related; boundary=q; start="<root@pi>"',
      Buffer.from('--q\r\nContent-ID: <root@pi>\r\n\r\nx\r\n--q--'),
    );
    expect(parsed.start).toBe('<root@pi>');
  });

  it.each([
    ['no boundary parameter', 'multipart/related', '--b\r\n\r\nx\r\n--b--'],
    ['not multipart', 'application/xml', '<pap/>'],
    ['no delimiter at all', 'multipart/related; boundary=b', 'just text'],
    ['truncated, no close delimiter', 'multipart/related; boundary=b', '--b\r\nContent-Type: text/plain\r\n\r\nhalf a bo'],
    ['close delimiter only', 'multipart/related; boundary=b', '--b--\r\n'],
    ['malformed header line', 'multipart/related; boundary=b', '--b\r\nno colon here\r\n\r\nx\r\n--b--'],
  ])('refuses %s with MULTIPART_INVALID', (_name, contentType, text) => {
    expect(codeOf(() => parseMultipartRelated(contentType, Buffer.from(text)))).toBe('MULTIPART_INVALID');
  });

  it('enforces maxParts and maxHeaderBytes', () => {
    const many = Buffer.from(`${'--b\r\n\r\nx\r\n'.repeat(5)}--b--`);
    expect(parseMultipartRelated('multipart/related; boundary=b', many).parts).toHaveLength(5);
    expect(codeOf(() => parseMultipartRelated('multipart/related; boundary=b', many, { maxParts: 4 }))).toBe('MULTIPART_INVALID');
    const bigHeader = Buffer.from(`--b\r\nX-Big: ${'a'.repeat(300)}\r\n\r\nx\r\n--b--`);
    expect(codeOf(() => parseMultipartRelated('multipart/related; boundary=b', bigHeader, { maxHeaderBytes: 100 }))).toBe(
      'MULTIPART_INVALID',
    );
  });
});

describe('buildMultipartRelated', () => {
  it('round-trips through the parser and sets type from the root part', () => {
    const built = buildMultipartRelated([
      { headers: { 'content-type': 'application/xml; charset=UTF-8' }, body: Buffer.from('<pap/>') },
      { headers: { 'content-type': 'application/vnd.wap.sic', 'x-wap-application-id': 'x-wap-application:wml.ua' }, body: nasty },
    ]);
    expect(built.contentType).toMatch(/^multipart\/related; boundary=\S+; type="application\/xml"$/);
    expect(built.body.toString('latin1')).toContain('X-Wap-Application-Id: x-wap-application:wml.ua\r\n');
    const parsed = parseMultipartRelated(built.contentType, built.body);
    expect(parsed.parts[1].body.equals(nasty)).toBe(true);
    expect(parsed.parts[1].headers['x-wap-application-id']).toBe('x-wap-application:wml.ua');
  });

  it('refuses a given boundary that occurs in a body, and header injection', () => {
    const parts = [{ headers: { 'content-type': 'text/plain' }, body: Buffer.from('a\r\n--fixed\r\nb') }];
    expect(codeOf(() => buildMultipartRelated(parts, 'fixed'))).toBe('MULTIPART_INVALID');
    expect(codeOf(() => buildMultipartRelated([{ headers: { 'x-a': 'v\r\nX-Evil: 1' }, body: Buffer.alloc(0) }]))).toBe(
      'MULTIPART_INVALID',
    );
  });

  it('validates boundaries per RFC 2046', () => {
    expect(isValidBoundary('simple boundary')).toBe(true);
    expect(isValidBoundary('ends with space ')).toBe(false);
    expect(isValidBoundary('x'.repeat(71))).toBe(false);
    expect(isValidBoundary('')).toBe(false);
  });
});
