/**
 * MIME Content-Type header parsing (RFC 2045 §5.1): `type/subtype *(; attribute=value)` where a value is
 * a token or a quoted-string (RFC 822 quoting, `\` escapes one character). Pure; never throws.
 */

export interface ParsedContentType {
  /** `type/subtype`, lower-cased; empty string when the header had none. */
  mediaType: string;
  /** Parameters with lower-cased names; values unquoted, case kept (a boundary is case-sensitive). */
  params: Record<string, string>;
}

/** Parses a Content-Type value. Malformed parameters are skipped rather than rejected. */
export function parseContentType(value: string): ParsedContentType {
  const semicolon = value.indexOf(';');
  const mediaType = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let i = semicolon < 0 ? value.length : semicolon + 1;
  while (i < value.length) {
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (j < value.length && (value[j] === ' ' || value[j] === '\t')) j++;
    let paramValue = '';
    if (value[j] === '"') {
      j++;
      while (j < value.length && value[j] !== '"') {
        if (value[j] === '\\' && j + 1 < value.length) j++;
        paramValue += value[j];
        j++;
      }
      const next = value.indexOf(';', j);
      i = next < 0 ? value.length : next + 1;
    } else {
      const next = value.indexOf(';', j);
      paramValue = value.slice(j, next < 0 ? value.length : next).trim();
      i = next < 0 ? value.length : next + 1;
    }
    // `__proto__` would rewrite the prototype of a plain object; it is never a real parameter name.
    if (/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) && name !== '__proto__' && !Object.hasOwn(params, name)) {
      params[name] = paramValue;
    }
  }
  return { mediaType, params };
}

/** Formats a parameter value: a token stays bare, anything else is quoted (RFC 2045 §5.1). */
export function formatParamValue(value: string): string {
  if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)) return value;
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}
