/**
 * Cuts a TCP byte stream into SIP messages by Content-Length (RFC 3261 §18.3: on stream transports
 * Content-Length is mandatory and delimits the body). Pure: feed bytes, get frames.
 *
 * Works on Buffers rather than `sip.makeStreamParser`, whose overflow path keeps parsing after it reports
 * a flood; here a flood is final and the connection owner closes the connection.
 */
export interface StreamFramerLimits {
  /** Largest header block accepted (bytes). */
  maxHeaderBytes: number;
  /** Largest body accepted (bytes). */
  maxBodyBytes: number;
}

export type FrameResult = { frames: Buffer[]; error?: 'flood' | 'no-content-length' };

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im;

export class StreamFramer {
  private pending: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly limits: StreamFramerLimits) {}

  /** Bytes of an incomplete message held (0 between messages). */
  get buffered(): number {
    return this.pending.length;
  }

  /** Adds bytes; returns every complete message, and an error once the stream can no longer be framed. */
  push(chunk: Buffer): FrameResult {
    if (this.failed) return { frames: [], error: 'flood' };
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Buffer[] = [];
    for (;;) {
      this.skipKeepAlives();
      const end = this.pending.indexOf(HEADER_END);
      if (end < 0) {
        if (this.pending.length > this.limits.maxHeaderBytes) return this.fail(frames, 'flood');
        return { frames };
      }
      if (end > this.limits.maxHeaderBytes) return this.fail(frames, 'flood');
      const match = CONTENT_LENGTH.exec(this.pending.subarray(0, end).toString('latin1'));
      if (!match) return this.fail(frames, 'no-content-length');
      const bodyLength = Number(match[1]);
      if (bodyLength > this.limits.maxBodyBytes) return this.fail(frames, 'flood');
      const total = end + HEADER_END.length + bodyLength;
      if (this.pending.length < total) return { frames };
      frames.push(Buffer.from(this.pending.subarray(0, total)));
      this.pending = this.pending.subarray(total);
    }
  }

  /** RFC 5626 §3.5.1 keep-alives (CRLF CRLF) and stray CRLFs between messages. */
  private skipKeepAlives(): void {
    let i = 0;
    while (i + 1 < this.pending.length && this.pending[i] === 0x0d && this.pending[i + 1] === 0x0a) i += 2;
    if (i > 0) this.pending = this.pending.subarray(i);
  }

  private fail(frames: Buffer[], error: 'flood' | 'no-content-length'): FrameResult {
    this.failed = true;
    this.pending = Buffer.alloc(0);
    return { frames, error };
  }
}
