/**
 * XML 1.0 output escaping (XML 1.0 §2.2 Char, §2.4 character data, §3.3.3 attribute-value normalisation).
 */

/** Characters XML 1.0 cannot carry at all (C0 controls except TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Any character {@link escapeXmlAttribute} changes (a superset: all surrogates, not only lone ones). */
const NEEDS_ESCAPE = /[\u0000-\u001F&<>"'\uD800-\uDFFF\uFFFE\uFFFF]/;

/**
 * Escapes text for a double-quoted attribute value. TAB/LF/CR become character references so a parser's
 * attribute-value normalisation does not turn them into spaces; characters XML cannot carry become U+FFFD.
 */
export function escapeXmlAttribute(value: string): string {
  // Most values (push-ids, addresses, dates, codes) need nothing: one test instead of two replaces.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(NOT_XML_CHAR, '\uFFFD').replace(/[&<>"'\t\n\r]/g, (ch) => {
    switch (ch) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#${ch.charCodeAt(0)};`;
    }
  });
}
