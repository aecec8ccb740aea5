import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AgentError,
  type CatalogueEntry,
  ErrorCodes,
  errorCatalogue,
  httpStatusOf,
  isErrorCode,
  papCodeOf,
  papHttpStatusOf,
  sipMeaningOf,
  sipStatusOf,
} from '../../src/errors.js';
import { describePapCode, isPapCode, PapCode, papCodeForError } from '../../src/push/pap/pap-codes.js';

const DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** docs/errors.md: `### CODE` headings, each followed by its mapping line and the prose. */
function documentedSections(): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = DOC.split(/^### /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    sections.set(part.slice(0, newline).trim(), part.slice(newline + 1).split(/^## /m)[0] ?? '');
  }
  return sections;
}

/** The mapping line docs/errors.md writes under each code: `PAP … · HTTP … · PAP route HTTP … · SIP …`. */
function mappingLine(entry: CatalogueEntry): string {
  return [
    entry.pap !== undefined ? `PAP ${entry.pap} (${describePapCode(entry.pap)})` : 'PAP —',
    `HTTP ${entry.http ?? '—'}`,
    `PAP route HTTP ${entry.papHttp ?? '—'}`,
    entry.sip ? `SIP ${entry.sip.direction} ${[entry.sip.status, ...(entry.sip.alsoFor ?? [])].join('/')}` : 'SIP —',
  ].join(' · ');
}

/** The HTTP statuses the PAP route answers with (push-response 200, badmessage 400, 413, 401, 429, 503, 500). */
const PAP_ROUTE_STATUSES = new Set([200, 400, 401, 413, 429, 500, 503]);

describe('the error catalogue', () => {
  it('lists every code once, keyed by itself', () => {
    const codes = errorCatalogue.map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.keys(ErrorCodes).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      expect(ErrorCodes[code]).toBe(code);
      expect(isErrorCode(code)).toBe(true);
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
    expect(isErrorCode('NO_SUCH_CODE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it.each(errorCatalogue.map((entry) => [entry.code, entry] as const))('%s is consistent', (_code, entry) => {
    expect(entry.summary.length).toBeGreaterThan(10);
    expect(entry.summary).not.toMatch(/\n/);
    if (entry.pap !== undefined) {
      // A failure, never a success code (1xxx), and one the PAP status code table knows.
      expect(isPapCode(entry.pap)).toBe(true);
      expect(entry.pap).toBeGreaterThanOrEqual(2000);
    }
    if (entry.http !== undefined) {
      expect(Number.isInteger(entry.http)).toBe(true);
      expect(entry.http).toBeGreaterThanOrEqual(400);
      expect(entry.http).toBeLessThanOrEqual(599);
    }
    if (entry.papHttp !== undefined) {
      expect(PAP_ROUTE_STATUSES.has(entry.papHttp)).toBe(true);
      // The PAP route answers in PAP wherever it can: a PAP code goes with every PAP-route status but 401.
      if (entry.papHttp !== 401) expect(entry.pap).toBeDefined();
    }
    if (entry.sip !== undefined) {
      for (const status of [entry.sip.status, ...(entry.sip.alsoFor ?? [])]) {
        expect(status).toBeGreaterThanOrEqual(300);
        expect(status).toBeLessThanOrEqual(699);
      }
      expect(['sent', 'received']).toContain(entry.sip.direction);
    }
  });

  it('answers the lookups from the one table', () => {
    expect(papCodeOf('DUPLICATE_PUSH_ID')).toBe(PapCode.DUPLICATE_PUSH_ID);
    expect(papCodeOf('CONFIG_INVALID')).toBeUndefined();
    expect(httpStatusOf('ADMIN_UNAUTHORIZED')).toBe(401);
    expect(httpStatusOf('CONFIG_INVALID')).toBe(500);
    expect(httpStatusOf('CONFIG_INVALID', 400)).toBe(400);
    expect(papHttpStatusOf('BODY_TOO_LARGE')).toBe(413);
    expect(papHttpStatusOf('DUPLICATE_PUSH_ID')).toBe(200);
    expect(sipStatusOf('SIP_PEER_UNTRUSTED')).toBe(403);
    expect(sipMeaningOf('SIP_PEER_UNTRUSTED')?.direction).toBe('sent');
    expect(sipMeaningOf('SUBSCRIPTION_REJECTED')).toEqual({ status: 403, direction: 'received', alsoFor: [489, 603] });
    expect(sipStatusOf('CONFIG_INVALID')).toBeUndefined();
  });

  it('gives papCodeForError the catalogue mapping, 3000 where there is none', () => {
    for (const { code, pap } of errorCatalogue) expect(papCodeForError(code)).toBe(pap ?? PapCode.INTERNAL_SERVER_ERROR);
  });

  it('keeps AgentError as it was: code, message, field, cause', () => {
    const cause = new Error('underneath');
    const err = new AgentError(ErrorCodes.PAP_INVALID, 'bad', 'push-id', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AgentError');
    expect([err.code, err.message, err.field, err.cause]).toEqual(['PAP_INVALID', 'bad', 'push-id', cause]);
  });

  describe('docs/errors.md', () => {
    const sections = documentedSections();

    it('documents every code, and nothing that is not a code', () => {
      expect([...sections.keys()].sort()).toEqual(errorCatalogue.map((entry) => entry.code).sort());
    });

    it.each(errorCatalogue.map((entry) => [entry.code, entry] as const))(
      '%s: the documented mapping is the catalogue one',
      (code, entry) => {
        const section = sections.get(code) ?? '';
        expect(section.trim().split('\n')[0]).toBe(mappingLine(entry));
        // More than the mapping: what it means and what to do.
        expect(section.trim().length).toBeGreaterThan(mappingLine(entry).length + 40);
      },
    );

    it('is linked from the README', () => {
      expect(readFileSync(new URL('../../README.md', import.meta.url), 'utf8')).toContain('docs/errors.md');
    });
  });
});
