/**
 * Database URLs (`store.postgres.url`, `capabilityTable.redis.url`) may carry a password; a log line or an
 * error message must never show it. Everything that prints such a URL, or a driver message that might
 * quote one, goes through here.
 */

/** The URL with its password replaced by `***` (the user name stays: it helps find the account). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return scrubUrls(url);
  }
}

/** `scheme://user:password@` anywhere in a text → `scheme://user:***@`. */
export function scrubUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, '$1:***@');
}

/** An error whose message (and its causes' messages) no longer quote a password; the original as `cause`. */
export function scrubError(err: unknown, secrets: readonly string[] = []): Error {
  const text = err instanceof Error ? err.message : String(err);
  let message = scrubUrls(text);
  for (const secret of secrets) if (secret !== '') message = message.split(secret).join('***');
  const out = new Error(message);
  if (err instanceof Error) {
    out.name = err.name;
    const code = (err as { code?: unknown }).code;
    if (code !== undefined) (out as { code?: unknown }).code = code;
  }
  return out;
}
