/**
 * Credentials never reach a log line or the outbox table: URLs are logged without userinfo or query
 * (either may carry a secret), and any error text is scrubbed of `scheme://user:password@` userinfo and
 * of `Authorization`-style values before it is logged or stored in `outbox.last_error`.
 */

/** A URL as it may be logged: scheme, host, port and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** `text` with userinfo in any URL and credential-looking header values removed. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/g, '$1***@')
    .replace(/\b(authorization|proxy-authorization)(\s*[:=]\s*)("?)(basic|bearer|digest)?\s*[^\s"',;]+/gi, '$1$2$3***')
    .replace(/\b(password|passwd|token|secret)(\s*[:=]\s*)("?)[^\s"',;&]+/gi, '$1$2$3***');
}
