/**
 * Sizing an inbound datagram before it is parsed, and the little of an oversized one needed to refuse it.
 * Pure; no I/O.
 *
 * RFC 3261 §21.5.14: 513 Message Too Large — "the server was unable to process the request since the
 * message length exceeded its capabilities". A response copies only Via, From, To, Call-ID and CSeq
 * (§8.2.6.2), so those (and the start line) are all that is parsed of a message refused for its size.
 */
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

/** Long and compact (RFC 3261 §7.3.3) names of the headers a 513 is built from, plus Max-Forwards (§8.1.1). */
const KEPT = new Set(['via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq', 'max-forwards']);

export interface MessageSize {
  /** Bytes from the start line to the end of the headers (the whole message when no blank line ends them). */
  headerBytes: number;
  /** Bytes after the blank line. */
  bodyBytes: number;
}

/** Measures one whole message (leading CRLF keep-alives are not counted). */
export function measureMessage(data: Buffer): MessageSize {
  let start = 0;
  while (start + 1 < data.length && data[start] === 0x0d && data[start + 1] === 0x0a) start += 2;
  const end = data.indexOf(HEADER_END, start);
  if (end < 0) return { headerBytes: data.length - start, bodyBytes: 0 };
  return { headerBytes: end - start, bodyBytes: data.length - end - HEADER_END.length };
}

/**
 * The start line and the headers a response needs, as a message with no body; undefined when there is
 * no complete header block or what is kept is itself over `maxBytes` (then nothing can be answered
 * within the limit and the message is dropped).
 */
export function responseHeadersOnly(data: Buffer, maxBytes: number): Buffer | undefined {
  const end = data.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const lines = data
    .subarray(0, end)
    .toString('latin1')
    .split(/\r\n(?![ \t])/);
  const kept = [lines[0] ?? ''];
  let size = kept[0]!.length;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || !KEPT.has(line.slice(0, colon).trim().toLowerCase())) continue;
    size += line.length + 2;
    if (size > maxBytes) return undefined;
    kept.push(line);
  }
  return Buffer.from(`${kept.join('\r\n')}\r\n\r\n`, 'latin1');
}
