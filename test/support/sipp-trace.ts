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
  /** Body after the first blank line (CRLF CRLF), decoded as UTF-8. */
  body: string;
  /** The same body, byte-exact. */
  bodyBytes: Buffer;
}

// `UDP message sent (302 bytes):` and `UDP message received [383] bytes :` (SIPp 3.6 spells them so).
const ENTRY = /^-{20,} [^\n]*\n(\w+) message (sent|received) (?:\((\d+) bytes\)|\[(\d+)\] bytes ?):\n\n/gm;

/**
 * Parse a whole message file into messages, in file order. Each message is cut by the byte count SIPp
 * printed, so bodies keep their exact bytes (including a final CRLF).
 */
export function parseSippMessages(log: Buffer): SippTracedMessage[] {
  const raw = log.toString('latin1'); // one char per byte, so indices are byte offsets
  const heads = [...raw.matchAll(ENTRY)];
  return heads.map((head, i) => {
    const bytes = Number(head[3] ?? head[4]);
    const start = (head.index ?? 0) + head[0].length;
    const limit = i + 1 < heads.length ? (heads[i + 1].index ?? raw.length) : raw.length;
    const bytesOfMessage = log.subarray(start, Math.min(start + bytes, limit));
    const text = bytesOfMessage.toString('utf8');
    const startLine = text.split(/\r?\n/, 1)[0] ?? '';
    const sep = bytesOfMessage.indexOf('\r\n\r\n');
    const bodyBytes = sep >= 0 ? bytesOfMessage.subarray(sep + 4) : Buffer.alloc(0);
    const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
    const method = /^([A-Z]+) \S+ SIP\/2\.0/.exec(startLine);
    return {
      direction: head[2] === 'sent' ? 'sent' : 'received',
      transport: head[1],
      bytes,
      text,
      startLine,
      method: method?.[1],
      status: status ? Number(status[1]) : undefined,
      body: bodyBytes.toString('utf8'),
      bodyBytes,
    };
  });
}

/** The value of the first header `name` (case-insensitive, compact forms not expanded) in `text`. */
export function headerValue(text: string, name: string): string | undefined {
  const head = text.split('\r\n\r\n', 1)[0] ?? '';
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}\\s*:\\s*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim();
}
