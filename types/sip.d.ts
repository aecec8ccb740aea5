/**
 * Types for the npm `sip` package (kirm/sip.js 0.0.6, CommonJS, no bundled types).
 *
 * The embedded engine uses it only as a message codec (parse/stringify, URI helpers, stream framing);
 * its transaction layer (`start`/`create`/`send`) is deliberately not declared here, so nobody uses it.
 * Bodies are `'binary'` (latin1) strings: one char per byte, so arbitrary bytes survive a round trip.
 */
declare module 'sip' {
  namespace sip {
    type Params = Record<string, string | null>;

    interface Via {
      version?: string;
      protocol: string;
      host: string;
      port?: number;
      params: Params;
    }

    interface NameAddr {
      name?: string;
      uri: string;
      params: Params;
    }

    interface ParsedUri {
      schema: string;
      user?: string;
      password?: string;
      host: string;
      /** NaN when absent (the parser does `+undefined`). */
      port: number;
      params: Params;
      headers: Record<string, string>;
    }

    interface RouteEntry {
      name?: string;
      uri: ParsedUri | string;
      params: Params;
    }

    interface CSeq {
      seq: number;
      method: string;
    }

    interface Headers {
      via?: Via[];
      from?: NameAddr;
      to?: NameAddr;
      'call-id'?: string;
      cseq?: CSeq;
      contact?: NameAddr[] | '*';
      route?: RouteEntry[];
      'record-route'?: RouteEntry[];
      'content-length'?: number;
      [name: string]: unknown;
    }

    interface Message {
      method?: string;
      uri?: string;
      status?: number;
      reason?: string;
      version?: string;
      headers: Headers;
      /** latin1 ("binary") string: one char per byte. */
      content?: string;
    }
  }
  const sip: {
    parse(data: string): sip.Message | undefined;
    stringify(message: sip.Message): string;
    parseUri(uri: string): sip.ParsedUri | undefined;
    stringifyUri(uri: sip.ParsedUri | string): string;
    makeResponse(
      request: sip.Message,
      status: number,
      reason?: string,
      extension?: { headers?: Record<string, unknown>; content?: string },
    ): sip.Message;
    makeStreamParser(
      onMessage: (message: sip.Message) => void,
      onFlood?: () => void,
      maxBytesHeaders?: number,
      maxContentLength?: number,
    ): (data: string) => void;
    generateBranch(): string;
  };
  export = sip;
}
