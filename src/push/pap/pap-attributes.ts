/**
 * Typed reads of PAP attributes (PAP 2.0 §9 attribute lists; docs/standards.md §2.3). Every failure is
 * PAP_INVALID with `field` = `element@attribute`, so a badmessage-response can say what was wrong.
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import { hasControlCharacter, headerTextProblem, urlProblem } from './header-safe.js';
import type { PapElement } from './pap-document.js';

const MAX_ATTRIBUTE_CHARS = 2048;

function field(element: PapElement, name: string): string {
  return `${element.name}@${name}`;
}

function invalid(element: PapElement, name: string, message: string): AgentError {
  return new AgentError(ErrorCodes.PAP_INVALID, `<${element.name}> ${name}: ${message}`, field(element, name));
}

/** An optional attribute, trimmed; an empty value counts as absent. */
export function optionalAttribute(element: PapElement, name: string): string | undefined {
  const value = element.attributes[name]?.trim();
  if (value === undefined || value === '') return undefined;
  if (value.length > MAX_ATTRIBUTE_CHARS) throw invalid(element, name, `longer than ${MAX_ATTRIBUTE_CHARS} characters`);
  return value;
}

export function requiredAttribute(element: PapElement, name: string): string {
  const value = optionalAttribute(element, name);
  if (value === undefined) throw invalid(element, name, 'required attribute missing or empty');
  return value;
}

/**
 * A required identifier (`push-id`): any text but no control character, since it is echoed into
 * responses, notifications, logs and the JSON API.
 */
export function identifierAttribute(element: PapElement, name: string): string {
  const value = requiredAttribute(element, name);
  if (hasControlCharacter(value)) throw invalid(element, name, 'must not contain control characters (CR, LF, NUL, …)');
  return value;
}

/** An optional value that may end up in a header (a bearer or network name): header text, `maxChars` at most. */
export function headerTextAttribute(element: PapElement, name: string, maxChars: number): string | undefined {
  const value = optionalAttribute(element, name);
  if (value === undefined) return undefined;
  const problem = headerTextProblem(value, maxChars);
  if (problem) throw invalid(element, name, problem);
  return value;
}

/** `true` | `false` (case-insensitive, as some PIs send `TRUE`); absent → `fallback`. */
export function booleanAttribute(element: PapElement, name: string, fallback: boolean): boolean {
  const value = optionalAttribute(element, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid(element, name, `must be "true" or "false", not ${JSON.stringify(value)}`);
}

/** One of `values` (case-insensitive; the result is the listed spelling). */
export function enumAttribute<T extends string>(element: PapElement, name: string, values: readonly T[]): T | undefined {
  const value = optionalAttribute(element, name);
  if (value === undefined) return undefined;
  const found = values.find((v) => v === value.toLowerCase());
  if (found === undefined) throw invalid(element, name, `must be one of ${values.join(', ')}`);
  return found;
}

/**
 * PAP date-time (PAP 2.0 §9.2.1: `YYYY-MM-DDThh:mm:ssZ`, UTC). Fractions are tolerated; a missing `Z` is
 * read as UTC (PAP has no other zone); impossible dates (Feb 30) are refused.
 */
export function timestampAttribute(element: PapElement, name: string): Date | undefined {
  const value = optionalAttribute(element, name);
  if (value === undefined) return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z?$/.exec(value);
  if (!match) throw invalid(element, name, `not a PAP date-time (YYYY-MM-DDThh:mm:ssZ): ${JSON.stringify(value)}`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const millis = match[7] ? Math.floor(Number(match[7]) * 1000) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  const sameFields =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute;
  if (!sameFields || second > 59) throw invalid(element, name, `not a valid date-time: ${JSON.stringify(value)}`);
  return date;
}

/** An absolute http(s) URL without credentials (where the agent POSTs result notifications). */
export function httpUrlAttribute(element: PapElement, name: string): string | undefined {
  const value = optionalAttribute(element, name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(element, name, `not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(element, name, 'only http and https URLs are supported');
  const problem = urlProblem(value, url);
  if (problem) throw invalid(element, name, problem);
  return value;
}

export function childElements(element: PapElement, name: string): PapElement[] {
  return element.children.filter((child) => child.name === name);
}
