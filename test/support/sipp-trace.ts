/**
 * Parser for SIPp's `-trace_msg` message file: each entry is a dashed separator line with a timestamp,
 * a line like `UDP message received [383] bytes :` or `TCP message sent (302 bytes):`, a blank line and
 * the message. Pure; no I/O.
 */

export interface SippTracedMessage {
  direction: 'sent' | 'received';
  transport: string;
  /** Byte length SIPp reported. */
  bytes: number;
  /** The SIP message as text (header section, blank line, body). */
  text: string;
  /** First line, e.g. `MESSAGE sip:alice@127.0.0.1 SIP/2.0` or `SIP/2.0 200 OK`. */
  startLine: string;
  /** Request method, when a request. */
  method?: string;
  /** Status code, when a response. */
  status?: number;
  /** Body after the first blank line (CRLF CRLF). */
  body: string;
}

const ENTRY = /^-{20,} [^\n]*\n(\w+) message (sent|received) [([](\d+)[\])] bytes ?:\n\n/gm;

/** Parse a whole message file (read as UTF-8) into messages, in file order. */
export function parseSippMessages(log: string): SippTracedMessage[] {
  const heads = [...log.matchAll(ENTRY)];
  return heads.map((head, i) => {
    const start = (head.index ?? 0) + head[0].length;
    const end = i + 1 < heads.length ? (heads[i + 1].index ?? log.length) : log.length;
    const text = log.slice(start, end).replace(/\n+$/, '').replace(/\r?$/, '');
    const startLine = text.split(/\r?\n/, 1)[0] ?? '';
    const sep = text.indexOf('\r\n\r\n');
    const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
    const method = /^([A-Z]+) \S+ SIP\/2\.0/.exec(startLine);
    return {
      direction: head[2] === 'sent' ? 'sent' : 'received',
      transport: head[1],
      bytes: Number(head[3]),
      text,
      startLine,
      method: method?.[1],
      status: status ? Number(status[1]) : undefined,
      body: sep >= 0 ? text.slice(sep + 4) : '',
    };
  });
}

/** The value of the first header `name` (case-insensitive, compact forms not expanded) in `text`. */
export function headerValue(text: string, name: string): string | undefined {
  const head = text.split('\r\n\r\n', 1)[0] ?? '';
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}\\s*:\\s*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim();
}
