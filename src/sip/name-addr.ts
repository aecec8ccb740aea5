/** `"Display" <uri>;tag=...` (RFC 3261 §20.20 name-addr, quoted display name). Shared by both engines. */
export function formatNameAddr(uri: string, displayName?: string, tag?: string): string {
  const name = displayName ? `"${displayName.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${name}<${uri}>${tag ? `;tag=${tag}` : ''}`;
}
