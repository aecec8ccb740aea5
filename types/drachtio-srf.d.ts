/**
 * The project's own declarations for drachtio-srf 5.0.x (CommonJS, `module.exports = Srf`).
 *
 * They replace the bundled `lib/@types/index.d.ts`, which is incomplete and partly wrong (docs/interop.md,
 * "Types"): `message`/`options`/`notify` missing, `request()`
 * mistyped, no `method` in the createUAC options, `Dialog` without `id`, `connect()` mistyped. An ambient
 * module declaration takes precedence over the package's own types.
 *
 * Only what `src/sip/drachtio/` uses is declared, as read from the 5.0.29 sources (`srf.js`, `dialog.js`,
 * `drachtio-agent.js`, `wire-protocol.js`). Bodies are UTF-8 strings on this path (the wire protocol is
 * text). Header values sent must be strings.
 */
declare module 'drachtio-srf' {
  import type { Socket } from 'node:net';

  namespace Srf {
    /** A parsed SIP message (`lib/sip-parser/message.js`). Header values are raw strings as received. */
    interface SipMessage {
      readonly method?: string;
      readonly uri?: string;
      readonly status?: number;
      readonly reason?: string;
      /** Header name (as received or normalised by the parser) → raw value; repeats joined with ','. */
      readonly headers: Record<string, string>;
      /** Decoded as UTF-8 by the wire protocol; '' or undefined when there is none. */
      readonly body?: string;
      get(name: string): string | undefined;
      has(name: string): boolean;
    }

    /** A request (sent by us, or received from the network). */
    interface SrfRequest extends SipMessage {
      readonly method: string;
      readonly uri: string;
      readonly source_address: string;
      readonly source_port: number;
      /** 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' as drachtio-server reports it. */
      readonly protocol: string;
      readonly stackDialogId?: string;
      /** Final and provisional responses to a request we sent. Attach in the request callback (defect C). */
      on(event: 'response', listener: (res: SrfIncomingResponse) => void): this;
    }

    /** A response received to a request we sent. */
    interface SrfIncomingResponse extends SipMessage {
      readonly status: number;
      readonly reason: string;
    }

    interface SendOptions {
      headers?: Record<string, string>;
      body?: string;
    }

    /** The response object for a request we received. */
    interface SrfResponse {
      readonly finalResponseSent: boolean;
      send(status: number, reason?: string, opts?: SendOptions, callback?: (err: Error | null) => void): void;
    }

    type RequestHandler = (req: SrfRequest, res: SrfResponse) => void;

    interface RequestOptions {
      method: string;
      headers?: Record<string, string>;
      body?: string;
      /** Outbound proxy: a SIP URI or `address[:port]` (drachtio-server sends the request there). */
      proxy?: string;
    }

    interface CreateUacOptions {
      method: 'SUBSCRIBE' | 'INVITE';
      headers?: Record<string, string>;
      proxy?: string;
    }

    interface CreateUacCallbacks {
      /** The request as sent (Call-ID, tags), before any response. */
      cbRequest?: (err: Error | null, req: SrfRequest) => void;
      cbProvisional?: (res: SrfIncomingResponse) => void;
    }

    interface DialogRequestOptions {
      method: string;
      headers?: Record<string, string>;
      body?: string;
    }

    /** A SIP dialog (`lib/dialog.js`). For a SUBSCRIBE dialog, `destroy()` sends a NOTIFY: never call it as subscriber. */
    interface Dialog {
      /** drachtio-server's dialog id (`<call-id>;from-tag=<tag>`). */
      readonly id: string;
      readonly dialogType: 'INVITE' | 'SUBSCRIBE';
      readonly sip: { callId: string; localTag: string; remoteTag: string };
      /** The 2xx that created the dialog (its Expires is the granted duration). */
      readonly res: SrfIncomingResponse;
      connected: boolean;
      request(opts: DialogRequestOptions, callback: (err: Error | null, res?: SrfIncomingResponse) => void): this;
      on(event: 'notify', listener: (req: SrfRequest, res: SrfResponse) => void): this;
      on(event: 'destroy', listener: (req?: SrfRequest) => void): this;
      removeAllListeners(event?: string): this;
    }

    interface ConnectOptions {
      host: string;
      port: number;
      secret: string;
      /** Application-level pings (drachtio-server ≥ 0.8.2), every `pingInterval` ms (5000–300000). */
      enablePing?: boolean;
      pingInterval?: number;
      reconnect?: { retryMaxDelay?: number | null; maxAttempts?: number; connectTimeout?: number };
    }

    interface ListenOptions {
      port: number;
      host?: string;
      secret: string;
    }

    /** Thrown/passed for a non-2xx final response to createUAC. */
    interface SipError extends Error {
      readonly status: number;
      readonly reason: string;
      readonly res?: SrfIncomingResponse;
    }

    /** The per-server-connection state inside DrachtioAgent (internal, used only by the ping watchdog). */
    interface ServerConnectionState {
      pendingPingRequests: Set<string>;
      ready: boolean;
    }

    /** DrachtioAgent internals the engine reads (watchdog); may change between patch releases. */
    interface DrachtioAgentInternals {
      readonly mapServer?: Map<Socket, ServerConnectionState>;
      /** Outbound (listen) mode only: closes the listening server. */
      close?(callback?: () => void): void;
    }
  }

  class Srf {
    constructor(tags?: string | string[]);
    readonly app: Srf.DrachtioAgentInternals;
    connect(opts: Srf.ConnectOptions): void;
    listen(opts: Srf.ListenOptions): unknown;
    disconnect(socket?: Socket): void;
    on(event: 'connect', listener: (err: Error | null, hostport?: string, serverVersion?: string) => void): this;
    on(event: 'error', listener: (err: Error, socket?: Socket) => void): this;
    on(event: 'close' | 'listening', listener: (...args: unknown[]) => void): this;
    on(event: 'reconnecting', listener: (info: { delay: number; attempt: number }) => void): this;
    removeAllListeners(event?: string): this;
    /** Drops a dialog from srf's table (used after a terminating NOTIFY srf missed, defect B). */
    removeDialog(dialog: Srf.Dialog): void;
    /** Out-of-dialog request; use the callback form (the promise form loses responses, defect C). */
    request(uri: string, opts: Srf.RequestOptions, callback: (err: Error | null, req: Srf.SrfRequest) => void): this;
    createUAC(
      uri: string,
      opts: Srf.CreateUacOptions,
      callbacks: Srf.CreateUacCallbacks,
      callback: (err: Error | Srf.SipError | null, dialog?: Srf.Dialog) => void,
    ): this;
    message(handler: Srf.RequestHandler): void;
    options(handler: Srf.RequestHandler): void;
    notify(handler: Srf.RequestHandler): void;
  }

  export = Srf;
}
